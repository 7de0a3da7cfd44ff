#!/usr/bin/env python3
"""Generate growthmesh's raw data: Segment events, Stripe billing, ad spend and CRM.

Writes exactly the twelve raw tables of `external_models.yaml` (DESIGN.md, "The raw
contract") into a DuckDB file (schemas raw_segment, raw_stripe, raw_ads, raw_crm; each
table replaced, nothing else in the file touched) or as Parquet files
`<out>/<schema>/<table>.parquet` for loading into BigQuery.

The data behaves like a B2B/B2C SaaS, not uniform noise: ad spend drives paid visits,
anonymous visitors browse the site before a minority signs up, users activate, use
features according to their plan, go dormant and sometimes come back; some start a
Stripe trial, pay, upgrade, downgrade, fail payments, cancel and reactivate; companies
have CRM accounts and opportunities. `--dirty-rate` adds the bad rows real loaders
produce (duplicates, missing ids, broken timestamps and JSON, unknown events and
currencies, sync duplicates), each class at about that fraction of its table.

Shapes the staging layer relies on:
- ids: users `u_0000001` (numbered in sign-up order), Segment message and anonymous ids
  are v4 UUID strings, Stripe `cus_`/`sub_1`/`in_1`/`ch_3` + base62, products
  `prod_<insights|automate|connect>`, prices `price_<seeds/plan_tiers nickname>`, CRM
  `001…`/`006…` (18 characters, Salesforce-like), companies `co_000001`.
- countries are ISO 3166 alpha-2 codes; Stripe currencies lower-case (usd, eur, gbp),
  ad and CRM currencies upper-case.
- tracks.properties: `{"feature", "product"}` from seeds/feature_catalog.csv, plus
  `"amount"` (int) on credits_earned/credits_spent, `"method"` on signed_up, and on
  checkout_completed the bought `"product"`, `"plan"` (tier) and `"interval"`.
- valid Segment rows: received_at = timestamp + 0.05 s..15 min, sent_at in between.

Dirty rows (`--dirty-rate r`; each class on ~r of its table's rows, disjoint while the
classes fit, none at all when r = 0):
- pages/tracks/identifies: duplicate deliveries (exact copy, same id and timestamp,
  received_at 1 s..6 h later) and `id` NULL;
- pages/tracks: user_id and anonymous_id both NULL; late arrivals (valid: received_at =
  timestamp + 2..20 days); unparsable timestamps (timestamp = 1970-01-01 00:00:00);
  future timestamps (timestamp = received_at + 30..1500 days);
- tracks: properties truncated by its last character (malformed JSON); unknown events
  (test_event_debug, "Unknown Event", button_clicked_v0); and on r of the credits events
  an `amount` that is a string ("ten", "N/A", "12,50", "lots"), negative, or > 1e9;
- charge: `id` NULL, currency 'xxx' or 'btc', sync duplicates (exact copies);
  customer: sync duplicates (exact copies); ad_spend: currency 'ZZZ'.

Same arguments, same tables: every random draw comes from `numpy.random.default_rng(seed)`
(one child stream per phase) and every table is sorted by a stable key. The wall clock
is read only for the default `--end` (yesterday, UTC).

Usage:
    python scripts/generate_data.py                       # 10k users, last 365 days
    python scripts/generate_data.py --users 200000 --out /tmp/big.duckdb
    python scripts/generate_data.py --out data/parquet    # Parquet folder (BigQuery load)

Python use (tests, other scripts): `generate(seed, users, start, end, dirty_rate)` returns
`{"raw_segment.pages": pyarrow.Table, ...}`; `write_duckdb(tables, path)` and
`write_parquet(tables, folder)` write them.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"

DEFAULT_USERS = 10_000
DEFAULT_OUT = "data/growthmesh.duckdb"
DEFAULT_DIRTY_RATE = 0.01
# Most users generated together: a shard of 200,000 users is about 10.7 M events a year and
# 3.5 GB of generator memory; larger data sets are generated and written shard by shard.
SHARD_USERS = 200_000
WRITE_MEMORY_LIMIT = "1GB"  # DuckDB's while writing: parts go to the file, not the buffer pool
MAX_DIRTY_RATE = 0.5

# --------------------------------------------------------------------------------------
# The raw contract (external_models.yaml): table -> ordered (column, BigQuery type).
# tests/test_generate_data.py checks this against the YAML file.
# --------------------------------------------------------------------------------------
CONTRACT: dict[str, list[tuple[str, str]]] = {
    "raw_segment.pages": [
        ("id", "STRING"), ("anonymous_id", "STRING"), ("user_id", "STRING"),
        ("timestamp", "TIMESTAMP"), ("received_at", "TIMESTAMP"), ("url", "STRING"),
        ("path", "STRING"), ("referrer", "STRING"), ("title", "STRING"),
        ("context_campaign_source", "STRING"), ("context_campaign_medium", "STRING"),
        ("context_campaign_name", "STRING"), ("context_campaign_term", "STRING"),
        ("context_campaign_content", "STRING"), ("context_user_agent", "STRING"),
        ("context_locale", "STRING"), ("context_location_country", "STRING"),
        ("context_location_city", "STRING"),
    ],
    "raw_segment.tracks": [
        ("id", "STRING"), ("anonymous_id", "STRING"), ("user_id", "STRING"),
        ("event", "STRING"), ("event_text", "STRING"), ("timestamp", "TIMESTAMP"),
        ("received_at", "TIMESTAMP"), ("sent_at", "TIMESTAMP"),
        ("context_device_type", "STRING"), ("context_location_country", "STRING"),
        ("context_campaign_source", "STRING"), ("context_campaign_medium", "STRING"),
        ("context_campaign_name", "STRING"), ("properties", "STRING"),
    ],
    "raw_segment.identifies": [
        ("id", "STRING"), ("anonymous_id", "STRING"), ("user_id", "STRING"),
        ("timestamp", "TIMESTAMP"), ("received_at", "TIMESTAMP"), ("email", "STRING"),
        ("name", "STRING"), ("company_id", "STRING"), ("company_name", "STRING"),
    ],
    "raw_stripe.customer": [
        ("id", "STRING"), ("email", "STRING"), ("name", "STRING"), ("created", "TIMESTAMP"),
        ("currency", "STRING"), ("delinquent", "BOOL"), ("livemode", "BOOL"),
        ("metadata", "STRING"), ("is_deleted", "BOOL"),
    ],
    "raw_stripe.product": [
        ("id", "STRING"), ("name", "STRING"), ("active", "BOOL"), ("created", "TIMESTAMP"),
    ],
    "raw_stripe.price": [
        ("id", "STRING"), ("product_id", "STRING"), ("nickname", "STRING"),
        ("unit_amount", "INT64"), ("currency", "STRING"), ("recurring_interval", "STRING"),
        ("recurring_interval_count", "INT64"), ("active", "BOOL"), ("created", "TIMESTAMP"),
    ],
    "raw_stripe.subscription_history": [
        ("id", "STRING"), ("customer_id", "STRING"), ("status", "STRING"),
        ("price_id", "STRING"), ("quantity", "INT64"), ("created", "TIMESTAMP"),
        ("start_date", "TIMESTAMP"), ("current_period_start", "TIMESTAMP"),
        ("current_period_end", "TIMESTAMP"), ("cancel_at_period_end", "BOOL"),
        ("canceled_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP"), ("trial_start", "TIMESTAMP"),
        ("trial_end", "TIMESTAMP"), ("livemode", "BOOL"), ("updated_at", "TIMESTAMP"),
    ],
    "raw_stripe.invoice": [
        ("id", "STRING"), ("customer_id", "STRING"), ("subscription_id", "STRING"),
        ("status", "STRING"), ("billing_reason", "STRING"), ("created", "TIMESTAMP"),
        ("period_start", "TIMESTAMP"), ("period_end", "TIMESTAMP"), ("subtotal", "INT64"),
        ("tax", "INT64"), ("total", "INT64"), ("amount_paid", "INT64"), ("currency", "STRING"),
        ("livemode", "BOOL"),
    ],
    "raw_stripe.charge": [
        ("id", "STRING"), ("customer_id", "STRING"), ("invoice_id", "STRING"),
        ("amount", "INT64"), ("amount_refunded", "INT64"), ("currency", "STRING"),
        ("status", "STRING"), ("failure_code", "STRING"), ("paid", "BOOL"),
        ("refunded", "BOOL"), ("created", "TIMESTAMP"), ("livemode", "BOOL"),
    ],
    "raw_ads.ad_spend": [
        ("date", "DATE"), ("platform", "STRING"), ("account_id", "STRING"),
        ("campaign_id", "STRING"), ("campaign_name", "STRING"), ("utm_source", "STRING"),
        ("utm_campaign", "STRING"), ("spend", "FLOAT64"), ("currency", "STRING"),
        ("impressions", "INT64"), ("clicks", "INT64"),
    ],
    "raw_crm.account": [
        ("id", "STRING"), ("name", "STRING"), ("industry", "STRING"),
        ("employee_count", "INT64"), ("created_date", "TIMESTAMP"),
        ("stripe_customer_id", "STRING"),
    ],
    "raw_crm.opportunity": [
        ("id", "STRING"), ("account_id", "STRING"), ("name", "STRING"), ("type", "STRING"),
        ("stage_name", "STRING"), ("amount", "FLOAT64"), ("currency", "STRING"),
        ("created_date", "TIMESTAMP"), ("close_date", "DATE"), ("is_closed", "BOOL"),
        ("is_won", "BOOL"), ("lead_source", "STRING"),
    ],
}

ARROW_TYPES = {
    "STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(), "BOOL": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"), "DATE": pa.date32(),
}
DUCKDB_TYPES = {
    "STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP", "DATE": "DATE",
}


def arrow_schema(table: str, tz: str | None = None) -> pa.Schema:
    """The Arrow schema of a contract table (timestamps naive UTC, or tz-aware if `tz`)."""
    fields = []
    for name, typ in CONTRACT[table]:
        t = pa.timestamp("us", tz=tz) if typ == "TIMESTAMP" and tz else ARROW_TYPES[typ]
        fields.append(pa.field(name, t))
    return pa.schema(fields)


# --------------------------------------------------------------------------------------
# Time units: every timestamp is int64 microseconds since the Unix epoch, UTC.
# --------------------------------------------------------------------------------------
SEC = 1_000_000
MINUTE = 60 * SEC
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = dt.date(1970, 1, 1)

# Share of the day's traffic per UTC hour (a global, US/EU-heavy audience).
_HOUR_WEIGHTS = np.array(
    [4, 3, 2, 2, 2, 2, 3, 5, 7, 9, 10, 10, 11, 12, 13, 14, 14, 13, 11, 9, 8, 7, 6, 5], float
)
_WEEKEND_FACTOR = 0.6  # weekend activity relative to a weekday

# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------
# code, traffic share, locale, billing currency, cities
_COUNTRIES: list[tuple[str, float, str, str, list[str]]] = [
    ("US", 0.38, "en-US", "usd", ["New York", "San Francisco", "Austin", "Chicago", "Seattle", "Boston", "Denver"]),
    ("GB", 0.10, "en-GB", "gbp", ["London", "Manchester", "Edinburgh", "Bristol"]),
    ("DE", 0.08, "de-DE", "eur", ["Berlin", "Munich", "Hamburg", "Cologne"]),
    ("FR", 0.06, "fr-FR", "eur", ["Paris", "Lyon", "Toulouse"]),
    ("NL", 0.03, "nl-NL", "eur", ["Amsterdam", "Rotterdam", "Utrecht"]),
    ("ES", 0.03, "es-ES", "eur", ["Madrid", "Barcelona", "Valencia"]),
    ("IT", 0.02, "it-IT", "eur", ["Milan", "Rome", "Turin"]),
    ("IE", 0.01, "en-IE", "eur", ["Dublin", "Cork"]),
    ("SE", 0.02, "sv-SE", "eur", ["Stockholm", "Gothenburg"]),
    ("PL", 0.02, "pl-PL", "eur", ["Warsaw", "Krakow", "Wroclaw"]),
    ("CA", 0.06, "en-CA", "usd", ["Toronto", "Vancouver", "Montreal"]),
    ("AU", 0.04, "en-AU", "usd", ["Sydney", "Melbourne", "Brisbane"]),
    ("IN", 0.07, "en-IN", "usd", ["Bengaluru", "Mumbai", "Delhi", "Pune"]),
    ("BR", 0.03, "pt-BR", "usd", ["Sao Paulo", "Rio de Janeiro"]),
    ("JP", 0.02, "ja-JP", "usd", ["Tokyo", "Osaka"]),
    ("SG", 0.01, "en-SG", "usd", ["Singapore"]),
    ("MX", 0.01, "es-MX", "usd", ["Mexico City", "Guadalajara"]),
]

# user agent, traffic share, is_mobile
_USER_AGENTS: list[tuple[str, float, bool]] = [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 0.28, False),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 0.24, False),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 0.10, False),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", 0.07, False),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 0.05, False),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 0.03, False),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 0.14, True),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 0.09, True),
]

SITE = "https://growthmesh.example"
# path, title, kind: m = marketing, s = sign-up/log-in, a = app (logged in)
_PAGES: list[tuple[str, str, str]] = [
    ("/", "GrowthMesh | Growth analytics for SaaS teams", "m"),
    ("/pricing", "Pricing | GrowthMesh", "m"),
    ("/features/insights", "Insights: dashboards and reports | GrowthMesh", "m"),
    ("/features/automate", "Automate: growth workflows | GrowthMesh", "m"),
    ("/features/connect", "Connect: integrations and sync | GrowthMesh", "m"),
    ("/customers", "Customer stories | GrowthMesh", "m"),
    ("/about", "About us | GrowthMesh", "m"),
    ("/changelog", "Changelog | GrowthMesh", "m"),
    ("/docs", "Documentation | GrowthMesh", "m"),
    ("/docs/getting-started", "Getting started | GrowthMesh Docs", "m"),
    ("/docs/integrations/stripe", "Stripe integration | GrowthMesh Docs", "m"),
    ("/docs/api", "API reference | GrowthMesh Docs", "m"),
    ("/blog/cohort-retention-explained", "Cohort retention, explained | GrowthMesh Blog", "m"),
    ("/blog/what-is-a-good-quick-ratio", "What is a good quick ratio? | GrowthMesh Blog", "m"),
    ("/blog/mrr-movements-101", "MRR movements 101 | GrowthMesh Blog", "m"),
    ("/blog/activation-metrics-that-matter", "Activation metrics that matter | GrowthMesh Blog", "m"),
    ("/blog/attribution-models-compared", "Attribution models compared | GrowthMesh Blog", "m"),
    ("/blog/saas-benchmarks", "SaaS growth benchmarks | GrowthMesh Blog", "m"),
    ("/signup", "Sign up | GrowthMesh", "s"),
    ("/login", "Log in | GrowthMesh", "s"),
    ("/app", "Home | GrowthMesh", "a"),
    ("/app/dashboards", "Dashboards | GrowthMesh", "a"),
    ("/app/reports", "Reports | GrowthMesh", "a"),
    ("/app/workflows", "Workflows | GrowthMesh", "a"),
    ("/app/integrations", "Integrations | GrowthMesh", "a"),
    ("/app/settings", "Settings | GrowthMesh", "a"),
    ("/app/billing", "Billing | GrowthMesh", "a"),
]
_PAGE_INDEX = {p[0]: i for i, p in enumerate(_PAGES)}


def _page_weights(weights: dict[str, float]) -> np.ndarray:
    w = np.zeros(len(_PAGES))
    for path, v in weights.items():
        w[_PAGE_INDEX[path]] = v
    return w / w.sum()


_BLOG = {p[0]: 1.0 for p in _PAGES if p[0].startswith("/blog/")}
_LANDING = {  # landing page by channel group
    "direct": _page_weights({"/": 6, "/pricing": 1.5, "/login": 1, "/docs": 0.5, "/features/insights": 0.5}),
    "paid": _page_weights({"/": 3, "/pricing": 2, "/features/insights": 1.5, "/features/automate": 1, "/features/connect": 0.6}),
    "organic": _page_weights({**_BLOG, "/": 2, "/docs": 1, "/docs/getting-started": 1, "/pricing": 0.8, "/features/insights": 0.6}),
    "social": _page_weights({**_BLOG, "/": 2, "/changelog": 0.8}),
    "email": _page_weights({**_BLOG, "/changelog": 2, "/features/automate": 0.5}),
    "referral": _page_weights({"/": 3, "/pricing": 1.5, "/customers": 1, "/features/connect": 0.5}),
}
_BROWSE = _page_weights({
    "/": 1.5, "/pricing": 4, "/features/insights": 2, "/features/automate": 1.5,
    "/features/connect": 1.2, "/customers": 1, "/about": 0.4, "/changelog": 0.4, "/docs": 0.8,
    "/docs/getting-started": 0.8, "/docs/integrations/stripe": 0.5, "/docs/api": 0.3, **{k: 0.3 for k in _BLOG},
})

# Acquisition per (utm_source, utm_medium) row of seeds/utm_channel_mapping.csv:
# (share of non-paid first visits, sign-up rate, referrer of the landing page, group).
# Paid rows get their visits from raw_ads.ad_spend clicks; weight 0 = not an acquisition
# channel of new visitors (lifecycle email goes to existing users; bing cpc is not run).
_CHANNELS: dict[tuple[str, str], tuple[float, float, str | None, str]] = {
    ("(direct)", "(none)"): (0.30, 0.14, None, "direct"),
    ("google", "organic"): (0.26, 0.12, "https://www.google.com/", "organic"),
    ("bing", "organic"): (0.04, 0.11, "https://www.bing.com/", "organic"),
    ("duckduckgo", "organic"): (0.02, 0.12, "https://duckduckgo.com/", "organic"),
    ("twitter", "social"): (0.04, 0.06, "https://t.co/", "social"),
    ("linkedin", "social"): (0.04, 0.08, "https://www.linkedin.com/", "social"),
    ("reddit", "social"): (0.03, 0.05, "https://www.reddit.com/", "social"),
    ("newsletter", "email"): (0.06, 0.15, None, "email"),
    ("lifecycle", "email"): (0.0, 0.15, None, "email"),
    ("partner", "referral"): (0.05, 0.15, "https://partners.example.com/growthmesh", "referral"),
    ("g2", "referral"): (0.05, 0.13, "https://www.g2.com/products/growthmesh/reviews", "referral"),
    ("producthunt", "referral"): (0.04, 0.08, "https://www.producthunt.com/posts/growthmesh", "referral"),
    ("google", "cpc"): (0.0, 0.09, "https://www.google.com/", "paid"),
    ("bing", "cpc"): (0.0, 0.08, "https://www.bing.com/", "paid"),
    ("facebook", "paid_social"): (0.0, 0.05, "https://l.facebook.com/", "paid"),
    ("instagram", "paid_social"): (0.0, 0.04, "https://l.instagram.com/", "paid"),
    ("linkedin", "paid_social"): (0.0, 0.07, "https://www.linkedin.com/", "paid"),
}
# Channel of a returning (non-first) session.
_RETURN_CHANNELS = {
    ("(direct)", "(none)"): 0.62, ("google", "organic"): 0.18, ("bing", "organic"): 0.03,
    ("newsletter", "email"): 0.08, ("linkedin", "social"): 0.03, ("g2", "referral"): 0.06,
}
_LEAD_SOURCE = {
    "direct": "Direct", "organic": "Organic Search", "social": "Social", "email": "Email",
    "referral": "Partner Referral", "paid": "Paid Ads",
}


class _Campaign:
    """An ad campaign: one raw_ads.ad_spend row per active day."""

    def __init__(self, platform, account_id, currency, campaign_id, name, source, medium,
                 utm_campaign, budget_share, cpc_usd, ctr, active_from, active_to, eu_only,
                 variants):
        self.platform, self.account_id, self.currency = platform, account_id, currency
        self.campaign_id, self.name = campaign_id, name
        self.source, self.medium, self.utm_campaign = source, medium, utm_campaign
        self.budget_share, self.cpc_usd, self.ctr = budget_share, cpc_usd, ctr
        self.active_from, self.active_to, self.eu_only = active_from, active_to, eu_only
        self.variants = variants  # utm_term (search) or utm_content (social) values


_CAMPAIGNS = [
    _Campaign("google_ads", "123-456-7890", "USD", "17231458901", "Brand | Search | Global", "google", "cpc",
              "brand_search", 0.14, 1.10, 0.040, 0.0, 1.0, False, ("growthmesh", "growth mesh", "growthmesh pricing")),
    _Campaign("google_ads", "123-456-7890", "USD", "17231458902", "Generic | Search | SaaS analytics", "google", "cpc",
              "generic_saas_analytics", 0.20, 4.20, 0.022, 0.0, 1.0, False,
              ("saas analytics", "mrr dashboard", "cohort retention tool", "product analytics")),
    _Campaign("google_ads", "123-456-7890", "USD", "17231458903", "Competitor | Search", "google", "cpc",
              "competitor_conquest", 0.10, 6.50, 0.014, 0.2, 1.0, False,
              ("chartmogul alternative", "baremetrics alternative", "mixpanel alternative")),
    _Campaign("meta_ads", "act_284019375610", "USD", "23851190411230071", "Prospecting | Lookalike 1% | US", "facebook",
              "paid_social", "lookalike_prospecting", 0.14, 1.60, 0.011, 0.0, 1.0, False,
              ("video_founder_story", "carousel_dashboards")),
    _Campaign("meta_ads", "act_284019375610", "USD", "23851190411230072", "Retargeting | Site visitors 30d", "facebook",
              "paid_social", "retargeting_site_visitors", 0.08, 1.20, 0.024, 0.0, 1.0, False,
              ("static_pricing", "testimonial_quote")),
    _Campaign("meta_ads", "act_284019375610", "USD", "23851190411230073", "Instagram | Stories | Creators", "instagram",
              "paid_social", "ig_stories_creators", 0.07, 1.40, 0.010, 0.35, 1.0, False, ("story_before_after", "story_demo")),
    _Campaign("meta_ads", "act_771203948812", "EUR", "23851190411230181", "EU | Prospecting | DACH+FR", "facebook",
              "paid_social", "eu_prospecting", 0.09, 1.50, 0.012, 0.0, 1.0, True,
              ("carousel_dashboards_de", "video_founder_story_fr")),
    _Campaign("linkedin_ads", "508734211", "USD", "612044871", "ABM | Enterprise | Ops leaders", "linkedin",
              "paid_social", "abm_enterprise", 0.10, 8.50, 0.010, 0.0, 1.0, False, ("doc_ad_benchmarks", "single_image_roi")),
    _Campaign("linkedin_ads", "508734211", "USD", "612044872", "Lead gen | Pro | Growth teams", "linkedin",
              "paid_social", "leadgen_growth_teams", 0.08, 6.00, 0.012, 0.0, 0.7, False, ("lead_form_trial",)),
]
_PAID_USER_SHARE = 0.20  # expected share of users acquired through paid campaigns
_LANDING_RATE = 0.82  # ad clicks that load the landing page (and so become a page view)
_EU_COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "IE", "SE", "PL")

# Engagement: event weights per plan tier (free, starter, pro, enterprise). Events of the
# catalog not listed get a small default weight; signed_up and checkout_completed are
# emitted by their own logic only.
_EVENT_WEIGHTS = {
    "logged_in": (10, 9, 8, 7),
    "settings_updated": (2, 2, 2, 3),
    "teammate_invited": (0.3, 0.6, 1.5, 3),
    "dashboard_viewed": (26, 22, 16, 14),
    "report_created": (5, 8, 9, 9),
    "report_shared": (2, 4, 6, 8),
    "export_downloaded": (2, 4, 6, 7),
    "workflow_created": (0.5, 2, 5, 7),
    "workflow_run": (2, 8, 20, 24),
    "integration_connected": (0.5, 1.5, 3, 4),
    "data_synced": (2, 6, 14, 18),
    "credits_earned": (3.5, 3.5, 3.5, 3.5),
    "credits_spent": (2, 2, 2, 2),
}
_PRODUCT_TILT = 1.8  # events of the user's main product are this much more frequent
_KEY_ACTION_FALLBACK = {  # a key action before activation becomes this (not activating)
    "report_created": "dashboard_viewed", "workflow_created": "dashboard_viewed",
    "integration_connected": "settings_updated", "teammate_invited": "settings_updated",
}
_APP_PAGES = {  # logged-in page weights per main product
    "insights": _page_weights({"/app": 4, "/app/dashboards": 6, "/app/reports": 4, "/app/settings": 0.6, "/app/billing": 0.2, "/docs": 0.4, "/pricing": 0.2}),
    "automate": _page_weights({"/app": 4, "/app/workflows": 6, "/app/dashboards": 2, "/app/settings": 0.6, "/app/billing": 0.2, "/docs": 0.5, "/pricing": 0.2}),
    "connect": _page_weights({"/app": 4, "/app/integrations": 6, "/app/dashboards": 2, "/app/settings": 0.8, "/app/billing": 0.2, "/docs/integrations/stripe": 0.6}),
}
_CREDITS_EARNED = (np.array([10, 20, 25, 50, 100]), np.array([0.25, 0.25, 0.2, 0.2, 0.1]))
_CREDITS_SPENT = (np.array([5, 10, 15, 20, 30, 50]), np.array([0.25, 0.25, 0.2, 0.15, 0.1, 0.05]))
_OVERSPEND_FACTOR = 4  # "overspenders" spend this many times more per event
_WELCOME_CREDITS = 50  # credits_earned at sign-up

# Billing. Monthly list price per seat in major units (USD and EUR alike; GBP ~0.85x);
# annual prices are 10 months.
_BASE_PRICE = {
    ("insights", "starter"): 29, ("insights", "pro"): 59, ("insights", "enterprise"): 119,
    ("automate", "starter"): 39, ("automate", "pro"): 79, ("automate", "enterprise"): 149,
    ("connect", "starter"): 19, ("connect", "pro"): 49, ("connect", "enterprise"): 99,
}
_PRODUCT_NAMES = {"insights": "Insights", "automate": "Automate", "connect": "Connect"}
_TIERS = ("starter", "pro", "enterprise")  # tier rank 1..3
_PRODUCTS = ("insights", "automate", "connect")
_TRIAL_DAYS = 14
_RENEWAL_LEAD_DAYS = 90  # a renewal opportunity opens this long before an annual term ends
_EU_TAX_RATE = 0.20
_FAILURE_CODES = (("card_declined", 0.55), ("insufficient_funds", 0.30), ("expired_card", 0.15))

# People and companies.
_FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Sandra Mark "
    "Ashley Steven Emily Paul Michelle Andrew Amanda Joshua Melissa Kevin Laura Brian Stephanie Oliver "
    "Sophie Lukas Emma Hannah Leon Lea Lucas Chloe Hugo Camille Pablo Lucia Marco Giulia Sven Ingrid "
    "Piotr Anna Liam Aoife Raj Priya Arjun Ananya Kenji Yuki Mateus Beatriz Wei Mei Noah Ava Ethan Mia "
    "Alice Tom Nina Felix Clara"
).split()
_LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Walker Young "
    "Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Mueller "
    "Schmidt Schneider Fischer Weber Dubois Moreau Laurent Bernard Rossi Russo Ferrari Fernandez "
    "Gonzalez Jansen Andersson Nilsson Kowalski Nowak Murphy Kelly Patel Sharma Singh Tanaka Suzuki "
    "Silva Santos Chen Wang Nguyen O'Brien"
).split()
_MAIL_DOMAINS = (("gmail.com", 0.45), ("outlook.com", 0.15), ("yahoo.com", 0.08), ("icloud.com", 0.1),
                 ("hotmail.com", 0.07), ("proton.me", 0.05), ("gmx.de", 0.05), ("web.de", 0.05))
_COMPANY_ADJ = (
    "Blue Bright North Swift Silver Clear Bold Quiet Rapid Prime Open True Green Red Iron Golden "
    "Lucid Nimble Solid Vivid Urban Polar Crisp Steady Brave Amber Cobalt Coral Crimson Emerald "
    "Granite Hidden Lunar Maple Misty Noble Ocean Pine Sunny Wild"
).split()
_COMPANY_NOUN = (
    "Harbor Peak River Forge Pixel Orbit Signal Canvas Ledger Beacon Anchor Summit Grove Bridge "
    "Falcon Fox Cloud Spark Stack Wave Field Stone Lantern Compass Arrow Circuit Vector Atlas Meadow "
    "Delta Comet Quarry Tide Ridge Vertex Cedar Harvest Nova Pulse Relay"
).split()
_COMPANY_SUFFIX = (
    "Labs Inc Software Systems Analytics Technologies Digital Group Studio Co Health Commerce "
    "Media Logistics Finance"
).split()
_TLDS = (".com", ".io", ".co", ".ai", ".dev", ".de", ".fr", ".co.uk")
_INDUSTRIES = ("Software", "E-commerce", "Financial Services", "Healthcare", "Education",
               "Media & Entertainment", "Marketing & Advertising", "Manufacturing", "Retail",
               "Logistics", "Travel & Hospitality", "Non-profit")

# Dirty rows (see README "Raw data quality" / DESIGN.md "Quality").
_UNKNOWN_EVENTS = (("test_event_debug", "test_event_debug"), ("Unknown Event", "Unknown Event"),
                   ("button_clicked_v0", "Button Clicked v0"))
_BAD_CURRENCIES_CHARGE = ("xxx", "btc")
_BAD_CURRENCY_ADS = "ZZZ"
_BAD_AMOUNTS_TEXT = ('"ten"', '"N/A"', '"12,50"', '"lots"')


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------
class _ShardOffsets:
    """What the shards generated before this one used: user, company and customer numbers,
    and the email addresses taken."""

    def __init__(self) -> None:
        self.users = self.companies = self.customers = 0
        self.emails: set[str] = set()

    def advance(self, g: "_Generator") -> None:
        self.users += g.N
        self.companies += g.n_companies
        self.customers += len(g.customer_ids)


class GenerateError(ValueError):
    """A problem the user can fix (bad argument, unusable seeds); one line, no traceback."""


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise GenerateError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def _us(day: dt.date) -> int:
    """Microseconds since the epoch at 00:00 UTC of `day`."""
    return (day - _EPOCH).days * DAY


def _add_months(t_us: int, months: int) -> int:
    """`t_us` plus calendar months, keeping the time of day; the day is clamped to the
    month's length (Stripe's billing-cycle anchor behaviour)."""
    days, rem = divmod(t_us, DAY)
    d = _EPOCH + dt.timedelta(days=days)
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    day = min(d.day, calendar.monthrange(y, m)[1])
    return (dt.date(y, m, day) - _EPOCH).days * DAY + rem


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-owner counts, (owner index, index within the owner) of every child row."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    offset = np.arange(owner.size, dtype=np.int64) - starts[owner]
    return owner, offset


def _group_cumsum(values: np.ndarray, owner: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Cumulative sum of `values` restarting at each owner (rows grouped by owner)."""
    c = np.cumsum(values)
    first = np.flatnonzero(offset == 0)
    base = c[first] - values[first]
    # rows are contiguous per owner, so each row's group start is the last `first` <= row
    grp = np.cumsum(offset == 0) - 1
    return c - base[grp]


def _factorize(cols: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group ids of the rows' value tuples (1-D sorts only) and the first row of each group."""
    key = np.zeros(cols[0].size, dtype=np.int64)
    for c in cols:
        _, c_inv = np.unique(c, return_inverse=True)
        pair = key * (int(c_inv.max()) + 1 if c_inv.size else 1) + c_inv.ravel()
        _, key = np.unique(pair, return_inverse=True)
        key = key.ravel()
    _, first_row = np.unique(key, return_index=True)
    return key, first_row


def _choice(rng: np.random.Generator, n: int, p: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(p.size, size=n, p=p / p.sum())


def _hour_offsets(rng: np.random.Generator, n: int, latest_hour: int = 21) -> np.ndarray:
    """Time of day (µs) with the traffic's hourly shape, never after `latest_hour`:59."""
    w = _HOUR_WEIGHTS[: latest_hour + 1]
    h = _choice(rng, n, w)
    return h * HOUR + (rng.random(n) * HOUR).astype(np.int64)


def _delays(rng: np.random.Generator, n: int) -> np.ndarray:
    """Collection delay of a valid Segment message (µs): seconds, sometimes minutes."""
    s = np.exp(rng.normal(0.7, 1.3, n))
    return (np.clip(s, 0.05, 900) * SEC).astype(np.int64)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII codes."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    data = np.ascontiguousarray(mat, dtype=np.uint8).tobytes()
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return arr.cast(pa.string())


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """n random version-4 UUID strings (deterministic for the generator's state)."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    h = np.empty((n, 32), dtype=np.uint8)
    h[:, 0::2] = _HEX[b >> 4]
    h[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = h[:, 0:8], h[:, 8:12], h[:, 12:16]
    out[:, 19:23], out[:, 24:36] = h[:, 16:20], h[:, 20:32]
    return _strings_from_matrix(out)


def _stripe_ids(rng: np.random.Generator, prefix: str, n: int, width: int) -> pa.Array:
    """n unique Stripe-looking ids: prefix + random base62 + a scrambled base62 counter."""
    tail = 6
    rand = _B62[rng.integers(0, 62, size=(n, width - tail))]
    # a bijection of 0..62^6-1 (multiplier coprime to 62): unique, and looks random
    scrambled = (np.arange(n, dtype=np.int64) * 35_102_545_591 + 7_919) % (62 ** tail)
    digits = np.empty((n, tail), dtype=np.uint8)
    for k in range(tail - 1, -1, -1):
        digits[:, k] = _B62[scrambled % 62]
        scrambled //= 62
    pre = np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, 1))
    return _strings_from_matrix(np.hstack([pre, rand, digits]))


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """prefix + zero-padded decimal numbers, e.g. u_0000042."""
    numbers = np.asarray(numbers, dtype=np.int64)
    width = max(width, len(str(int(numbers.max()))) if numbers.size else width)
    digits = np.empty((numbers.size, width), dtype=np.uint8)
    rest = numbers.copy()
    for k in range(width - 1, -1, -1):
        digits[:, k] = ord("0") + rest % 10
        rest //= 10
    pre = np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (numbers.size, 1))
    return _strings_from_matrix(np.hstack([pre, digits]))


class _Vocab:
    """Interned strings; string columns are int32 codes into it (-1 = NULL) until the end."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, s: str | None) -> int:
        if s is None:
            return -1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.strings)
            self.strings.append(s)
        return i

    def codes(self, seq) -> np.ndarray:
        return np.array([self.code(s) for s in seq], dtype=np.int32)

    def array(self) -> pa.Array:
        return pa.array(self.strings, pa.string())


def _decode(vocab: pa.Array, codes: np.ndarray) -> pa.Array:
    """Plain strings vocab[codes] (-1 = NULL)."""
    codes = np.asarray(codes)
    mask = codes < 0
    if len(vocab) == 0:
        return pa.nulls(len(codes), pa.string())
    idx = pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask if mask.any() else None)
    return vocab.take(idx)


def _dictionary(vocab: pa.Array, codes: np.ndarray) -> pa.Array:
    """vocab[codes] (-1 = NULL) as a dictionary<int32, string> array holding only the
    strings used: repeated strings cost 4 bytes a row instead of a copy each."""
    codes = np.asarray(codes, dtype=np.int64)
    valid = codes >= 0
    used = np.bincount(codes[valid], minlength=len(vocab)) > 0
    remap = (np.cumsum(used) - 1).astype(np.int32)
    idx = np.where(valid, remap[np.where(valid, codes, 0)] if used.size else 0, 0).astype(np.int32)
    indices = pa.array(idx, type=pa.int32(), mask=None if valid.all() else ~valid)
    return pa.DictionaryArray.from_arrays(indices, vocab.take(pa.array(np.flatnonzero(used), type=pa.int64())))


def _ts_array(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64()).cast(pa.timestamp("us"))


def _cat(frames: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def _take(frame: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in frame.items()}


def _pick(rng: np.random.Generator, n: int, sizes: Sequence[int]) -> list[np.ndarray]:
    """Index sets of the given sizes among n rows: disjoint when they fit, else independent."""
    sizes = [min(int(s), n) for s in sizes]
    if sum(sizes) <= n:
        perm = rng.permutation(n)
        out, at = [], 0
        for s in sizes:
            out.append(np.sort(perm[at:at + s]))
            at += s
        return out
    return [np.sort(rng.choice(n, size=s, replace=False)) for s in sizes]


class _Uniforms:
    """Fast scalar uniforms for the per-customer billing loop, drawn in blocks."""

    def __init__(self, rng: np.random.Generator, block: int = 1 << 16) -> None:
        self.rng, self.block = rng, block
        self.buf: list[float] = []
        self.i = block

    def __call__(self) -> float:
        if self.i >= self.block:
            self.buf = self.rng.random(self.block).tolist()
            self.i = 0
        v = self.buf[self.i]
        self.i += 1
        return v

    def between(self, a: float, b: float) -> float:
        return a + (b - a) * self()

    def pick(self, options: Sequence[tuple[str, float]]) -> str:
        r, acc = self() * sum(w for _, w in options), 0.0
        for value, w in options:
            acc += w
            if r < acc:
                return value
        return options[-1][0]


# --------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------
def _read_csv(name: str) -> list[dict[str, str]]:
    path = SEEDS_DIR / name
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise GenerateError(f"cannot read seed {path}: {e.strerror}") from None


class _Seeds:
    """The reference data the generator must agree with (event names, prices, channels)."""

    def __init__(self) -> None:
        self.catalog = _read_csv("feature_catalog.csv")
        self.plans = _read_csv("plan_tiers.csv")
        self.channels = [(r["utm_source"], r["utm_medium"], r["channel"]) for r in _read_csv("utm_channel_mapping.csv")]
        self.fx = {r["currency"].upper(): float(r["usd_per_unit"]) for r in _read_csv("fx_rates.csv")}
        self.events = [r["event"] for r in self.catalog]
        self.key_actions = [r["event"] for r in self.catalog if r["is_key_action"].strip().lower() == "true"]
        self.feature = {r["event"]: (r["feature"], r["product"]) for r in self.catalog}
        needed = {"signed_up", "checkout_completed", "credits_earned", "credits_spent", "logged_in"}
        missing = sorted(needed - set(self.events))
        if missing:
            raise GenerateError(f"seeds/feature_catalog.csv lacks events {missing}")
        for k in self.key_actions:
            if k not in _KEY_ACTION_FALLBACK:
                raise GenerateError(f"key action {k!r} of seeds/feature_catalog.csv has no fallback event")
        for cur in ("USD", "EUR", "GBP"):
            if cur not in self.fx:
                raise GenerateError(f"seeds/fx_rates.csv lacks {cur}")
        for src_med in _CHANNELS:
            if src_med not in {(s, m) for s, m, _ in self.channels}:
                raise GenerateError(f"seeds/utm_channel_mapping.csv lacks {src_med}")


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------
PHASES = ("users", "visits/pages", "billing", "tracks", "ads", "crm", "write")


def _title(event: str) -> str:
    return " ".join(w.capitalize() for w in event.split("_"))


class _Generator:
    """Builds all tables; one method per phase, state kept on self."""

    def __init__(self, seed: int | Sequence[int], n_users: int, start: dt.date, end: dt.date, dirty_rate: float,
                 shard: _ShardOffsets | None = None):
        self.seeds = _Seeds()
        # a shard of a larger data set numbers its users, companies and QA customers after
        # the earlier shards' and keeps emails unique across all of them
        self.shard = shard or _ShardOffsets()
        self.N = n_users
        self.start, self.end = start, end
        self.D = (end - start).days + 1
        self.t0 = _us(start)
        self.t_end = _us(end) + DAY  # exclusive
        self.dow = (np.arange(self.D) + start.weekday()) % 7  # 0 = Monday
        self.dirty = float(dirty_rate)
        # one independent child stream per concern, so changing one phase leaves the others' data alone
        (self.r_ads, self.r_vis, self.r_users, self.r_sess, self.r_bill, self.r_act,
         self.r_ev, self.r_ids, self.r_dirty, self.r_crm, self.r_names) = np.random.default_rng(seed).spawn(11)
        self.V = _Vocab()
        self.tables: dict[str, pa.Table] = {}

    # ---------------------------------------------------------------- users & acquisition
    def users_phase(self) -> None:
        """Ad plan (spend -> clicks -> paid visits), visitors, users and their latent traits."""
        N, D, rng = self.N, self.D, self.r_ads
        ch_rows = list(_CHANNELS)
        self.ch_rows = ch_rows
        ch_index = {k: i for i, k in enumerate(ch_rows)}
        self.ch_index = ch_index
        sign_rate = np.array([_CHANNELS[k][1] for k in ch_rows])

        # --- ads: daily spend per campaign drives clicks and paid landings
        C = len(_CAMPAIGNS)
        t = np.arange(D) / max(D - 1, 1)
        active = np.zeros((D, C), dtype=bool)
        for c, cp in enumerate(_CAMPAIGNS):
            a = min(int(cp.active_from * D), D - 1)
            b = max(a + 1, int(math.ceil(cp.active_to * D)))
            active[a:b, c] = True
        share = np.array([cp.budget_share for cp in _CAMPAIGNS])
        cpc = np.array([cp.cpc_usd for cp in _CAMPAIGNS])
        ctr = np.array([cp.ctr for cp in _CAMPAIGNS])
        p_conv = np.array([sign_rate[ch_index[(cp.source, cp.medium)]] for cp in _CAMPAIGNS])
        wk = np.where(self.dow >= 5, 0.7, 1.0)
        shape = ((1 + 0.5 * t) * wk)[:, None] * share[None, :] * active
        shape = shape * np.exp(rng.normal(0, 0.2, (D, C)))
        expected_users = (shape * (_LANDING_RATE * p_conv / cpc)[None, :]).sum()
        scale = _PAID_USER_SHARE * N / expected_users if expected_users > 0 else 0.0
        spend_usd = shape * scale
        cpc_eff = cpc[None, :] * np.exp(rng.normal(0, 0.12, (D, C)))
        clicks = rng.poisson(spend_usd / cpc_eff)
        ctr_eff = ctr[None, :] * np.exp(rng.normal(0, 0.15, (D, C)))
        impressions = np.maximum(clicks, rng.poisson(spend_usd / cpc_eff / ctr_eff))
        visits = rng.binomial(clicks, _LANDING_RATE)
        self.ads = dict(active=active, spend_usd=spend_usd, clicks=clicks, impressions=impressions, visits=visits)

        # --- paid visitors, one per landing
        owner, _ = _expand(visits.ravel())
        p_day, p_camp = owner // C, owner % C
        p_conv_v = rng.random(owner.size) < p_conv[p_camp]
        if p_conv_v.sum() > N:
            keep = rng.choice(np.flatnonzero(p_conv_v), size=N, replace=False)
            p_conv_v[:] = False
            p_conv_v[keep] = True
        p_chan = np.array([ch_index[(cp.source, cp.medium)] for cp in _CAMPAIGNS])[p_camp]

        # --- non-paid visitors: the users still needed, and the visitors who never sign up
        rng = self.r_vis
        n_np_users = N - int(p_conv_v.sum())
        acq = np.array([_CHANNELS[k][0] for k in ch_rows])
        w_users = acq * sign_rate
        np_user_chan = _choice(rng, n_np_users, w_users) if n_np_users else np.zeros(0, np.int64)
        users_per_ch = np.bincount(np_user_chan, minlength=len(ch_rows))
        nc_per_ch = rng.poisson(users_per_ch * (1 - sign_rate) / sign_rate)
        np_nc_chan = np.repeat(np.arange(len(ch_rows)), nc_per_ch)
        day_w = (1 + 0.8 * t) * np.where(self.dow >= 5, _WEEKEND_FACTOR, 1.0) * np.exp(rng.normal(0, 0.1, D))
        np_user_day = _choice(rng, n_np_users, day_w)
        np_nc_day = _choice(rng, np_nc_chan.size, day_w)

        # visitors: users first (paid, then non-paid), then the non-converting visitors
        pu, pn = np.flatnonzero(p_conv_v), np.flatnonzero(~p_conv_v)
        self.v_chan = np.concatenate([p_chan[pu], np_user_chan, p_chan[pn], np_nc_chan]).astype(np.int64)
        self.v_camp = np.concatenate([p_camp[pu], np.full(n_np_users, -1), p_camp[pn], np.full(np_nc_chan.size, -1)]).astype(np.int64)
        self.v_day = np.concatenate([p_day[pu], np_user_day, p_day[pn], np_nc_day]).astype(np.int64)
        Vn = self.v_chan.size
        self.Vn = Vn
        is_user = np.zeros(Vn, dtype=bool)
        is_user[:N] = True
        self.v_is_user = is_user

        # geography and browser
        rng = self.r_users
        cw = np.array([c[1] for c in _COUNTRIES])
        eu_mask = np.array([c[0] in _EU_COUNTRIES for c in _COUNTRIES])
        country = _choice(rng, Vn, cw)
        eu_camp = np.array([cp.eu_only for cp in _CAMPAIGNS])
        eu_vis = np.flatnonzero((self.v_camp >= 0) & eu_camp[np.maximum(self.v_camp, 0)])
        if eu_vis.size:
            country[eu_vis] = _choice(rng, eu_vis.size, np.where(eu_mask, cw, 0))
        self.v_country = country
        n_cities = np.array([len(c[4]) for c in _COUNTRIES])
        city_off = np.cumsum(n_cities) - n_cities
        self.v_city = city_off[country] + np.minimum((rng.random(Vn) ** 1.6 * n_cities[country]).astype(np.int64), n_cities[country] - 1)
        self.v_ua = _choice(rng, Vn, [u[1] for u in _USER_AGENTS])
        self.country_codes = self.V.codes([c[0] for c in _COUNTRIES])
        self.locale_codes = self.V.codes([c[2] for c in _COUNTRIES])
        self.city_codes = self.V.codes([city for c in _COUNTRIES for city in c[4]])
        self.ua_codes = self.V.codes([u[0] for u in _USER_AGENTS])
        ua_mobile = np.array([u[2] for u in _USER_AGENTS])
        self.country_currency = [c[3] for c in _COUNTRIES]

        # --- users' latent traits (arrays over users = visitors 0..N-1)
        u_chan_group = np.array([_CHANNELS[k][3] for k in ch_rows])[self.v_chan[:N]]
        p_b2b = np.where(np.isin(self.v_camp[:N], [i for i, cp in enumerate(_CAMPAIGNS) if cp.platform == "linkedin_ads"]), 0.7, 0.33)
        self.b2b = rng.random(N) < p_b2b
        self.u_group = u_chan_group
        # intended plan tier 1..3 and main product 0..2
        tier_b2b = _choice(rng, N, [0.30, 0.50, 0.20]) + 1
        tier_b2c = _choice(rng, N, [0.65, 0.33, 0.02]) + 1
        self.intent_tier = np.where(self.b2b, tier_b2b, tier_b2c)
        self.main_product = _choice(rng, N, [0.5, 0.3, 0.2])
        self.mobile = rng.random(N) < 0.25
        self.mobile_os = np.where(rng.random(N) < 0.6, 0, 1)  # 0 ios, 1 android
        self.has_b = rng.random(N) < 0.22  # a second browser/device, identified later
        self.has_signed_up_event = rng.random(N) >= 0.02
        self.overspender = rng.random(N) < 0.07
        # second device user agent: the other kind (desktop <-> mobile)
        ua_w = np.array([u[1] for u in _USER_AGENTS])
        ua_desk = _choice(rng, N, np.where(ua_mobile, 0, ua_w))
        ua_mob = _choice(rng, N, np.where(ua_mobile, ua_w, 0))
        self.ua_b = np.where(ua_mobile[self.v_ua[:N]], ua_desk, ua_mob)

    # ------------------------------------------------------------------ visits and pages
    def visits_phase(self) -> None:
        """Anonymous sessions and page views before sign-up; sign-up times; user ids."""
        rng, N, Vn = self.r_sess, self.N, self.Vn
        is_user = self.v_is_user
        # device ids: visitor i -> anon i; second devices and mobile apps after them
        self.anon_b = np.full(N, -1, dtype=np.int64)
        self.anon_b[self.has_b] = Vn + np.arange(int(self.has_b.sum()))
        nb = int(self.has_b.sum())
        self.anon_m = np.full(N, -1, dtype=np.int64)
        self.anon_m[self.mobile] = Vn + nb + np.arange(int(self.mobile.sum()))
        self.n_devices = Vn + nb + int(self.mobile.sum())
        # sessions per visitor
        n_sess = np.where(
            is_user,
            _choice(rng, Vn, [0.45, 0.25, 0.14, 0.08, 0.05, 0.03]) + 1,
            _choice(rng, Vn, [0.86, 0.08, 0.03, 0.015, 0.01, 0.005]) + 1,
        )
        s_v, s_k = _expand(n_sess)
        gaps = np.where(s_k == 0, 0, (rng.exponential(4.0, s_v.size) * DAY).astype(np.int64) + 30 * MINUTE)
        first = self.t0 + self.v_day * DAY + _hour_offsets(rng, Vn)
        start = first[s_v] + _group_cumsum(gaps, s_v, s_k)
        dow = ((start - self.t0) // DAY + self.start.weekday()) % 7
        keep = (s_k == 0) | ((start < self.t_end - 2 * HOUR) & ~((dow >= 5) & (rng.random(s_v.size) < 0.4)))
        s_v, s_k, start = s_v[keep], s_k[keep], start[keep]
        # the last kept session of a user is the sign-up session
        last = np.ones(s_v.size, dtype=bool)
        last[:-1] = s_v[1:] != s_v[:-1]
        signup_sess = last & is_user[s_v]
        # channel of each session: the visitor's own for the first, a returning mix later
        ret_keys = list(_RETURN_CHANNELS)
        ret = np.array([self.ch_index[k] for k in ret_keys])[_choice(rng, s_v.size, list(_RETURN_CHANNELS.values()))]
        s_chan = np.where(s_k == 0, self.v_chan[s_v], ret)
        s_camp = np.where(s_k == 0, self.v_camp[s_v], -1)
        # device: a user's earlier sessions are sometimes on the second device
        hb = np.zeros(Vn, dtype=bool)
        hb[:N] = self.has_b
        s_dev = np.where(hb[s_v] & ~signup_sess & (rng.random(s_v.size) < 0.5), 1, 0)

        # pages per session
        n_pages = np.where(
            is_user[s_v],
            _choice(rng, s_v.size, [0.18, 0.22, 0.18, 0.14, 0.1, 0.08, 0.06, 0.04]) + 1,
            _choice(rng, s_v.size, [0.70, 0.14, 0.07, 0.04, 0.025, 0.015, 0.007, 0.003]) + 1,
        )
        n_pages = np.where(signup_sess, np.maximum(n_pages, 2), n_pages)
        utm = self._session_utms(rng, s_chan, s_camp, start)
        utm["chan"] = s_chan
        pages, last_page_ts = self._pages(rng, s_v, start, n_pages, utm, s_dev, signup_sess, anon=True)
        self.anon_pages = pages

        # sign-up: right after the /signup page of the sign-up session
        su_sess = np.flatnonzero(signup_sess)
        su_v = s_v[su_sess]
        signup_ts = np.zeros(N, dtype=np.int64)
        signup_ts[su_v] = last_page_ts[su_sess] + (np.minimum(rng.exponential(40, su_sess.size), 240) * SEC).astype(np.int64) + 5 * SEC
        self.signup_ts = signup_ts
        self.signup_day = (signup_ts - self.t0) // DAY
        self.signup_utm = {k: np.full(N, -1, dtype=np.int32) for k in ("source", "medium", "campaign")}
        for k in self.signup_utm:
            self.signup_utm[k][su_v] = utm[k][su_sess]
        # user numbers follow sign-up order
        order = np.argsort(signup_ts, kind="stable")
        self.user_number = np.empty(N, dtype=np.int64)
        self.user_number[order] = np.arange(1, N + 1) + self.shard.users

        # lifecycle: activity spells (days), activation, trial
        rng = self.r_act
        tier_mult = np.array([0, 1.0, 1.3, 1.6])[self.intent_tier]
        quick = rng.random(N) < np.where(self.b2b, 0.18, 0.32)
        L1 = np.where(quick, 1 + rng.exponential(6, N), 5 + rng.exponential(140, N) * tier_mult)
        G1 = 30 + rng.exponential(45, N)
        R1 = rng.random(N) < 0.32
        L2 = 5 + rng.exponential(60, N)
        G2 = 30 + rng.exponential(50, N)
        R2 = rng.random(N) < 0.25
        L3 = 5 + rng.exponential(60, N)
        s1 = self.signup_day.astype(float)
        e1 = s1 + L1
        s2 = np.where(R1, e1 + G1, np.inf)
        e2 = s2 + L2
        s3 = np.where(R1 & R2, e2 + G2, np.inf)
        e3 = s3 + L3
        starts = np.stack([s1, s2, s3], axis=1)
        ends = np.stack([e1, e2, e3], axis=1)
        starts = np.minimum(np.floor(starts), self.D).astype(np.int64)
        ends = np.minimum(np.ceil(ends), self.D).astype(np.int64)
        ends = np.maximum(ends, starts)
        self.spell_start, self.spell_end = starts, ends  # day indexes, [start, end)
        self.p_active = np.clip(rng.beta(2.0, 6.0, N) * np.array([0, 1.0, 1.1, 1.25])[self.intent_tier] * np.where(self.b2b, 1.1, 1.0), 0.02, 0.95)
        self.events_per_day = rng.gamma(2.0, 0.6, N)
        self.pages_per_day = rng.gamma(2.0, 0.3, N)

        r = rng.random(N)
        lag_days = np.select(
            [r < 0.47, r < 0.63, r < 0.71, r < 0.80],
            [rng.uniform(0.002, 1.0, N), rng.uniform(1, 7, N), rng.uniform(7, 14, N), rng.uniform(14.5, 60, N)],
            default=np.inf,
        )
        act_ts = np.where(np.isfinite(lag_days), self.signup_ts + np.nan_to_num(lag_days * DAY, posinf=0).astype(np.int64), -1)
        act_day = np.where(act_ts >= 0, (act_ts - self.t0) // DAY, -1)
        ok = (act_ts >= 0) & (act_ts < self.t_end - HOUR) & self._in_spell(np.arange(N), act_day)
        self.activation_ts = np.where(ok, act_ts, -1)
        key = self.seeds.key_actions
        prod_key = {"insights": "report_created", "automate": "workflow_created", "connect": "integration_connected"}
        by_product = np.array([key.index(prod_key[p]) if prod_key[p] in key else 0 for p in _PRODUCTS])
        self.activation_event = np.where(
            self.b2b & (rng.random(N) < 0.25) & ("teammate_invited" in key),
            key.index("teammate_invited") if "teammate_invited" in key else 0,
            by_product[self.main_product],
        )
        p_trial = np.where(self.b2b, 0.28, 0.08) * np.array([0, 0.8, 1.0, 1.3])[self.intent_tier]
        trial_ts = self.activation_ts + (rng.exponential(4.0, N) * DAY).astype(np.int64) + HOUR
        trial_day = (trial_ts - self.t0) // DAY
        wants = (self.activation_ts >= 0) & (rng.random(N) < p_trial) & (trial_ts < self.t_end - HOUR)
        self.trial_ts = np.where(wants & self._in_spell(np.arange(N), trial_day), trial_ts, -1)

        # people: names, emails, companies (per-user Python is fine at this size)
        self._people()

    def _in_spell(self, users: np.ndarray, day: np.ndarray) -> np.ndarray:
        day = np.asarray(day)[:, None]
        return ((day >= self.spell_start[users]) & (day < self.spell_end[users])).any(axis=1)

    def _session_utms(self, rng, s_chan, s_camp, start) -> dict[str, np.ndarray]:
        """UTM codes and landing referrer of each session (-1 = NULL)."""
        V, n = self.V, s_chan.size
        src = np.array([V.code(None if s == "(direct)" else s) for s, _ in self.ch_rows], dtype=np.int32)
        med = np.array([V.code(None if m == "(none)" else m) for _, m in self.ch_rows], dtype=np.int32)
        ref = np.array([V.code(_CHANNELS[k][2]) for k in self.ch_rows], dtype=np.int32)
        out = {"source": src[s_chan], "medium": med[s_chan], "referrer": ref[s_chan]}
        campaign = np.full(n, -1, dtype=np.int32)
        term = np.full(n, -1, dtype=np.int32)
        content = np.full(n, -1, dtype=np.int32)
        paid = s_camp >= 0
        camp_code = np.array([V.code(cp.utm_campaign) for cp in _CAMPAIGNS], dtype=np.int32)
        campaign[paid] = camp_code[s_camp[paid]]
        for c, cp in enumerate(_CAMPAIGNS):
            rows = np.flatnonzero(s_camp == c)
            if rows.size:
                var = V.codes(cp.variants)[rng.integers(0, len(cp.variants), rows.size)]
                (term if cp.medium == "cpc" else content)[rows] = var
        # newsletters are named by month; referral programmes by name
        news = np.flatnonzero(s_chan == self.ch_index[("newsletter", "email")])
        if news.size:
            month_names = {}
            days = (start[news] - self.t0) // DAY
            dates = [self.start + dt.timedelta(days=int(d)) for d in np.unique(days)]
            for d in dates:
                month_names[(d - self.start).days] = V.code(f"newsletter_{d:%Y_%m}")
            lut = np.full(int(days.max()) + 1, -1, dtype=np.int32)
            for k, v in month_names.items():
                lut[k] = v
            campaign[news] = lut[days]
            content[news] = V.codes(["header_cta", "footer_link", "feature_story"])[rng.integers(0, 3, news.size)]
        for (s, m), name in {("partner", "referral"): "partner_program", ("producthunt", "referral"): "launch_week",
                             ("lifecycle", "email"): "weekly_digest"}.items():
            campaign[s_chan == self.ch_index[(s, m)]] = V.code(name)
        out.update(campaign=campaign, term=term, content=content)
        return out

    def _pages(self, rng, s_owner, start, n_pages, utm, s_dev, signup_sess, anon: bool,
               page_dist: Callable[[np.ndarray], np.ndarray] | None = None):
        """Page rows of sessions (owner = visitor if `anon`, else user). Paths follow the
        session's channel (landing page) and browsing, or `page_dist(session of each row)`.
        Returns (frame, timestamp of each session's last page)."""
        V = self.V
        p_s, p_j = _expand(n_pages)
        n = p_s.size
        first = p_j == 0
        # path: landing by channel group, then browsing; /signup closes a sign-up session
        if page_dist is None:
            s_group = np.array([_CHANNELS[k][3] for k in self.ch_rows])[utm["chan"]]
            page = _choice(rng, n, _BROWSE)
            land_rows = np.flatnonzero(first)
            for gname, dist in _LANDING.items():
                rows = land_rows[s_group[p_s[land_rows]] == gname]
                if rows.size:
                    page[rows] = _choice(rng, rows.size, dist)
            for _ in range(2):  # rarely the same page twice in a row
                again = np.flatnonzero(~first[1:] & (page[1:] == page[:-1])) + 1
                page[again] = _choice(rng, again.size, _BROWSE)
            is_last = np.r_[p_s[1:] != p_s[:-1], True] if n else np.zeros(0, bool)
            page[is_last & signup_sess[p_s]] = _PAGE_INDEX["/signup"]
        else:
            page = page_dist(p_s)
        gap = np.where(first, 0, (np.minimum(rng.exponential(50, n) + 3, 540) * SEC).astype(np.int64))
        ts = start[p_s] + _group_cumsum(gap, p_s, p_j)
        last_ts = np.zeros(s_owner.size, dtype=np.int64)
        if n:
            is_last_row = np.r_[p_s[1:] != p_s[:-1], True]
            last_ts[p_s[is_last_row]] = ts[is_last_row]
        # url (with the UTM query on the landing page) and referrer (previous page)
        q_cols = [utm[k][p_s] for k in ("source", "medium", "campaign", "term", "content")]
        has_q = first & (q_cols[0] >= 0)
        url = V.codes([SITE + p[0] for p in _PAGES])[page]
        qrows = np.flatnonzero(has_q)
        if qrows.size:
            key, first_row = _factorize([page[qrows]] + [c[qrows] for c in q_cols])
            strings = V.strings
            codes = np.empty(first_row.size, dtype=np.int32)
            names = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
            for i, row in enumerate(first_row.tolist()):
                r_ = qrows[row]
                parts = [f"{k}={strings[c[r_]].replace(' ', '+')}" for k, c in zip(names, q_cols) if c[r_] >= 0]
                codes[i] = V.code(SITE + _PAGES[page[r_]][0] + "?" + "&".join(parts))
            url[qrows] = codes[key]
        referrer = np.empty(n, dtype=np.int32)
        if n:
            referrer[1:] = url[:-1]
            referrer[first] = utm["referrer"][p_s[first]]
        path_codes = V.codes([p[0] for p in _PAGES])
        title_codes = V.codes([p[1] for p in _PAGES])
        v = s_owner[p_s]  # visitor (anonymous pages) or user index
        if anon:
            anon_id = np.where(s_dev[p_s] == 1, self.anon_b[np.minimum(v, self.N - 1)] if self.N else -1, v)
            user_id = np.full(n, -1, dtype=np.int64)
            ua = np.where(s_dev[p_s] == 1, self.ua_b[np.minimum(v, self.N - 1)] if self.N else 0, self.v_ua[v])
        else:
            anon_id = np.where(s_dev[p_s] == 1, self.anon_b[v], v)
            user_id = v.astype(np.int64)
            ua = np.where(s_dev[p_s] == 1, self.ua_b[v], self.v_ua[v])
        frame = {
            "id": np.zeros(n, dtype=np.int64),  # message ids are numbered when the table is built
            "anonymous_id": anon_id.astype(np.int64),
            "user_id": user_id,
            "timestamp": ts,
            "url": url,
            "path": path_codes[page],
            "referrer": referrer,
            "title": title_codes[page],
            "context_campaign_source": np.where(first, q_cols[0], -1).astype(np.int32),
            "context_campaign_medium": np.where(first, q_cols[1], -1).astype(np.int32),
            "context_campaign_name": np.where(first, q_cols[2], -1).astype(np.int32),
            "context_campaign_term": np.where(first, q_cols[3], -1).astype(np.int32),
            "context_campaign_content": np.where(first, q_cols[4], -1).astype(np.int32),
            "context_user_agent": self.ua_codes[ua],
            "context_locale": self.locale_codes[self.v_country[v]],
            "context_location_country": self.country_codes[self.v_country[v]],
            "context_location_city": self.city_codes[self.v_city[v]],
        }
        return frame, last_ts

    def _people(self) -> None:
        """Names, emails and companies of users (Python per user; small)."""
        rng, N = self.r_names, self.N
        first = rng.integers(0, len(_FIRST_NAMES), N)
        last = rng.integers(0, len(_LAST_NAMES), N)
        # companies: B2B users share companies of skewed sizes
        b2b_users = np.flatnonzero(self.b2b)
        n_comp = max(1, int(round(b2b_users.size / 2.4))) if b2b_users.size else 0
        company = np.full(N, -1, dtype=np.int64)
        if n_comp:
            w = rng.pareto(1.2, n_comp) + 1
            raw = _choice(rng, b2b_users.size, w)
            # number companies by their first user's sign-up
            order = b2b_users[np.argsort(self.user_number[b2b_users], kind="stable")]
            raw_of = np.empty(N, dtype=np.int64)
            raw_of[b2b_users] = raw
            _, first_idx = np.unique(raw_of[order], return_index=True)
            first_raw = raw_of[order][np.sort(first_idx)]
            renum = np.full(n_comp, -1, dtype=np.int64)
            renum[first_raw] = np.arange(first_raw.size)
            company[b2b_users] = renum[raw]
        self.company = company
        n_comp = int(company.max()) + 1 if N and company.max() >= 0 else 0
        self.n_companies = n_comp
        combos = len(_COMPANY_ADJ) * len(_COMPANY_NOUN) * len(_COMPANY_SUFFIX)
        pick = rng.permutation(combos)[: min(n_comp, combos)]
        if n_comp > combos:
            pick = np.concatenate([pick, rng.integers(0, combos, n_comp - combos)])
        names, domains = [], []
        for i, c in enumerate(pick.tolist()):
            a, rest = divmod(c, len(_COMPANY_NOUN) * len(_COMPANY_SUFFIX))
            nn, s = divmod(rest, len(_COMPANY_SUFFIX))
            adj, noun, suf = _COMPANY_ADJ[a], _COMPANY_NOUN[nn], _COMPANY_SUFFIX[s]
            suffix = f" {i // combos + 1}" if i >= combos else ""
            names.append(f"{adj} {noun} {suf}{suffix}")
            domains.append(f"{adj}{noun}{'' if s == 0 else '-' + suf}{i // combos if i >= combos else ''}".lower() + _TLDS[c % len(_TLDS)])
        self.company_names = names
        self.company_ids = [f"co_{self.shard.companies + i + 1:06d}" for i in range(n_comp)]
        self.company_domains = domains
        dom_pick = _choice(rng, N, [w for _, w in _MAIL_DOMAINS])
        style = rng.integers(0, 4, N)
        digits = rng.integers(1, 999, N)
        add_digits = rng.random(N) < 0.5
        emails, full = [], []
        for u in range(N):
            f, l = _FIRST_NAMES[first[u]], _LAST_NAMES[last[u]]
            full.append(f"{f} {l}")
            fl, ll = f.lower(), l.lower().replace("'", "").replace(" ", "")
            local = (f"{fl}.{ll}", f"{fl[0]}{ll}", f"{fl}_{ll}", f"{fl}{ll}")[style[u]]
            if company[u] >= 0:
                emails.append(f"{local}@{domains[company[u]]}")
            else:
                emails.append(f"{local}{digits[u] if add_digits[u] else ''}@{_MAIL_DOMAINS[dom_pick[u]][0]}")
        # unique emails: later users with a taken address get their user number in it
        seen = self.shard.emails
        for u in np.argsort(self.user_number, kind="stable").tolist():
            e = emails[u]
            if e in seen:
                local, dom = e.split("@", 1)
                e = emails[u] = f"{local}.{self.user_number[u]}@{dom}"
            seen.add(e)
        self.emails, self.names = emails, full
        self.user_ids = _numbered("u_", self.user_number, 7)  # by user index

    # ------------------------------------------------------------------------- billing
    def billing_phase(self) -> None:
        """Stripe customers, subscription versions, invoices and charges (per customer)."""
        _Billing(self).run()

    # --------------------------------------------------------------------------- tracks
    def tracks_phase(self) -> None:
        """Logged-in activity (tracks and pages), sign-up, activation and checkout events,
        identifies; then dirty rows and the three Segment tables."""
        rng, N, V = self.r_ev, self.N, self.V
        seeds = self.seeds
        # candidate days of every spell, thinned by a decaying, weekly-seasonal probability
        L = (self.spell_end - self.spell_start).ravel()
        pair, off = _expand(L)
        a_user = (pair // 3).astype(np.int64)
        a_k = (pair % 3).astype(np.int8)
        a_day = self.spell_start.ravel()[pair] + off
        del pair, off
        age = (a_day - self.signup_day[a_user]).astype(np.float32)
        p = self.p_active[a_user].astype(np.float32) * (0.3 + 0.7 * np.exp(-age / 28.0))
        p *= np.where(self.dow[a_day] >= 5, _WEEKEND_FACTOR, 1.0).astype(np.float32)
        p *= np.where(a_k > 0, 0.85, 1.0).astype(np.float32)
        signup_day0 = (age == 0) & (a_k == 0)
        keep = signup_day0 | (rng.random(a_user.size, dtype=np.float32) < p)
        del p, age
        a_user, a_day, a_k, signup_day0 = a_user[keep], a_day[keep], a_k[keep], signup_day0[keep]
        n_days = a_user.size
        spell_first = np.zeros(n_days, dtype=bool)
        if n_days:
            spell_first[0] = True
            spell_first[1:] = (a_user[1:] != a_user[:-1]) | (a_k[1:] != a_k[:-1])
        # device of the day: 0 web (first browser), 1 web (second device), 2 mobile app
        dev = np.zeros(n_days, dtype=np.int8)
        dev[self.has_b[a_user] & (rng.random(n_days) < 0.3)] = 1
        dev[self.mobile[a_user] & (rng.random(n_days) < 0.4)] = 2
        dev[signup_day0] = 0
        day_start = np.where(
            signup_day0,
            self.signup_ts[a_user] + (rng.uniform(5, 90, n_days) * SEC).astype(np.int64),
            self.t0 + a_day * DAY + _hour_offsets(rng, n_days),
        )
        n_tr = np.minimum(np.where(signup_day0, 0, 1) + rng.poisson(self.events_per_day[a_user]), 25)
        n_pg = np.where(dev == 2, 0, np.minimum(rng.poisson(self.pages_per_day[a_user]) + signup_day0, 15))

        # plan profile: tier of the user's paid plan (0 = free) x main product
        tier = self.paid_tier
        prod = self.paid_product
        profile = tier * 3 + prod
        ev_names = seeds.events
        W = np.zeros((12, len(ev_names)))
        for j, e in enumerate(ev_names):
            w = _EVENT_WEIGHTS.get(e, (0.5, 0.5, 0.5, 0.5)) if e not in ("signed_up", "checkout_completed") else (0, 0, 0, 0)
            fprod = seeds.feature[e][1]
            for tt in range(4):
                for pp in range(3):
                    W[tt * 3 + pp, j] = w[tt] * (_PRODUCT_TILT if fprod == _PRODUCTS[pp] else 1.0)
        cdf = np.cumsum(W / W.sum(axis=1, keepdims=True), axis=1)
        cdf[:, -1] = 1.0

        t_day, t_j = _expand(n_tr)
        t_user = a_user[t_day]
        gap = (np.minimum(rng.exponential(70, t_day.size) + 2, 300) * SEC).astype(np.int64)
        t_ts = day_start[t_day] + 2 * SEC + _group_cumsum(gap, t_day, t_j)
        u = rng.random(t_day.size)
        ev = np.empty(t_day.size, dtype=np.int64)
        t_prof = profile[t_user]
        for pr in range(12):
            rows = np.flatnonzero(t_prof == pr)
            if rows.size:
                ev[rows] = np.minimum(np.searchsorted(cdf[pr], u[rows], side="right"), len(ev_names) - 1)
        del u, t_prof
        # key actions before activation (or by users who never activate) are something else
        ev_idx = {e: i for i, e in enumerate(ev_names)}
        act = self.activation_ts[t_user]
        for k in seeds.key_actions:
            rows = np.flatnonzero((ev == ev_idx[k]) & ((act < 0) | (t_ts < act)))
            ev[rows] = ev_idx[_KEY_ACTION_FALLBACK[k]]
        del act
        # properties: catalog feature/product; credit amounts from small sets
        static_props = np.array([V.code(json.dumps({"feature": seeds.feature[e][0], "product": seeds.feature[e][1]})) for e in ev_names], dtype=np.int32)
        props = static_props[ev]
        for e, (vals, pw) in (("credits_earned", _CREDITS_EARNED), ("credits_spent", _CREDITS_SPENT)):
            rows = np.flatnonzero(ev == ev_idx[e])
            if not rows.size:
                continue
            amt = vals[_choice(rng, rows.size, pw)]
            if e == "credits_spent":
                amt = np.where(self.overspender[t_user[rows]], amt * _OVERSPEND_FACTOR, amt)
            feat, prd = seeds.feature[e]
            uniq, inv = np.unique(amt, return_inverse=True)
            codes = np.array([V.code(json.dumps({"feature": feat, "product": prd, "amount": int(a)})) for a in uniq], dtype=np.int32)
            props[rows] = codes[inv.ravel()]
        t_dev = dev[t_day]
        activity = self._track_frame(t_user, t_dev, t_ts, ev, props)
        is_login = ev == ev_idx["logged_in"]
        login_rows = np.flatnonzero(is_login)
        del ev, props

        # sign-up, activation and checkout events
        pieces = [activity]
        su_users = np.flatnonzero(self.has_signed_up_event)
        method = np.where(rng.random(su_users.size) < 0.35, V.code('{"feature": "account", "product": "platform", "method": "google"}'),
                          V.code('{"feature": "account", "product": "platform", "method": "email"}'))
        su = self._track_frame(su_users, np.zeros(su_users.size, np.int8), self.signup_ts[su_users],
                               np.full(su_users.size, ev_idx["signed_up"]), method)
        for k, col in (("source", "context_campaign_source"), ("medium", "context_campaign_medium"), ("campaign", "context_campaign_name")):
            su[col] = self.signup_utm[k][su_users]
        pieces.append(su)
        # welcome bonus: credits granted at sign-up
        bonus = V.code(json.dumps({"feature": seeds.feature["credits_earned"][0], "product": seeds.feature["credits_earned"][1],
                                   "amount": _WELCOME_CREDITS}))
        pieces.append(self._track_frame(su_users, np.zeros(su_users.size, np.int8), self.signup_ts[su_users] + 3 * SEC,
                                        np.full(su_users.size, ev_idx["credits_earned"]), np.full(su_users.size, bonus)))
        act_users = np.flatnonzero(self.activation_ts >= 0)
        act_ev = np.array([ev_idx[seeds.key_actions[i]] for i in range(len(seeds.key_actions))])[self.activation_event[act_users]]
        pieces.append(self._track_frame(act_users, np.zeros(act_users.size, np.int8), self.activation_ts[act_users],
                                        act_ev, static_props[act_ev]))
        if self.checkouts:
            cu, cts, cprops = (np.array(x) for x in zip(*self.checkouts))
            pieces.append(self._track_frame(cu, np.zeros(cu.size, np.int8), cts,
                                            np.full(cu.size, ev_idx["checkout_completed"]), cprops.astype(np.int32)))
        tracks = _cat(pieces)
        ev_text = V.codes([_title(e) for e in ev_names])
        ev_code = V.codes(ev_names)
        tracks["event_text"] = ev_text[tracks["event"]]
        tracks["event"] = ev_code[tracks["event"]]

        # logged-in pages on web days
        web = np.flatnonzero(n_pg > 0)
        s_user = a_user[web]
        utm = {k: np.full(web.size, -1, dtype=np.int32) for k in ("source", "medium", "campaign", "term", "content", "referrer")}
        life = self.ch_index[("lifecycle", "email")]
        r = rng.random(web.size)
        age_days = a_day[web] - self.signup_day[s_user]
        camp = np.select([spell_first[web] & (a_k[web] > 0) & (r < 0.45), (age_days >= 1) & (age_days <= 14) & (r < 0.12),
                          (age_days >= 1) & (r < 0.05)],
                         [V.code("winback"), V.code("onboarding_tips"), V.code("weekly_digest")], default=-1)
        has = camp >= 0
        utm["source"][has] = V.code(self.ch_rows[life][0])
        utm["medium"][has] = V.code(self.ch_rows[life][1])
        utm["campaign"][has] = camp[has]
        app_dist = self._app_page_sampler(rng, s_user)
        pframe, _ = self._pages(rng, s_user, day_start[web], n_pg[web], utm, dev[web],
                                np.zeros(web.size, bool), anon=False, page_dist=app_dist)

        # identifies: sign-up, first use of each further device, every log-in
        idf = [self._identify_frame(np.arange(N), np.zeros(N, np.int8), self.signup_ts + (rng.uniform(0.2, 2, N) * SEC).astype(np.int64))]
        for d in (1, 2):
            rows = np.flatnonzero(dev == d)
            if rows.size:
                uu, first_idx = np.unique(a_user[rows], return_index=True)
                idf.append(self._identify_frame(uu, np.full(uu.size, d, np.int8), day_start[rows[first_idx]] - SEC))
        if login_rows.size:
            idf.append(self._identify_frame(t_user[login_rows], t_dev[login_rows], t_ts[login_rows] - SEC // 2))
        identifies = _cat(idf)

        self.tables["raw_segment.pages"] = self._finish_events("raw_segment.pages", _cat([self.anon_pages, pframe]))
        self.anon_pages = None
        self.tables["raw_segment.tracks"] = self._finish_events("raw_segment.tracks", tracks)
        self.tables["raw_segment.identifies"] = self._finish_events("raw_segment.identifies", identifies)

    def _app_page_sampler(self, rng, s_user):
        prod = self.paid_product

        def sample(p_s: np.ndarray) -> np.ndarray:
            page = np.empty(p_s.size, dtype=np.int64)
            pp = prod[s_user[p_s]]
            for i, name in enumerate(_PRODUCTS):
                rows = np.flatnonzero(pp == i)
                if rows.size:
                    page[rows] = _choice(rng, rows.size, _APP_PAGES[name])
            return page
        return sample

    def _device_anon(self, users: np.ndarray, dev: np.ndarray) -> np.ndarray:
        return np.select([dev == 1, dev == 2], [self.anon_b[users], self.anon_m[users]], default=users).astype(np.int64)

    def _track_frame(self, users, dev, ts, ev, props) -> dict[str, np.ndarray]:
        users = np.asarray(users, dtype=np.int64)
        n = users.size
        V = self.V
        dev_codes = np.array([V.code("web"), V.code("ios"), V.code("android")], dtype=np.int32)
        dtype_idx = np.where(dev == 2, 1 + self.mobile_os[users], 0)
        return {
            "id": np.zeros(n, dtype=np.int64),
            "anonymous_id": self._device_anon(users, dev),
            "user_id": users,
            "event": np.asarray(ev, dtype=np.int64),
            "event_text": np.zeros(n, dtype=np.int32),
            "timestamp": np.asarray(ts, dtype=np.int64),
            "context_device_type": dev_codes[dtype_idx],
            "context_location_country": self.country_codes[self.v_country[users]],
            "context_campaign_source": np.full(n, -1, dtype=np.int32),
            "context_campaign_medium": np.full(n, -1, dtype=np.int32),
            "context_campaign_name": np.full(n, -1, dtype=np.int32),
            "properties": np.asarray(props, dtype=np.int32),
        }

    def _identify_frame(self, users, dev, ts) -> dict[str, np.ndarray]:
        users = np.asarray(users, dtype=np.int64)
        comp = self.company[users]
        return {
            "id": np.zeros(users.size, dtype=np.int64),
            "anonymous_id": self._device_anon(users, dev),
            "user_id": users,
            "timestamp": np.asarray(ts, dtype=np.int64),
            "email": users,
            "name": users,
            "company_id": comp,
            "company_name": comp,
        }

    # ------------------------------------------------------------ Segment tables & dirt
    def _finish_events(self, table: str, fr: dict[str, np.ndarray]) -> pa.Table:
        """Arrival times, message ids, dirty rows, sort, decode to Arrow."""
        rng = self.r_ids
        # the data ends with --end: a session running past midnight of the last day is cut
        inside = fr["timestamp"] < self.t_end
        if not inside.all():
            fr = _take(fr, np.flatnonzero(inside))
        n = fr["timestamp"].size
        delay = _delays(rng, n)
        fr["received_at"] = fr["timestamp"] + delay
        if table == "raw_segment.tracks":
            fr["sent_at"] = fr["timestamp"] + (delay * rng.uniform(0.05, 0.9, n)).astype(np.int64)
        fr["id"] = np.arange(n, dtype=np.int64)
        fr = self._dirty_events(table, fr)
        order = np.lexsort((fr["received_at"], fr["timestamp"]))
        fr = _take(fr, order)
        return self._decode_events(table, fr, n_ids=n)

    def _dirty_events(self, table: str, fr: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        r, rng, V = self.dirty, self.r_dirty, self.V
        n = fr["timestamp"].size
        if r <= 0 or n == 0:
            return fr
        k = int(round(r * n))
        segment_events = table in ("raw_segment.pages", "raw_segment.tracks")
        classes = ["null_id", "dup"]
        if segment_events:
            classes += ["null_identity", "late", "epoch", "future"]
        if table == "raw_segment.tracks":
            classes += ["malformed", "unknown_event"]
        picks = dict(zip(classes, _pick(rng, n, [k] * len(classes))))
        picked = np.zeros(n, dtype=bool)
        for idx in picks.values():
            picked[idx] = True
        ts, rec = fr["timestamp"], fr["received_at"]
        if segment_events:
            i = picks["null_identity"]
            fr["anonymous_id"][i] = -1
            fr["user_id"][i] = -1
            i = picks["late"]
            rec[i] = ts[i] + (rng.uniform(2, 20, i.size) * DAY).astype(np.int64)
            if "sent_at" in fr:
                fr["sent_at"][i] = rec[i] - (rng.uniform(0.1, 3, i.size) * SEC).astype(np.int64)
            ts[picks["epoch"]] = 0  # 1970-01-01 00:00:00: a loader's unparsable timestamp
            i = picks["future"]
            ts[i] = rec[i] + (rng.uniform(30, 1500, i.size) * DAY).astype(np.int64)
        if table == "raw_segment.tracks":
            i = picks["malformed"]
            uniq, inv = np.unique(fr["properties"][i], return_inverse=True)
            trunc = np.array([V.code(V.strings[c][:-1]) for c in uniq.tolist()], dtype=np.int32)
            fr["properties"][i] = trunc[inv.ravel()] if i.size else fr["properties"][i]
            i = picks["unknown_event"]
            which = rng.integers(0, len(_UNKNOWN_EVENTS), i.size)
            fr["event"][i] = V.codes([e for e, _ in _UNKNOWN_EVENTS])[which]
            fr["event_text"][i] = V.codes([t for _, t in _UNKNOWN_EVENTS])[which]
            # credits events with a non-numeric, negative or absurd amount
            credit_codes = np.array([V.code(e) for e in ("credits_earned", "credits_spent")])
            cand = np.flatnonzero(np.isin(fr["event"], credit_codes) & ~picked)
            kc = int(round(r * cand.size))
            if kc:
                i = np.sort(rng.choice(cand, size=kc, replace=False))
                kind = rng.integers(0, 3, kc)
                amounts = np.where(kind == 0, 0, np.where(kind == 1, -rng.integers(1, 500, kc), rng.integers(1_000_000_001, 10**12, kc)))
                text = rng.integers(0, len(_BAD_AMOUNTS_TEXT), kc)
                new = []
                for kd, a, tx in zip(kind.tolist(), amounts.tolist(), text.tolist()):
                    val = _BAD_AMOUNTS_TEXT[tx] if kd == 0 else str(a)
                    new.append(V.code(f'{{"feature": "credits", "product": "platform", "amount": {val}}}'))
                fr["properties"][i] = np.array(new, dtype=np.int32)
        fr["id"][picks["null_id"]] = -1
        # duplicate deliveries: exact copies of clean rows, received 1 s - 6 h later
        src = picks["dup"]
        dup = _take(fr, src)
        dup["received_at"] = dup["received_at"] + (rng.uniform(1, 6 * 3600, src.size) * SEC).astype(np.int64)
        return _cat([fr, dup])

    def _decode_events(self, table: str, fr: dict[str, np.ndarray], n_ids: int) -> pa.Table:
        """Arrow table of a Segment frame: message ids as plain strings, every other string
        column dictionary-encoded (see `generate`)."""
        vocab = self.V.array()
        people = {"email": self.emails, "name": self.names, "company_id": self.company_ids,
                  "company_name": self.company_names}
        cols = {}
        for name, typ in CONTRACT[table]:
            v = fr.pop(name)
            if typ == "TIMESTAMP":
                cols[name] = _ts_array(v)
            elif name == "id":
                cols[name] = _decode(_uuids(self.r_ids, n_ids), v)
            elif name == "anonymous_id":
                cols[name] = _dictionary(self.anon_vocab, v)
            elif name == "user_id":
                cols[name] = _dictionary(self.user_ids, v)
            elif name in people and table == "raw_segment.identifies":
                cols[name] = _dictionary(pa.array(people[name], pa.string()), v)
            else:
                cols[name] = _dictionary(vocab, v)
            del v
        return pa.table(cols)

    # ------------------------------------------------------------------------------ ads
    def ads_phase(self) -> None:
        a = self.ads
        D, C = a["active"].shape
        d_idx, c_idx = np.nonzero(a["active"])  # row-major: by day, then campaign
        cps = [_CAMPAIGNS[c] for c in c_idx.tolist()]
        fx = np.array([1.0 if cp.currency == "USD" else self.seeds.fx[cp.currency] for cp in cps])
        spend = np.round(a["spend_usd"][d_idx, c_idx] / fx, 2)
        currency = np.array([cp.currency for cp in cps], dtype=object)
        n = d_idx.size
        k = int(round(self.dirty * n))
        if k:
            currency[np.sort(self.r_dirty.choice(n, size=k, replace=False))] = _BAD_CURRENCY_ADS
        days = np.array([(self.start - _EPOCH).days], dtype=np.int64) + d_idx
        cols = {
            "date": pa.array(days.astype(np.int32), type=pa.int32()).cast(pa.date32()),
            "platform": pa.array([cp.platform for cp in cps], pa.string()),
            "account_id": pa.array([cp.account_id for cp in cps], pa.string()),
            "campaign_id": pa.array([cp.campaign_id for cp in cps], pa.string()),
            "campaign_name": pa.array([cp.name for cp in cps], pa.string()),
            "utm_source": pa.array([cp.source for cp in cps], pa.string()),
            "utm_campaign": pa.array([cp.utm_campaign for cp in cps], pa.string()),
            "spend": pa.array(spend, pa.float64()),
            "currency": pa.array(currency.tolist(), pa.string()),
            "impressions": pa.array(a["impressions"][d_idx, c_idx].astype(np.int64)),
            "clicks": pa.array(a["clicks"][d_idx, c_idx].astype(np.int64)),
        }
        tbl = pa.table(cols, schema=arrow_schema("raw_ads.ad_spend"))
        self.tables["raw_ads.ad_spend"] = tbl.sort_by([("date", "ascending"), ("platform", "ascending"), ("campaign_id", "ascending")])

    # ------------------------------------------------------------------------------ crm
    def crm_phase(self) -> None:
        _crm(self)

    def run(self, phase: Callable[[str], None]) -> dict[str, pa.Table]:
        phase("users")
        self.users_phase()
        phase("visits/pages")
        self.visits_phase()
        self.anon_vocab = _uuids(self.r_ids, self.n_devices)
        phase("billing")
        self.billing_phase()
        phase("tracks")
        self.tracks_phase()
        phase("ads")
        self.ads_phase()
        phase("crm")
        self.crm_phase()
        return {name: self.tables[name] for name in CONTRACT}


# --------------------------------------------------------------------------------------
# Billing: one Python pass per customer (customers are a small share of users)
# --------------------------------------------------------------------------------------
class _Billing:
    """Simulates Stripe: trials, conversions, renewals, plan changes, failed payments,
    scheduled and undone cancellations, reactivations, second products, test customers."""

    def __init__(self, g: _Generator) -> None:
        self.g = g
        self.U = _Uniforms(g.r_bill)
        self.E = g.t_end
        seeds = g.seeds
        self.price_rows = []
        self.price_of: dict[tuple[str, str, str, str], int] = {}
        self.unit_of: list[int] = []
        product_created = {p: _us(g.start) - (900 - 60 * i) * DAY for i, p in enumerate(_PRODUCTS)}
        self.product_created = product_created
        for r in seeds.plans:
            nick = r["price_nickname"]
            cur = nick.rsplit("_", 1)[-1].lower()
            product, tier, interval = r["product_key"], r["tier"], r["billing_interval"]
            base = _BASE_PRICE[(product, tier)]
            monthly = base if cur in ("usd", "eur") else int(round(base * 0.85))
            unit = monthly * (10 if interval == "year" else 1) * 100
            self.price_of[(product, tier, interval, cur)] = len(self.unit_of)
            self.unit_of.append(unit)
            created = product_created.get(product, _us(g.start) - 900 * DAY) + 3 * DAY
            self.price_rows.append((f"price_{nick}", f"prod_{product}", nick, unit, cur, interval, 1, True, created))
        self.subs: list[tuple] = []
        self.invoices: list[tuple] = []
        self.charges: list[tuple] = []
        self.n_sub = self.n_inv = self.n_ch = 0
        g.checkouts = []
        g.crm_events = []  # (company, type, outcome, amount, currency, created, close, product, tier)
        g.customer_of_company = {}

    # ---- helpers
    def _active(self, user: int, t: int) -> bool:
        if user < 0:
            return True
        g = self.g
        d = (t - g.t0) // DAY
        s, e = g.spell_start[user], g.spell_end[user]
        return bool(((d >= s) & (d < e)).any())

    def _next_spell_after(self, user: int, t: int) -> int | None:
        g = self.g
        d = (t - g.t0) // DAY
        for s, e in zip(g.spell_start[user].tolist(), g.spell_end[user].tolist()):
            if s > d and e > s and s < g.D:
                return g.t0 + s * DAY
        return None

    def _collect(self, cust: int, inv: int, amount: int, currency: str, t: int, live: bool, fail_p: float):
        """Charge attempts for an invoice. Returns (state, first_fail_t, final_t) with state
        'paid' | 'open' (retries not due by the end) | 'uncollectible'."""
        U, E = self.U, self.E
        first_fail = last_fail = None
        for attempt in range(4):
            if t >= E:
                return "open", first_fail, None
            p = fail_p if attempt == 0 else (0.35, 0.45, 0.6)[attempt - 1]
            self.n_ch += 1
            if U() < p:
                code = U.pick(_FAILURE_CODES)
                self.charges.append((self.n_ch, cust, inv, amount, 0, currency, "failed", code, False, False, t, live))
                if first_fail is None:
                    first_fail = t
                last_fail = t
                t += int(U.between(3, 6) * DAY)  # Stripe retries days later
                continue
            refunded_amt, refunded = 0, False
            if U() < 0.03:
                if U() < 0.45:
                    refunded_amt, refunded = amount, True
                else:
                    refunded_amt = int(round(amount * U.between(0.1, 0.7)))
            self.charges.append((self.n_ch, cust, inv, amount, refunded_amt, currency, "succeeded", None, True, refunded, t, live))
            return "paid", first_fail, t
        return "uncollectible", first_fail, last_fail  # the subscription ends at the last failure

    def _invoice(self, cust, sub, reason, t, ps, pe, subtotal, currency, live, fail_p):
        """An invoice and its charges. Returns the collection result."""
        tax = int(round(subtotal * _EU_TAX_RATE)) if currency == "eur" else 0
        total = subtotal + tax
        self.n_inv += 1
        inv = self.n_inv
        if total == 0:
            self.invoices.append((inv, cust, sub, "paid", reason, t, ps, pe, subtotal, tax, 0, 0, currency, live))
            return "paid", None, t
        delay = int(self.U.between(2, 30) * SEC) if reason != "subscription_cycle" else int(self.U.between(60, 3600) * SEC)
        state, first_fail, final_t = self._collect(cust, inv, total, currency, t + delay, live, fail_p)
        status = {"paid": "paid", "open": "open", "uncollectible": "uncollectible"}[state]
        self.invoices.append((inv, cust, sub, status, reason, t, ps, pe, subtotal, tax, total,
                              total if state == "paid" else 0, currency, live))
        return state, first_fail, final_t

    def _qty(self, tier: str) -> int:
        U = self.U
        if tier == "starter":
            return 1
        if tier == "pro":
            return 1 + min(int(U() ** 2 * 10), 9)
        return 5 + min(int(U() ** 2 * 46), 45)

    def _crm(self, company, typ, outcome, amount, currency, created, close, product, tier):
        if company >= 0 and created < self.E:
            self.g.crm_events.append((company, typ, outcome, round(amount, 2), currency, created, close, product, tier))

    # ---- one subscription
    def subscription(self, cust, user, t0, product, tier, interval, qty, trial, live, currency, company, fail_p):
        """Simulates one subscription to the end. Returns (outcome, t, paid_tier) where
        outcome is trialing | trial_failed | active | past_due | scheduled | churned."""
        U, E = self.U, self.E
        self.n_sub += 1
        sid = self.n_sub
        months = 1 if interval == "month" else 12
        tier_i = _TIERS.index(tier)
        price = self.price_of[(product, tier, interval, currency)]
        st = {"status": "trialing" if trial else "active", "price": price, "qty": qty, "cps": t0, "cpe": t0,
              "capn": False, "canceled_at": None, "ended_at": None, "last": -1}
        trial_start = trial_end = None

        def emit(t: int) -> None:
            if t <= st["last"]:
                t = st["last"] + 1
            st["last"] = t
            self.subs.append((sid, cust, st["status"], st["price"], st["qty"], t0, t0, st["cps"], st["cpe"],
                              st["capn"], st["canceled_at"], st["ended_at"], trial_start, trial_end, live, t))

        def annual_value() -> float:
            return self.unit_of[st["price"]] * st["qty"] * (12 // months) / 100

        if live and user >= 0:
            self.g.checkouts.append((user, t0 + int(U.between(1, 20) * SEC),
                                     self.g.V.code(json.dumps({"feature": "billing", "product": product, "plan": tier, "interval": interval}))))
        if trial:
            trial_start, trial_end = t0, t0 + _TRIAL_DAYS * DAY
            st["cps"], st["cpe"] = t0, trial_end
            emit(t0)
            self._invoice(cust, sid, "subscription_create", t0, t0, trial_end, 0, currency, live, fail_p)
            if trial_end >= E:
                self._crm(company, "new", "open", annual_value(), currency, t0 - int(U.between(0, 2) * DAY), trial_end, product, tier)
                return "trialing", None, 0
            converts = U() < (0.68 if self._active(user, trial_end) else 0.3)
            if not converts:
                st.update(status="canceled", canceled_at=trial_end, ended_at=trial_end)
                emit(trial_end)
                self._crm(company, "new", "lost", annual_value(), currency, t0 - int(U.between(0, 2) * DAY), trial_end, product, tier)
                return "trial_failed", trial_end, 0
            self._crm(company, "new", "won", annual_value(), currency, t0 - int(U.between(0, 2) * DAY), trial_end, product, tier)
            anchor, reason = trial_end, "subscription_cycle"
        else:
            anchor, reason = t0, "subscription_create"
        paid_tier = 0
        k = 0
        while True:
            ps = _add_months(anchor, k * months)
            pe = _add_months(anchor, (k + 1) * months)
            if ps >= E:
                return "active", None, paid_tier
            st.update(status="active", cps=ps, cpe=pe)
            emit(ps)
            subtotal = self.unit_of[st["price"]] * st["qty"]
            state, first_fail, final_t = self._invoice(cust, sid, reason, ps, ps, pe, subtotal, currency, live, fail_p)
            reason = "subscription_cycle"
            if first_fail is not None:
                st["status"] = "past_due"
                emit(first_fail)
            if state == "open":  # collection still under way at the end
                return ("past_due" if first_fail is not None else "active"), None, paid_tier
            if state == "uncollectible":
                st.update(status="canceled", canceled_at=final_t, ended_at=final_t)
                emit(final_t)
                return "churned", final_t, paid_tier
            if first_fail is not None:
                st["status"] = "active"
                emit(final_t)
            paid_tier = max(paid_tier, tier_i + 1)
            # mid-period events, one chance per month of the period
            for s in range(months):
                lo = _add_months(anchor, k * months + s)
                hi = _add_months(anchor, k * months + s + 1)
                tm = lo + int((0.1 + 0.8 * U()) * (hi - lo))
                if tm >= E:
                    break  # the period runs past the end; settled below
                if tm <= st["last"] or st["capn"]:
                    continue  # no plan changes while a cancellation is scheduled
                dormant = not self._active(user, tm)
                r = U()
                p_cancel = (0.30 if dormant else 0.022) if months == 1 else (0.05 if dormant else 0.006)
                if r < p_cancel:
                    st.update(capn=True, canceled_at=tm)
                    emit(tm)
                    if U() < 0.25:  # changed their mind before the period ended
                        tu = tm + int(U.between(0.05, 0.9) * (pe - tm))
                        if tu < E:
                            st.update(capn=False, canceled_at=None)
                            emit(tu)
                    continue
                r -= p_cancel
                p_up = 0.0 if dormant or tier_i == 2 else 0.03
                p_down = ((0.08 if dormant else 0.012) if tier_i > 0 else 0.0)
                p_qty = 0.05 if tier_i > 0 else 0.0
                old_value, old_sub = annual_value(), self.unit_of[st["price"]] * st["qty"]
                if r < p_up:
                    tier_i += 1
                    tier = _TIERS[tier_i]
                    st["qty"] = max(st["qty"], self._qty(tier)) if tier == "enterprise" else max(st["qty"], 1)
                elif r < p_up + p_down:
                    tier_i -= 1
                    tier = _TIERS[tier_i]
                    st["qty"] = 1 if tier == "starter" else min(st["qty"], 10)
                elif r < p_up + p_down + p_qty:
                    lo_q, hi_q = (1, 10) if tier == "pro" else (5, 50)
                    step = 1 + int(U() * (3 if tier == "pro" else 10))
                    new_q = st["qty"] + step if U() < 0.65 else st["qty"] - step
                    new_q = min(max(new_q, lo_q), hi_q)
                    if new_q == st["qty"]:
                        continue
                    st["qty"] = new_q
                else:
                    continue
                st["price"] = self.price_of[(product, tier, interval, currency)]
                emit(tm)
                paid_tier = max(paid_tier, tier_i + 1)
                new_sub = self.unit_of[st["price"]] * st["qty"]
                if new_sub > old_sub:  # prorated upgrade invoice
                    frac = (pe - tm) / (pe - ps)
                    self._invoice(cust, sid, "subscription_update", tm, tm, pe, int(round((new_sub - old_sub) * frac)),
                                  currency, live, fail_p)
                    self._crm(company, "expansion", "won", annual_value() - old_value, currency,
                              tm - int(U.between(5, 20) * DAY), tm, product, tier)
            if st["capn"]:
                if months == 12:
                    self._crm(company, "renewal", "lost" if pe < E else "open", annual_value(), currency,
                              pe - _RENEWAL_LEAD_DAYS * DAY, pe, product, tier)
                if pe >= E:
                    return "scheduled", None, paid_tier
                st.update(status="canceled", ended_at=pe)
                emit(pe)
                return "churned", pe, paid_tier
            if months == 12:
                self._crm(company, "renewal", "won" if pe < E else "open", annual_value(), currency,
                          pe - _RENEWAL_LEAD_DAYS * DAY, pe, product, tier)
            k += 1

    # ---- all customers
    def run(self) -> None:
        g, U = self.g, self.U
        N = g.N
        g.paid_tier = np.zeros(N, dtype=np.int64)
        g.paid_product = g.main_product.copy()
        cand = np.flatnonzero(g.trial_ts >= 0)
        cand = cand[np.argsort(g.trial_ts[cand], kind="stable")]
        tiers_intent = g.intent_tier
        interval_annual = g.r_bill.random(N) < np.array([0, 0.15, 0.25, 0.55])[g.intent_tier]
        customers = []  # (cust, user or -1, created, live)
        for u in cand.tolist():
            cust = len(customers) + 1
            t0 = int(g.trial_ts[u])
            currency = g.country_currency[g.v_country[u]]
            company = int(g.company[u])
            product = _PRODUCTS[g.main_product[u]]
            tier = _TIERS[tiers_intent[u] - 1]
            interval = "year" if interval_annual[u] else "month"
            fail_p = 0.06
            outcome, t_end, paid_tier = self.subscription(cust, u, t0, product, tier, interval, self._qty(tier), True,
                                                          True, currency, company, fail_p)
            best = paid_tier
            delinquent = outcome == "past_due"
            # a second product, some months after converting
            if paid_tier and U() < 0.12:
                t2 = t0 + int(U.between(45, 240) * DAY)
                if t2 < self.E - DAY and self._active(u, t2):
                    others = [p for p in _PRODUCTS if p != product]
                    p2 = others[int(U() * len(others))]
                    tier2 = _TIERS[max(0, _TIERS.index(tier) - (1 if U() < 0.5 else 0))]
                    o2, _, pt2 = self.subscription(cust, u, t2, p2, tier2, interval, self._qty(tier2), U() < 0.5,
                                                   True, currency, company, fail_p)
                    delinquent = delinquent or o2 == "past_due"
                    best = max(best, pt2)
            # reactivation: a churned customer subscribes again months later
            for _ in range(2):
                if outcome not in ("churned", "trial_failed") or t_end is None:
                    break
                p_react = 0.55 if outcome == "churned" else 0.15
                nxt = self._next_spell_after(u, t_end + 30 * DAY)
                if nxt is not None and U() < p_react:
                    tr = nxt + int(U.between(0.1, 5) * DAY)
                elif U() < 0.06:
                    tr = t_end + int(U.between(60, 200) * DAY)
                else:
                    break
                if tr >= self.E - HOUR:
                    break
                tier_r = _TIERS[max(0, min(2, tiers_intent[u] - 1 + (1 if U() < 0.2 else 0) - (1 if U() < 0.3 else 0)))]
                outcome, t_end, pt = self.subscription(cust, u, tr, product, tier_r, interval, self._qty(tier_r), False,
                                                       True, currency, company, fail_p)
                delinquent = outcome == "past_due"
                best = max(best, pt)
            g.paid_tier[u] = best
            if company >= 0 and best and company not in g.customer_of_company:
                g.customer_of_company[company] = cust  # the company's (first) paying customer
            customers.append((cust, u, t0, True, currency, delinquent, outcome))
        # test-mode customers (~2%): the team's own sandbox checkouts, linked to random users
        n_live = len(customers)
        n_test = int(round(n_live * 0.02 / 0.98))
        for i in range(n_test):
            cust = len(customers) + 1
            t0 = g.t0 + int(U() * max(g.t_end - g.t0 - 2 * DAY, DAY))
            product = _PRODUCTS[int(U() * 3)]
            tier = _TIERS[int(U() * 3)]
            currency = ("usd", "eur", "gbp")[int(U() * 3)]
            outcome, _, _ = self.subscription(cust, -1, t0, product, tier, "month", self._qty(tier), U() < 0.5, False,
                                              currency, -1, 0.1)
            customers.append((cust, int(U() * N) if N else -1, t0, False, currency, outcome == "past_due", outcome))
        self._tables(customers)

    def _tables(self, customers) -> None:
        g, U = self.g, self.U
        rng = g.r_bill
        n_c = len(customers)
        cus_ids = _stripe_ids(rng, "cus_", n_c, 14).to_pylist()
        sub_ids = _stripe_ids(rng, "sub_1", self.n_sub, 23).to_pylist()
        inv_ids = _stripe_ids(rng, "in_1", self.n_inv, 23).to_pylist()
        ch_ids = _stripe_ids(rng, "ch_3", self.n_ch, 23).to_pylist()
        g.customer_ids = cus_ids  # by customer number - 1
        prices = [p[0] for p in self.price_rows]
        user_ids = g.user_ids.to_pylist() if g.N else []

        # customers
        rows = []
        for cust, u, t0, live, currency, delinquent, outcome in customers:
            created = t0 - int(U.between(5, 120) * SEC)
            if live:
                email, name = g.emails[u], g.names[u]
                if g.company[u] >= 0 and U() < 0.4:
                    name = g.company_names[g.company[u]]
                if U() < 0.10:  # no user_id in metadata: matched by email, which differs in case/space
                    email = _mangle_email(email, U)
                    metadata = json.dumps({"signup_source": "sales_assisted"}) if U() < 0.5 else "{}"
                else:
                    metadata = json.dumps({"user_id": user_ids[u]})
            else:
                qa = g.shard.customers + cust
                email, name = f"qa+{qa}@growthmesh.example", f"QA Test {qa}"
                metadata = json.dumps({"user_id": user_ids[u], "environment": "staging"}) if u >= 0 else "{}"
            deleted = outcome == "trial_failed" and U() < 0.08
            rows.append((cus_ids[cust - 1], email, name, created, currency, bool(delinquent), live, metadata, deleted))
        cust_tbl = _rows_table("raw_stripe.customer", rows)
        cust_tbl = _dirty_copies(cust_tbl, g.dirty, g.r_dirty)
        g.tables["raw_stripe.customer"] = _sort_table(cust_tbl, ["created"])

        g.tables["raw_stripe.product"] = _rows_table("raw_stripe.product", [
            (f"prod_{p}", _PRODUCT_NAMES[p], True, self.product_created[p]) for p in _PRODUCTS])
        g.tables["raw_stripe.price"] = _sort_table(_rows_table("raw_stripe.price", self.price_rows), ["id"])

        subs = [(sub_ids[s - 1], cus_ids[c - 1], st, prices[p], q, *rest) for s, c, st, p, q, *rest in self.subs]
        g.tables["raw_stripe.subscription_history"] = _sort_table(
            _rows_table("raw_stripe.subscription_history", subs), ["created", "id", "updated_at"])
        inv = [(inv_ids[i - 1], cus_ids[c - 1], sub_ids[s - 1], *rest) for i, c, s, *rest in self.invoices]
        g.tables["raw_stripe.invoice"] = _sort_table(_rows_table("raw_stripe.invoice", inv), ["created"])
        ch = [(ch_ids[i - 1], cus_ids[c - 1], inv_ids[v - 1], *rest) for i, c, v, *rest in self.charges]
        ch_tbl = _rows_table("raw_stripe.charge", ch)
        ch_tbl = _dirty_charges(ch_tbl, g.dirty, g.r_dirty)
        g.tables["raw_stripe.charge"] = _sort_table(ch_tbl, ["created"])


def _mangle_email(email: str, U: _Uniforms) -> str:
    """The same address typed differently: case and surrounding spaces."""
    local, dom = email.split("@", 1)
    r = U()
    if r < 0.4:
        return " " + ".".join(p.capitalize() for p in local.split(".")) + "@" + dom.capitalize()
    if r < 0.7:
        return email.upper()
    return local.capitalize() + "@" + dom + " "


def _rows_table(table: str, rows: list[tuple]) -> pa.Table:
    schema = arrow_schema(table)
    cols = list(zip(*rows)) if rows else [[] for _ in schema]
    arrays = []
    for field, values in zip(schema, cols):
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(list(values), pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(list(values), field.type))
    return pa.table(arrays, schema=schema)


def _sort_table(tbl: pa.Table, keys: list[str]) -> pa.Table:
    """Stable sort by the given columns (ties keep generation order)."""
    if not tbl.num_rows:
        return tbl
    return tbl.take(pc.sort_indices(tbl, sort_keys=[(k, "ascending") for k in keys]))


def _dirty_copies(tbl: pa.Table, rate: float, rng) -> pa.Table:
    """Stripe sync duplicates: exact copies of a fraction of the rows."""
    k = int(round(rate * tbl.num_rows))
    if not k:
        return tbl
    idx = np.sort(rng.choice(tbl.num_rows, size=k, replace=False))
    return pa.concat_tables([tbl, tbl.take(pa.array(idx))])


def _dirty_charges(tbl: pa.Table, rate: float, rng) -> pa.Table:
    """Charges: NULL ids, unknown currencies, sync duplicates (disjoint rows)."""
    n = tbl.num_rows
    k = int(round(rate * n))
    if not k:
        return tbl
    null_id, bad_cur, dup = _pick(rng, n, [k, k, k])
    ids = np.array(tbl["id"].to_pylist(), dtype=object)
    ids[null_id] = None
    cur = np.array(tbl["currency"].to_pylist(), dtype=object)
    cur[bad_cur] = np.array(_BAD_CURRENCIES_CHARGE, dtype=object)[rng.integers(0, 2, bad_cur.size)]
    tbl = tbl.set_column(0, "id", pa.array(ids.tolist(), pa.string()))
    tbl = tbl.set_column(tbl.schema.get_field_index("currency"), "currency", pa.array(cur.tolist(), pa.string()))
    return pa.concat_tables([tbl, tbl.take(pa.array(dup))])


# --------------------------------------------------------------------------------------
# CRM
# --------------------------------------------------------------------------------------
def _sf_ids(rng, prefix: str, n: int) -> list[str]:
    return _stripe_ids(rng, prefix, n, 8).to_pylist()


def _crm(g: _Generator) -> None:
    """Accounts per company; opportunities from billing events plus open/lost prospects."""
    rng = g.r_crm
    U = _Uniforms(rng)
    n_comp = g.n_companies
    E = g.t_end
    fx = g.seeds.fx
    acc_ids = _sf_ids(rng, "0015g00000", n_comp)
    # first user of each company, its acquisition channel and sign-up
    users = np.flatnonzero(g.company >= 0)
    first_user = np.full(n_comp, -1, dtype=np.int64)
    if users.size:
        order = users[np.argsort(g.user_number[users], kind="stable")]
        comp_sorted = g.company[order]
        _, idx = np.unique(comp_sorted, return_index=True)
        first_user[comp_sorted[idx]] = order[idx]
    emp = np.clip(np.exp(rng.normal(4.2, 1.4, n_comp)), 2, 25000).astype(np.int64)
    ind = rng.integers(0, len(_INDUSTRIES), n_comp)
    local_ccy = rng.random(n_comp) < 0.5
    accounts = []
    for c in range(n_comp):
        u = int(first_user[c])
        created = int(g.signup_ts[u]) + int(U.between(0.01, 3) * DAY)
        created = min(created, E - SEC)
        cust = g.customer_of_company.get(c)
        accounts.append((acc_ids[c], g.company_names[c], _INDUSTRIES[ind[c]], int(emp[c]), created,
                         g.customer_ids[cust - 1] if cust else None))
    g.tables["raw_crm.account"] = _sort_table(_rows_table("raw_crm.account", accounts), ["created_date"])

    def currency_of(c: int, billing_ccy: str) -> tuple[str, float]:
        """Opportunity currency (USD mostly) and the factor from the billing currency."""
        if billing_ccy == "usd" or not local_ccy[c]:
            return "USD", fx[billing_ccy.upper()] / fx["USD"]
        return billing_ccy.upper(), 1.0

    opps = []
    open_stages = ("Qualification", "Proposal", "Negotiation")
    for company, typ, outcome, amount, ccy, created, close, product, tier in g.crm_events:
        cur, factor = currency_of(company, ccy)
        if outcome == "won":
            stage, closed, won = "Closed Won", True, True
        elif outcome == "lost":
            stage, closed, won = "Closed Lost", True, False
        else:
            stage, closed, won = open_stages[int(U() * 3)], False, False
        lead = "Existing Customer" if typ != "new" else _LEAD_SOURCE[g.u_group[first_user[company]]]
        label = {"new": "New Business", "expansion": "Expansion", "renewal": "Renewal"}[typ]
        name = f"{g.company_names[company]} - {_PRODUCT_NAMES[product]} {tier.capitalize()} ({label})"
        opps.append([company, name, typ, stage, round(amount * factor, 2), cur, max(created, g.t0),
                     (close // DAY), closed, won, lead])
    # prospects: companies that never tried a paid plan, some with an opportunity
    in_billing = {e[0] for e in g.crm_events}
    for c in range(n_comp):
        if c in in_billing or U() >= 0.35:
            continue
        u = int(first_user[c])
        created = int(g.signup_ts[u]) + int(U.between(1, 20) * DAY)
        if created >= E:
            continue
        tier = _TIERS[int(g.intent_tier[u]) - 1]
        product = _PRODUCTS[int(g.main_product[u])]
        seats = {"starter": 1, "pro": 5, "enterprise": 20}[tier]
        amount = _BASE_PRICE[(product, tier)] * seats * 12.0
        close = created + int(U.between(10, 60) * DAY)
        if close < E and U() < 0.7:
            stage, closed = "Closed Lost", True
        else:
            stage, closed = ("Prospecting", *open_stages)[int(U() * 4)], False
            close = max(close, E + int(U.between(5, 60) * DAY))
        name = f"{g.company_names[c]} - {_PRODUCT_NAMES[product]} {tier.capitalize()} (New Business)"
        opps.append([c, name, "new", stage, round(amount, 2), "USD", created, close // DAY, closed, False,
                     _LEAD_SOURCE[g.u_group[u]]])
    opp_ids = _sf_ids(rng, "0065g00000", len(opps))
    rows = [(opp_ids[i], acc_ids[o[0]], *o[1:7], dt.date.fromordinal(_EPOCH.toordinal() + int(o[7])), *o[8:])
            for i, o in enumerate(opps)]
    g.tables["raw_crm.opportunity"] = _sort_table(_rows_table("raw_crm.opportunity", rows), ["created_date"])


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
def validate(users: int, start: dt.date, end: dt.date, dirty_rate: float) -> None:
    """Raise GenerateError (one readable line) for arguments a user got wrong."""
    if users < 1:
        raise GenerateError(f"--users must be at least 1 (got {users})")
    if end < start:
        raise GenerateError(f"--end {end} is before --start {start}")
    if not (0.0 <= dirty_rate <= MAX_DIRTY_RATE) or math.isnan(dirty_rate):
        raise GenerateError(f"--dirty-rate must be between 0 and {MAX_DIRTY_RATE} (got {dirty_rate})")
    if start.year < 1971:
        raise GenerateError(f"--start {start} is too early (1971-01-01 or later)")


def shard_sizes(users: int, shard_users: int = SHARD_USERS) -> list[int]:
    """Users per shard: as few shards as keep each at most `shard_users`, sizes within one."""
    k = max(1, -(-users // max(1, shard_users)))
    return [users // k + (1 if i < users % k else 0) for i in range(k)]


def generate_parts(seed: int, users: int, start: dt.date | str, end: dt.date | str, dirty_rate: float,
                   progress: Callable[[str], None] | None = None,
                   shard_users: int = SHARD_USERS) -> Iterator[dict[str, pa.Table]]:
    """Generate the raw tables shard by shard, so memory stays that of one shard.

    Yields one `{table name: rows}` dict per shard, then a last one with the ad spend;
    concatenating each table's parts in order gives the data set. Up to `shard_users`
    users it is one shard, exactly the tables `generate` returns. Beyond, each shard is an
    independent population of the same business (its own seed stream, `[seed, shard]`)
    over the same days: users, companies and QA customers are numbered after the earlier
    shards' (users in sign-up order within a shard), emails stay unique across shards,
    products and prices come once, and the ad spend rows (the same campaign-days in every
    shard) add up every shard's spend, impressions and clicks, so paid visits still come
    from clicks.
    """
    start, end = _as_date(start), _as_date(end)
    validate(int(users), start, end, float(dirty_rate))
    if int(shard_users) < 1:
        raise GenerateError(f"--shard-users must be at least 1 (got {shard_users})")
    sizes = shard_sizes(int(users), int(shard_users))
    report = progress or (lambda _name: None)
    offsets = _ShardOffsets()
    first: dict[str, pa.Table] = {}
    ads: list[pa.Table] = []
    for i, n in enumerate(sizes):
        gen = _Generator(shard_seed(int(seed), i), n, start, end, float(dirty_rate), offsets)
        tag = f"{i + 1}/{len(sizes)} " if len(sizes) > 1 else ""
        tables = gen.run(lambda name: report(tag + name))
        offsets.advance(gen)
        ads.append(tables.pop("raw_ads.ad_spend"))
        for name in _ONCE:
            if i == 0:
                first[name] = tables[name]
            elif not tables[name].equals(first[name]):
                raise RuntimeError(f"shard {i + 1} generated a different {name}")  # a generator bug
            else:
                del tables[name]
        del gen
        yield tables
        del tables
    yield {"raw_ads.ad_spend": _sum_ad_spend(ads)}


def shard_seed(seed: int, shard: int) -> int | list[int]:
    """The seed of shard `shard` (0-based): the data set's own for the first, so one shard is
    exactly the unsharded generation."""
    return seed if shard == 0 else [seed, shard]


_ONCE = ("raw_stripe.product", "raw_stripe.price")  # from the seeds: the same in every shard


def _sum_ad_spend(parts: list[pa.Table]) -> pa.Table:
    """One ad spend table from the shards': the same rows, metrics added (currency, and so
    its dirty 'ZZZ' rows, from the first shard)."""
    out = parts[0]
    if len(parts) == 1:
        return out
    keys = ["date", "platform", "account_id", "campaign_id"]
    cents = np.zeros(out.num_rows, dtype=np.int64)
    for other in parts:
        if not other.select(keys).equals(out.select(keys)):
            raise RuntimeError("shards generated different ad campaign days")  # a generator bug
        cents += np.rint(other["spend"].to_numpy() * 100).astype(np.int64)  # whole cents: no float drift
        if other is not out:
            for col in ("impressions", "clicks"):
                out = out.set_column(out.schema.get_field_index(col), col, pc.add(out[col], other[col]))
    return out.set_column(out.schema.get_field_index("spend"), "spend", pa.array(cents / 100, pa.float64()))


def generate(seed: int, users: int, start: dt.date | str, end: dt.date | str, dirty_rate: float,
             progress: Callable[[str], None] | None = None,
             shard_users: int = SHARD_USERS) -> dict[str, pa.Table]:
    """Generate every raw table of the contract, whole, in memory (`generate_parts` and
    `write_duckdb`/`write_parquet` of its parts keep memory to one shard).

    Args:
        seed: random seed; the same arguments always give identical tables.
        users: number of signed-up users (visitors are roughly ten times as many).
        start, end: first and last day (inclusive, UTC) of the data.
        dirty_rate: fraction of each dirty-row class per table (0 = perfectly clean).
        progress: called with each phase name as it starts.
        shard_users: most users generated together (see `generate_parts`).

    Returns:
        {"raw_segment.pages": pyarrow.Table, ...} in contract order, columns in contract
        order. Timestamps are naive `timestamp[us]` meaning UTC, dates `date32`. To keep
        10M events in a few GB, the string columns of the three Segment tables other than
        `id` are dictionary-encoded (`dictionary<int32, string>`); `write_duckdb` and
        `write_parquet` store them as plain strings, and `table.cast(arrow_schema(name))`
        gives the plain contract schema in memory.
    """
    pieces: dict[str, list[pa.Table]] = {}
    for part in generate_parts(seed, users, start, end, dirty_rate, progress, shard_users):
        for name, tbl in part.items():
            pieces.setdefault(name, []).append(tbl)
    return {name: pa.concat_tables(pieces[name]) if len(pieces[name]) > 1 else pieces[name][0]
            for name in CONTRACT}


def write_duckdb(tables: dict[str, pa.Table], path: str | os.PathLike) -> None:
    """Write the tables into a DuckDB file, replacing each table (CREATE OR REPLACE) and
    leaving every other schema and table in the file untouched. Column types are the
    contract's (VARCHAR, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP, DATE)."""
    write_duckdb_parts([tables], path)


def write_duckdb_parts(parts: Iterable[dict[str, pa.Table]], path: str | os.PathLike) -> None:
    """`write_duckdb` of the parts `generate_parts` yields, one part in memory at a time.

    Each table's parts go into a shadow table (`<schema>.__growthmesh_new_<table>`), one
    commit per part, so neither DuckDB nor Arrow keeps earlier parts in memory; once all
    are written, one transaction replaces the tables by their shadows. An interrupted
    write leaves the tables as they were (its shadows are dropped, here or by the next
    write)."""
    import duckdb

    con = duckdb.connect(str(path), config={"memory_limit": WRITE_MEMORY_LIMIT})
    shadows = {name: (name.split(".")[0], name.split(".")[1], f"{_SHADOW}{name.split('.')[1]}") for name in CONTRACT}

    def drop_shadows() -> None:
        left = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
                           "AND starts_with(table_name, ?)", [_SHADOW]).fetchall()
        for schema, shadow in left:
            con.execute(f'DROP TABLE "{schema}"."{shadow}"')

    try:
        drop_shadows()
        written: list[str] = []
        for tables in parts:
            con.execute("BEGIN TRANSACTION")
            for schema in sorted({shadows[name][0] for name in tables}):
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            for name, tbl in tables.items():
                schema, _, shadow = shadows[name]
                cols = ", ".join(f'CAST("{c}" AS {DUCKDB_TYPES[t]}) AS "{c}"' for c, t in CONTRACT[name])
                # record batches let DuckDB scan (and so insert) on all threads
                con.register("__growthmesh_src", pa.Table.from_batches(tbl.to_batches(max_chunksize=122_880), tbl.schema))
                if name in written:
                    con.execute(f'INSERT INTO "{schema}"."{shadow}" SELECT {cols} FROM __growthmesh_src')
                else:
                    con.execute(f'CREATE TABLE "{schema}"."{shadow}" AS SELECT {cols} FROM __growthmesh_src')
                    written.append(name)
                con.unregister("__growthmesh_src")
            con.execute("COMMIT")
            del tables, tbl  # before the next part is generated
        con.execute("BEGIN TRANSACTION")
        for name in written:
            schema, table, shadow = shadows[name]
            con.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
            con.execute(f'ALTER TABLE "{schema}"."{shadow}" RENAME TO "{table}"')
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass
        try:
            drop_shadows()
        except Exception:
            pass
        raise
    finally:
        con.close()


_SHADOW = "__growthmesh_new_"  # prefix of the tables a DuckDB write fills before it swaps them in


def write_parquet(tables: dict[str, pa.Table], folder: str | os.PathLike) -> None:
    """Write `<folder>/<schema>/<table>.parquet` (zstd): strings as STRING (dictionary
    columns are written as plain Parquet strings), timestamps as TIMESTAMP adjusted to UTC
    (timestamp[us, tz=UTC]) so BigQuery loads them as TIMESTAMP, dates as DATE.
    Byte-identical for equal input."""
    write_parquet_parts([tables], folder)


def write_parquet_parts(parts: Iterable[dict[str, pa.Table]], folder: str | os.PathLike) -> None:
    """`write_parquet` of the parts `generate_parts` yields, one part in memory at a time:
    each table's parts go to one file (one row group or more per part), and each file
    replaces the old one only once all parts are written."""
    folder = Path(folder)
    writers: dict[str, tuple[pq.ParquetWriter, pa.Schema, Path, Path]] = {}
    try:
        for tables in parts:
            for name, tbl in tables.items():
                if name not in writers:
                    schema, table = name.split(".")
                    out = folder / schema / f"{table}.parquet"
                    out.parent.mkdir(parents=True, exist_ok=True)
                    tmp = out.with_name(out.name + ".tmp")
                    fields = [pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
                              for f in tbl.schema]
                    # no stored Arrow schema: readers see the Parquet types (STRING, not dictionary)
                    target = pa.schema(fields)
                    writers[name] = (pq.ParquetWriter(tmp, target, compression="zstd", store_schema=False), target, tmp, out)
                writer, target, _, _ = writers[name]
                writer.write_table(tbl.cast(target))
            del tables, tbl  # before the next part is generated
        for writer, _, _, _ in writers.values():
            writer.close()
        for _, _, tmp, out in writers.values():
            os.replace(tmp, out)
    except BaseException:
        for writer, _, tmp, _ in writers.values():
            try:
                writer.close()
                tmp.unlink(missing_ok=True)
            except Exception:
                pass
        raise


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _date_arg(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="generate_data.py",
        description="Generate growthmesh's raw tables (Segment, Stripe, ads, CRM) into a DuckDB file "
                    "or a Parquet folder. Same arguments, same data.",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    p.add_argument("--users", type=int, default=DEFAULT_USERS,
                   help=f"signed-up users to simulate; ~50 track+page events each per year, ~10 visitors "
                        f"per user (default: {DEFAULT_USERS})")
    p.add_argument("--start", type=_date_arg, default=None, metavar="YYYY-MM-DD",
                   help="first day, UTC (default: --end minus 364 days)")
    p.add_argument("--end", type=_date_arg, default=None, metavar="YYYY-MM-DD",
                   help="last day, inclusive, UTC (default: yesterday)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="PATH",
                   help="a .duckdb file (its raw_* tables replaced, everything else kept) or else a folder "
                        f"for <schema>/<table>.parquet (default: {DEFAULT_OUT})")
    p.add_argument("--dirty-rate", type=float, default=DEFAULT_DIRTY_RATE, metavar="RATE",
                   help=f"fraction of rows per dirty-row class and table, 0 to {MAX_DIRTY_RATE}; "
                        f"0 = perfectly clean (default: {DEFAULT_DIRTY_RATE})")
    p.add_argument("--shard-users", type=int, default=SHARD_USERS, metavar="N",
                   help=f"generate at most N users at a time (default: {SHARD_USERS:,}, about 3.5 GB of "
                        "memory); more users are generated and written in shards, so memory stays that "
                        "of one shard")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    return p


def _fail(message: str) -> int:
    sys.stderr.write(f"generate_data.py: error: {message}\n")
    return 2


def _check_writable(out: Path, is_duckdb: bool) -> str | None:
    """Why `out` cannot be written, or None."""
    target_dir = out.parent if is_duckdb else out
    if out.exists() and (out.is_dir() if is_duckdb else not out.is_dir()):
        return f"--out {out} is a {'folder' if is_duckdb else 'file'}"
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot create {target_dir}: {e.strerror or e}"
    if not os.access(target_dir, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        return f"cannot write to {out}: permission denied"
    if is_duckdb and out.exists():  # fail before generating, not after: locked or not DuckDB
        import duckdb

        try:
            duckdb.connect(str(out)).close()
        except duckdb.Error as e:
            return f"cannot open {out}: {str(e).splitlines()[0]}"
    return None


def default_window(start: dt.date | None, end: dt.date | None,
                   today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The CLI's defaults: end = yesterday (UTC), start = end minus 364 days (a year)."""
    if end is None:
        today = today or dt.datetime.now(dt.timezone.utc).date()  # the only wall-clock read
        end = today - dt.timedelta(days=1)
    return (start or end - dt.timedelta(days=364)), end


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    start, end = default_window(args.start, args.end)
    try:
        validate(args.users, start, end, args.dirty_rate)
    except GenerateError as e:
        return _fail(str(e))
    if args.shard_users < 1:
        return _fail(f"--shard-users must be at least 1 (got {args.shard_users})")
    out = Path(args.out)
    is_duckdb = out.suffix == ".duckdb"
    problem = _check_writable(out, is_duckdb)
    if problem:
        return _fail(problem)

    from tqdm import tqdm

    t_start = time.perf_counter()
    n_shards = len(shard_sizes(args.users, args.shard_users))
    bar = tqdm(total=len(PHASES) * n_shards, unit="phase", file=sys.stderr, disable=args.quiet, leave=False,
               bar_format="{desc:<18} {bar} {n_fmt}/{total_fmt} [{elapsed}]")
    seen: list[str] = []

    def phase(name: str) -> None:
        bar.set_description_str(name, refresh=False)
        if seen:
            bar.update(1)
        else:
            bar.refresh()
        seen.append(name)

    rows = dict.fromkeys(CONTRACT, 0)

    def parts() -> Iterator[dict[str, pa.Table]]:
        shard = 0
        for part in generate_parts(args.seed, args.users, start, end, args.dirty_rate, progress=phase,
                                   shard_users=args.shard_users):
            shard += 1
            if shard <= n_shards:
                phase(f"{shard}/{n_shards} write" if n_shards > 1 else "write")
            for name, tbl in part.items():
                rows[name] += tbl.num_rows
            yield part
            del part, tbl  # before the next part is generated

    try:
        (write_duckdb_parts if is_duckdb else write_parquet_parts)(parts(), out)
        bar.update(1)
    except GenerateError as e:
        bar.close()
        return _fail(str(e))
    except OSError as e:
        bar.close()
        return _fail(f"cannot write {out}: {e.strerror or e}")
    except Exception as e:
        import duckdb

        if isinstance(e, duckdb.Error):  # e.g. the file is locked by another process
            bar.close()
            return _fail(f"cannot write {out}: {str(e).splitlines()[0]}")
        raise
    bar.close()
    width = max(len(n) for n in rows)
    for name, count in rows.items():
        print(f"{name:<{width}}  {count:>12,} rows")
    shards = f", {n_shards} shards" if n_shards > 1 else ""
    print(f"{'total':<{width}}  {sum(rows.values()):>12,} rows in "
          f"{time.perf_counter() - t_start:.1f} s -> {out} ({start} .. {end}, seed {args.seed}{shards})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
