/* Stripe subscriptions, versioned (SCD type 2): one row per subscription version of
   staging.stg_stripe__subscription_history (live mode only: test-mode rows never reach
   staging). A version is in force over [valid_from, valid_to); valid_to is the next
   version's valid_from, NULL for the current version. Each version carries its price
   (staging.stg_stripe__price: plan, tier, billing interval, monthly amount per unit) and
   product, and the customer's app user (the primary 'stripe_customer' link of
   staging.stg_identity_map, NULL when unlinked).
   MRR (DESIGN.md): the price normalised to a month (year / 12, week x 52 / 12, day x 365 / 12,
   / interval count) x quantity, for versions whose status is in @VAR('mrr_statuses')
   (default active, past_due: trialing excluded), else 0. mrr is in the price's currency,
   mrr_usd in US dollars through seeds.fx_rates; both rounded to the cent here only. */
MODEL (
  name revenue.dim_subscriptions,
  kind FULL,
  grain (subscription_id, valid_from),
  clustered_by (subscription_id, customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'dim_subscriptions')]),
  audits (
    unique_combination_of_columns(columns := (subscription_id, valid_from)),
    not_null(columns := (subscription_id, valid_from, is_current, customer_id, price_id, product_id, status, quantity, cancel_at_period_end, currency, is_mrr_status, mrr, mrr_usd)),
    accepted_range(column := mrr, min_v := 0),
    accepted_range(column := mrr_usd, min_v := 0),
    accepted_range(column := quantity, min_v := 0),
    subscription_versions_do_not_overlap
  )
);

WITH users AS (
  @stripe_customer_users()
)
SELECT
  sh.subscription_id::STRING AS subscription_id, /* Stripe subscription id */
  sh.valid_from::TIMESTAMP AS valid_from, /* this version is in force from here (inclusive), UTC */
  sh.valid_to::TIMESTAMP AS valid_to, /* ... until here (exclusive): the next version's valid_from; NULL for the current version */
  sh.is_current::BOOL AS is_current, /* the subscription's latest version */
  sh.customer_id::STRING AS customer_id, /* Stripe customer id */
  u.user_id::STRING AS user_id, /* app user of the customer (primary stripe_customer link of staging.stg_identity_map), NULL when unlinked */
  p.product_id::STRING AS product_id, /* Stripe product id */
  prod.product_name::STRING AS product_name, /* product name, e.g. Insights */
  sh.price_id::STRING AS price_id, /* the price billed in this version */
  p.price_nickname::STRING AS plan, /* price nickname, e.g. insights_pro_monthly_usd */
  p.tier::STRING AS tier, /* starter | pro | enterprise (seeds.plan_tiers); NULL for a price not in the seed */
  p.tier_rank::INT64 AS tier_rank, /* 1 = starter ... 3 = enterprise; higher is an upgrade */
  p.recurring_interval::STRING AS billing_interval, /* day | week | month | year */
  p.recurring_interval_count::INT64 AS billing_interval_count, /* billed every N intervals */
  sh.quantity::INT64 AS quantity, /* seats billed */
  sh.status::STRING AS status, /* trialing | active | past_due | canceled | unpaid | incomplete, in this version */
  sh.cancel_at_period_end::BOOL AS cancel_at_period_end, /* a cancellation is scheduled for the end of the billing period */
  sh.canceled_at::TIMESTAMP AS canceled_at, /* when the cancellation was requested, UTC */
  sh.ended_at::TIMESTAMP AS ended_at, /* when the subscription ended, UTC */
  sh.trial_start::TIMESTAMP AS trial_start, /* trial start, UTC */
  sh.trial_end::TIMESTAMP AS trial_end, /* trial end, UTC */
  sh.created_at::TIMESTAMP AS created_at, /* when the subscription was created, UTC */
  sh.current_period_start::TIMESTAMP AS current_period_start, /* start of the billing period of this version, UTC */
  sh.current_period_end::TIMESTAMP AS current_period_end, /* end of the billing period of this version, UTC */
  p.currency::STRING AS currency, /* the price's currency, upper-case ISO code */
  p.unit_mrr_usd::FLOAT64 AS unit_mrr_usd, /* the price's monthly recurring amount per unit in USD, unrounded (a rate, not money): compares prices */
  @in_list(sh.status, @VAR('mrr_statuses'))::BOOL AS is_mrr_status, /* the status carries MRR (variable mrr_statuses) */
  IF(@in_list(sh.status, @VAR('mrr_statuses')), ROUND(p.unit_mrr * sh.quantity, 2), 0)::FLOAT64 AS mrr, /* monthly recurring revenue in the price's currency: unit monthly amount x quantity when the status carries MRR, else 0 */
  IF(@in_list(sh.status, @VAR('mrr_statuses')), ROUND(p.unit_mrr_usd * sh.quantity, 2), 0)::FLOAT64 AS mrr_usd /* ... in USD: ROUND(unit_mrr_usd x quantity, 2) when the status carries MRR, else 0 */
FROM staging.stg_stripe__subscription_history AS sh
LEFT JOIN staging.stg_stripe__price AS p
  ON p.price_id = sh.price_id
LEFT JOIN staging.stg_stripe__product AS prod
  ON prod.product_id = p.product_id
LEFT JOIN users AS u
  ON u.customer_id = sh.customer_id
