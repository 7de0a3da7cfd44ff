"""pytest for scripts/generate_data.py: determinism, the raw contract's shape, dirty rows
at the requested rate, realistic behaviour, and the CLI's errors."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_data.py"

_spec = importlib.util.spec_from_file_location("generate_data", SCRIPT)
gd = importlib.util.module_from_spec(_spec)
sys.modules["generate_data"] = gd
_spec.loader.exec_module(gd)

SMALL = dict(seed=7, users=300, start="2024-03-01", end="2024-04-29")
YEAR = dict(seed=11, users=2000, start="2024-01-01", end="2024-12-31")
DIRTY = 0.05


@pytest.fixture(scope="module")
def small_dirty():
    return gd.generate(dirty_rate=DIRTY, **SMALL)


@pytest.fixture(scope="module")
def year_clean():
    return gd.generate(dirty_rate=0.0, **YEAR)


@pytest.fixture(scope="module")
def year_dirty():
    return gd.generate(dirty_rate=DIRTY, **YEAR)


def _con(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with each raw table as a view named schema__table."""
    con = duckdb.connect()
    for name, tbl in tables.items():
        con.register(name.replace(".", "__"), tbl)
    return con


def _one(con, sql: str):
    return con.execute(sql).fetchone()


# ------------------------------------------------------------------------- determinism
def test_same_arguments_give_identical_tables(small_dirty):
    again = gd.generate(dirty_rate=DIRTY, **SMALL)
    assert list(again) == list(small_dirty)
    for name in small_dirty:
        assert again[name].equals(small_dirty[name]), name


def test_parquet_output_is_byte_identical(small_dirty, tmp_path):
    gd.write_parquet(small_dirty, tmp_path / "a")
    gd.write_parquet(gd.generate(dirty_rate=DIRTY, **SMALL), tmp_path / "b")
    for name in gd.CONTRACT:
        schema, table = name.split(".")
        a = (tmp_path / "a" / schema / f"{table}.parquet").read_bytes()
        b = (tmp_path / "b" / schema / f"{table}.parquet").read_bytes()
        assert a == b, name


def test_parquet_types_load_as_bigquery_types(small_dirty, tmp_path):
    gd.write_parquet(small_dirty, tmp_path)
    expected = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(), "BOOL": pa.bool_(),
                "TIMESTAMP": pa.timestamp("us", tz="UTC"), "DATE": pa.date32()}
    for name, columns in gd.CONTRACT.items():
        schema, table = name.split(".")
        read = pq.read_schema(tmp_path / schema / f"{table}.parquet")
        assert [(f.name, f.type) for f in read] == [(c, expected[t]) for c, t in columns], name


def test_different_seed_gives_different_data(small_dirty):
    other = gd.generate(dirty_rate=DIRTY, **{**SMALL, "seed": SMALL["seed"] + 1})
    assert not other["raw_segment.tracks"].equals(small_dirty["raw_segment.tracks"])
    assert not other["raw_stripe.customer"].equals(small_dirty["raw_stripe.customer"])


# ---------------------------------------------------------------------------- contract
def _contract_from_yaml() -> dict[str, list[tuple[str, str]]]:
    models = yaml.safe_load((ROOT / "external_models.yaml").read_text())
    return {m["name"]: list(m["columns"].items()) for m in models}


def test_generator_contract_is_external_models_yaml():
    assert gd.CONTRACT == _contract_from_yaml()


def test_duckdb_tables_have_the_contract_columns_and_types(small_dirty, tmp_path):
    path = tmp_path / "raw.duckdb"
    gd.write_duckdb(small_dirty, path)
    duck = {"STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "BOOL": "BOOLEAN",
            "TIMESTAMP": "TIMESTAMP", "DATE": "DATE"}
    con = duckdb.connect(str(path), read_only=True)
    for name, columns in _contract_from_yaml().items():
        schema, table = name.split(".")
        got = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]
        ).fetchall()
        assert got == [(c, duck[t]) for c, t in columns], name
        assert _one(con, f"SELECT COUNT(*) FROM {name}")[0] == small_dirty[name].num_rows, name
    con.close()


def test_every_table_has_rows_and_casts_to_the_plain_contract_schema(small_dirty):
    for name, tbl in small_dirty.items():
        assert tbl.num_rows > 0, name
        assert tbl.cast(gd.arrow_schema(name)).schema == gd.arrow_schema(name), name


# -------------------------------------------------------------------------- dirty rows
def test_rate_zero_is_perfectly_clean(year_clean):
    con = _con(year_clean)
    for t in ("raw_segment__pages", "raw_segment__tracks", "raw_segment__identifies"):
        n, ids, distinct = _one(con, f"SELECT COUNT(*), COUNT(id), COUNT(DISTINCT id) FROM {t}")
        assert n == ids == distinct, t
        bad_time = _one(con, f"""SELECT COUNT(*) FROM {t} WHERE timestamp < TIMESTAMP '2000-01-01'
            OR received_at < timestamp OR received_at > timestamp + INTERVAL 15 MINUTE
            OR timestamp >= TIMESTAMP '2025-01-01' OR timestamp < TIMESTAMP '2024-01-01'""")[0]
        assert bad_time == 0, t
        assert _one(con, f"SELECT COUNT(*) FROM {t} WHERE user_id IS NULL AND anonymous_id IS NULL")[0] == 0, t
    assert _one(con, "SELECT COUNT(*) FROM raw_segment__tracks WHERE sent_at < timestamp OR sent_at > received_at")[0] == 0
    events = {r["event"] for r in gd._read_csv("feature_catalog.csv")}
    got = {r[0] for r in con.execute("SELECT DISTINCT event FROM raw_segment__tracks").fetchall()}
    assert got <= events
    for (props,) in con.execute("SELECT DISTINCT properties FROM raw_segment__tracks").fetchall():
        json.loads(props)
    amounts = con.execute("""SELECT DISTINCT json_extract(properties, '$.amount') FROM raw_segment__tracks
        WHERE event IN ('credits_earned', 'credits_spent')""").fetchall()
    assert all(a is not None and 0 < int(a) < 1_000_000 for (a,) in amounts)
    assert _one(con, "SELECT COUNT(*) - COUNT(DISTINCT id), COUNT(*) - COUNT(id) FROM raw_stripe__charge") == (0, 0)
    assert _one(con, "SELECT COUNT(*) - COUNT(DISTINCT id) FROM raw_stripe__customer")[0] == 0
    assert {r[0] for r in con.execute("SELECT DISTINCT currency FROM raw_stripe__charge").fetchall()} <= {"usd", "eur", "gbp"}
    assert {r[0] for r in con.execute("SELECT DISTINCT currency FROM raw_ads__ad_spend").fetchall()} <= {"USD", "EUR"}


def _fraction_ok(count: int, total: int, rate: float = DIRTY) -> bool:
    return total > 0 and 0.5 * rate <= count / total <= 1.5 * rate


def test_dirty_classes_present_at_the_requested_rate(year_dirty):
    con = _con(year_dirty)
    for t in ("raw_segment__pages", "raw_segment__tracks", "raw_segment__identifies"):
        n = _one(con, f"SELECT COUNT(*) FROM {t}")[0]
        assert _fraction_ok(_one(con, f"SELECT COUNT(*) FROM {t} WHERE id IS NULL")[0], n), t
        # duplicate deliveries: same id and timestamp, received 1 s - 6 h later
        dups = _one(con, f"""SELECT COUNT(*) FROM (SELECT id, timestamp, MIN(received_at) first_rec,
            MAX(received_at) last_rec, COUNT(*) c FROM {t} WHERE id IS NOT NULL GROUP BY ALL HAVING c > 1)
            WHERE last_rec - first_rec BETWEEN INTERVAL 1 SECOND AND INTERVAL 6 HOUR""")[0]
        assert _fraction_ok(dups, n), t
        assert _one(con, f"SELECT COUNT(*) - COUNT(DISTINCT (id, timestamp)) FROM {t} WHERE id IS NOT NULL")[0] == dups, t
    for t in ("raw_segment__pages", "raw_segment__tracks"):
        n = _one(con, f"SELECT COUNT(*) FROM {t}")[0]
        checks = {
            "no identity": "user_id IS NULL AND anonymous_id IS NULL",
            "late": "received_at - timestamp BETWEEN INTERVAL 2 DAY AND INTERVAL 20 DAY",
            "epoch": "timestamp = TIMESTAMP '1970-01-01 00:00:00'",
            "future": "timestamp - received_at BETWEEN INTERVAL 30 DAY AND INTERVAL 1500 DAY",
        }
        for label, cond in checks.items():
            assert _fraction_ok(_one(con, f"SELECT COUNT(*) FROM {t} WHERE {cond}")[0], n), (t, label)
    n = _one(con, "SELECT COUNT(*) FROM raw_segment__tracks")[0]
    malformed = _one(con, "SELECT COUNT(*) FROM raw_segment__tracks WHERE NOT json_valid(properties)")[0]
    assert _fraction_ok(malformed, n)
    events = tuple(r["event"] for r in gd._read_csv("feature_catalog.csv"))
    unknown = _one(con, f"SELECT COUNT(*) FROM raw_segment__tracks WHERE event NOT IN {events}")[0]
    assert _fraction_ok(unknown, n)
    credits, bad = _one(con, """SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT (TRY_CAST(json_extract_string(properties, '$.amount') AS DOUBLE)
        BETWEEN 0 AND 1e9) OR TRY_CAST(json_extract_string(properties, '$.amount') AS DOUBLE) IS NULL)
        FROM raw_segment__tracks WHERE event IN ('credits_earned', 'credits_spent') AND json_valid(properties)""")
    assert _fraction_ok(bad, credits)
    # charges: missing ids, unknown currencies, sync duplicates
    n, null_ids, bad_ccy = _one(con, """SELECT COUNT(*), COUNT(*) - COUNT(id),
        COUNT(*) FILTER (WHERE currency IN ('xxx', 'btc')) FROM raw_stripe__charge""")
    assert _fraction_ok(null_ids, n) and _fraction_ok(bad_ccy, n)
    assert _fraction_ok(_one(con, "SELECT COUNT(id) - COUNT(DISTINCT id) FROM raw_stripe__charge")[0], n)
    n, dup = _one(con, "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT id) FROM raw_stripe__customer")
    assert _fraction_ok(dup, n)
    exact = _one(con, "SELECT COUNT(*) FROM (SELECT DISTINCT * FROM raw_stripe__customer)")[0]
    assert exact == n - dup  # sync duplicates are exact copies
    n, zzz = _one(con, "SELECT COUNT(*), COUNT(*) FILTER (WHERE currency = 'ZZZ') FROM raw_ads__ad_spend")
    assert _fraction_ok(zzz, n)


# -------------------------------------------------------------------------- behaviour
def test_anonymous_page_views_precede_signup(year_clean):
    con = _con(year_clean)
    users, with_pages, after = _one(con, """
        WITH signup AS (SELECT user_id, MIN(timestamp) AS t FROM raw_segment__tracks WHERE event = 'signed_up' GROUP BY 1),
        links AS (SELECT DISTINCT anonymous_id, user_id FROM raw_segment__identifies),
        anon AS (SELECT l.user_id, MIN(p.timestamp) AS t FROM raw_segment__pages p JOIN links l USING (anonymous_id)
                 WHERE p.user_id IS NULL GROUP BY 1)
        SELECT COUNT(*), COUNT(anon.t), COUNT(*) FILTER (WHERE anon.t >= signup.t)
        FROM signup LEFT JOIN anon USING (user_id)""")
    assert with_pages == users and after == 0
    n_users = _one(con, "SELECT COUNT(DISTINCT user_id) FROM raw_segment__identifies")[0]
    assert n_users == YEAR["users"]
    assert 0.96 <= users / n_users < 1.0  # ~2% of users have no signed_up event


def test_signup_rate_and_second_devices(year_clean):
    con = _con(year_clean)
    visitors = _one(con, "SELECT COUNT(DISTINCT anonymous_id) FROM raw_segment__pages WHERE user_id IS NULL")[0]
    assert 0.05 <= YEAR["users"] / visitors <= 0.16
    multi = _one(con, """SELECT COUNT(*) FROM (SELECT user_id FROM raw_segment__identifies
        GROUP BY 1 HAVING COUNT(DISTINCT anonymous_id) > 1)""")[0]
    assert multi > 0.1 * YEAR["users"]
    mobile = _one(con, "SELECT COUNT(DISTINCT user_id) FROM raw_segment__tracks WHERE context_device_type IN ('ios', 'android')")[0]
    assert 0.1 * YEAR["users"] < mobile < 0.4 * YEAR["users"]


def test_activation_mostly_within_days_some_later_some_never(year_clean):
    con = _con(year_clean)
    key = tuple(r["event"] for r in gd._read_csv("feature_catalog.csv") if r["is_key_action"] == "true")
    fast, late, never = _one(con, f"""
        WITH s AS (SELECT user_id, MIN(timestamp) t FROM raw_segment__tracks WHERE event = 'signed_up' GROUP BY 1),
        a AS (SELECT user_id, MIN(timestamp) t FROM raw_segment__tracks WHERE event IN {key} GROUP BY 1)
        SELECT AVG((a.t < s.t + INTERVAL 14 DAY)::INT), AVG((a.t >= s.t + INTERVAL 14 DAY)::INT), AVG((a.t IS NULL)::INT)
        FROM s LEFT JOIN a USING (user_id)""")
    assert fast > 0.5 and late > 0.02 and never > 0.1


def test_resurrection_credits_and_weekly_seasonality(year_clean):
    con = _con(year_clean)
    resurrected = _one(con, """WITH d AS (SELECT DISTINCT user_id, CAST(timestamp AS DATE) AS day
            FROM raw_segment__tracks WHERE user_id IS NOT NULL),
        g AS (SELECT user_id, day - LAG(day) OVER (PARTITION BY user_id ORDER BY day) AS gap FROM d)
        SELECT COUNT(DISTINCT user_id) FROM g WHERE gap >= 30""")[0]
    assert resurrected > 0.05 * YEAR["users"]
    negative, spenders = _one(con, """WITH c AS (SELECT user_id, SUM(CASE event WHEN 'credits_earned' THEN 1 ELSE -1 END
            * CAST(json_extract(properties, '$.amount') AS BIGINT)) AS balance
            FROM raw_segment__tracks WHERE event LIKE 'credits_%' GROUP BY 1)
        SELECT COUNT(*) FILTER (WHERE balance < 0), COUNT(*) FROM c""")
    assert 0 < negative < 0.2 * spenders
    weekday, weekend = _one(con, """WITH d AS (SELECT CAST(timestamp AS DATE) AS day, COUNT(*) AS n FROM raw_segment__tracks GROUP BY 1)
        SELECT AVG(n) FILTER (WHERE isodow(day) <= 5), AVG(n) FILTER (WHERE isodow(day) > 5) FROM d""")
    assert weekend < 0.8 * weekday
    # enterprise and pro users use workflows/integrations more than free users
    by_plan = dict(con.execute("""WITH paid AS (SELECT DISTINCT json_extract_string(properties, '$.plan') AS plan, user_id
            FROM raw_segment__tracks WHERE event = 'checkout_completed')
        SELECT COALESCE(p.plan, 'free'), AVG((t.event IN ('workflow_run', 'data_synced'))::INT)
        FROM raw_segment__tracks t LEFT JOIN paid p USING (user_id) GROUP BY 1""").fetchall())
    assert by_plan["enterprise"] > by_plan["free"] and by_plan["pro"] > by_plan["free"]


def test_ad_spend_matches_paid_visits(year_clean):
    con = _con(year_clean)
    landings, unmatched = _one(con, """
        WITH paid AS (SELECT CAST(timestamp AS DATE) AS day, context_campaign_source AS src, context_campaign_name AS camp
                      FROM raw_segment__pages WHERE context_campaign_medium IN ('cpc', 'paid_social'))
        SELECT COUNT(*), COUNT(*) FILTER (WHERE a.date IS NULL)
        FROM paid LEFT JOIN raw_ads__ad_spend a ON a.date = paid.day AND a.utm_source = paid.src AND a.utm_campaign = paid.camp""")
    assert landings > 0 and unmatched == 0
    corr, ratio = _one(con, """
        WITH v AS (SELECT CAST(timestamp AS DATE) AS day, context_campaign_name AS camp, COUNT(*) AS visits
                   FROM raw_segment__pages WHERE context_campaign_medium IN ('cpc', 'paid_social') GROUP BY ALL)
        SELECT CORR(COALESCE(v.visits, 0), a.clicks), SUM(v.visits) / SUM(a.clicks)
        FROM raw_ads__ad_spend a LEFT JOIN v ON v.day = a.date AND v.camp = a.utm_campaign""")
    assert corr > 0.8 and 0.7 < ratio < 0.95
    ctr_min, ctr_max, platforms, currencies = _one(con, """SELECT MIN(ctr), MAX(ctr), COUNT(DISTINCT platform), LIST(DISTINCT currency ORDER BY currency)
        FROM (SELECT platform, currency, SUM(clicks) / SUM(impressions) AS ctr FROM raw_ads__ad_spend GROUP BY ALL)""")
    assert 0.008 <= ctr_min and ctr_max <= 0.045 and platforms == 3 and currencies == ["EUR", "USD"]


def test_billing_lifecycle_has_every_movement(year_clean):
    con = _con(year_clean)
    status = dict(con.execute("SELECT status, COUNT(*) FROM raw_stripe__subscription_history GROUP BY 1").fetchall())
    assert {"trialing", "active", "past_due", "canceled"} <= set(status)
    tiers = dict(con.execute("SELECT price_nickname, tier_rank FROM read_csv_auto(?)", [str(ROOT / "seeds" / "plan_tiers.csv")]).fetchall())
    con.register("tiers", pa.table({"price_id": [f"price_{k}" for k in tiers], "rank": list(tiers.values())}))
    ups, downs, qty, scheduled, undone = _one(con, """
        WITH v AS (SELECT s.*, t.rank, LAG(t.rank) OVER w AS prev_rank, LAG(quantity) OVER w AS prev_qty,
                          LAG(cancel_at_period_end) OVER w AS prev_capn
                   FROM raw_stripe__subscription_history s JOIN tiers t USING (price_id) WINDOW w AS (PARTITION BY id ORDER BY updated_at))
        SELECT COUNT(*) FILTER (WHERE rank > prev_rank), COUNT(*) FILTER (WHERE rank < prev_rank),
               COUNT(*) FILTER (WHERE rank = prev_rank AND quantity <> prev_qty),
               COUNT(*) FILTER (WHERE cancel_at_period_end AND NOT prev_capn),
               COUNT(*) FILTER (WHERE prev_capn AND NOT cancel_at_period_end AND status <> 'canceled') FROM v""")
    assert ups > 0 and downs > 0 and qty > 0 and scheduled > 0 and undone > 0
    # trials convert 50-65%
    converted = _one(con, """WITH t AS (SELECT id, MAX((status = 'active')::INT) AS paid, MAX(trial_end) AS te
            FROM raw_stripe__subscription_history WHERE livemode GROUP BY 1 HAVING MAX(trial_start) IS NOT NULL)
        SELECT AVG(paid) FROM t WHERE te < TIMESTAMP '2024-12-31'""")[0]
    assert 0.45 <= converted <= 0.7
    # reactivation: a customer whose subscription ended starts another one 30+ days later
    react = _one(con, """WITH s AS (SELECT customer_id, id, MIN(updated_at) AS started, MAX(ended_at) AS ended
            FROM raw_stripe__subscription_history GROUP BY 1, 2)
        SELECT COUNT(*) FROM s a JOIN s b ON a.customer_id = b.customer_id AND b.started >= a.ended + INTERVAL 30 DAY""")[0]
    assert react > 0
    # a scheduled cancellation ends as a canceled version with canceled_at and ended_at
    assert _one(con, """SELECT COUNT(*) FROM raw_stripe__subscription_history
        WHERE status = 'canceled' AND cancel_at_period_end AND canceled_at < ended_at""")[0] > 0
    # second products
    assert _one(con, """SELECT COUNT(*) FROM (SELECT customer_id FROM raw_stripe__subscription_history
        GROUP BY 1 HAVING COUNT(DISTINCT id) > 1)""")[0] > 0
    # seats by tier
    bad_qty = _one(con, """SELECT COUNT(*) FROM raw_stripe__subscription_history WHERE
        (price_id LIKE '%_starter_%' AND quantity <> 1) OR (price_id LIKE '%_pro_%' AND quantity NOT BETWEEN 1 AND 10)
        OR (price_id LIKE '%_enterprise_%' AND quantity NOT BETWEEN 5 AND 50)""")[0]
    assert bad_qty == 0


def test_invoices_and_charges(year_clean):
    con = _con(year_clean)
    end = "TIMESTAMP '2025-01-01'"
    for t, col in (("raw_stripe__invoice", "created"), ("raw_stripe__charge", "created"),
                   ("raw_stripe__subscription_history", "updated_at")):
        assert _one(con, f"SELECT COUNT(*) FROM {t} WHERE {col} >= {end}")[0] == 0, t
    assert _one(con, "SELECT COUNT(*) FROM raw_stripe__invoice WHERE total <> subtotal + tax")[0] == 0
    # EU (EUR) invoices carry 20% tax, others none
    assert _one(con, """SELECT COUNT(*) FROM raw_stripe__invoice WHERE
        (currency = 'eur' AND tax <> ROUND(subtotal * 0.2)) OR (currency <> 'eur' AND tax <> 0)""")[0] == 0
    # a period's invoice bills the version that starts the period: unit_amount x quantity
    mismatched = _one(con, """SELECT COUNT(*) FROM raw_stripe__invoice i
        JOIN raw_stripe__subscription_history s ON s.id = i.subscription_id AND s.updated_at = i.created
        JOIN raw_stripe__price p ON p.id = s.price_id
        WHERE i.billing_reason = 'subscription_cycle' AND i.subtotal <> p.unit_amount * s.quantity""")[0]
    assert mismatched == 0
    succeeded, failed, refunded_full, refunded_part = _one(con, """SELECT AVG((status = 'succeeded')::INT),
        COUNT(*) FILTER (WHERE status = 'failed' AND failure_code IN ('card_declined', 'insufficient_funds', 'expired_card')),
        COUNT(*) FILTER (WHERE refunded AND amount_refunded = amount),
        COUNT(*) FILTER (WHERE NOT refunded AND amount_refunded BETWEEN 1 AND amount - 1) FROM raw_stripe__charge""")
    assert 0.85 <= succeeded <= 0.97 and failed > 0 and refunded_full > 0 and refunded_part > 0
    # a failed charge is usually retried successfully days later
    retried = _one(con, """SELECT AVG(ok::INT) FROM (SELECT f.id, BOOL_OR(s.created > f.created + INTERVAL 2 DAY) AS ok
        FROM raw_stripe__charge f LEFT JOIN raw_stripe__charge s ON s.invoice_id = f.invoice_id AND s.status = 'succeeded'
        WHERE f.status = 'failed' GROUP BY 1)""")[0]
    assert retried > 0.5
    # the whole test customer is test data
    live = dict(con.execute("SELECT livemode, COUNT(*) FROM raw_stripe__customer GROUP BY 1").fetchall())
    assert live.get(False, 0) > 0 and live[False] / (live[False] + live[True]) < 0.05
    mixed = _one(con, """SELECT COUNT(*) FROM raw_stripe__charge ch JOIN raw_stripe__customer c ON c.id = ch.customer_id
        WHERE ch.livemode <> c.livemode""")[0]
    assert mixed == 0


def test_customers_link_to_users_by_metadata_or_messy_email(year_clean):
    con = _con(year_clean)
    n, with_uid, email_only_matched, email_differs = _one(con, """
        WITH c AS (SELECT id, email, json_extract_string(metadata, '$.user_id') AS uid FROM raw_stripe__customer WHERE livemode),
        i AS (SELECT DISTINCT email, user_id FROM raw_segment__identifies)
        SELECT COUNT(*), COUNT(uid),
               COUNT(*) FILTER (WHERE uid IS NULL AND EXISTS (SELECT 1 FROM i WHERE LOWER(TRIM(i.email)) = LOWER(TRIM(c.email)))),
               COUNT(*) FILTER (WHERE uid IS NULL AND NOT EXISTS (SELECT 1 FROM i WHERE i.email = c.email))
        FROM c""")
    assert 0.8 < with_uid / n < 0.96
    assert email_only_matched == n - with_uid == email_differs
    # a metadata user_id is a real user
    assert _one(con, """SELECT COUNT(*) FROM raw_stripe__customer c WHERE livemode AND json_extract_string(metadata, '$.user_id')
        NOT IN (SELECT user_id FROM raw_segment__identifies)""")[0] == 0
    ids = [r[0] for r in con.execute("SELECT id FROM raw_stripe__customer LIMIT 5").fetchall()]
    assert all(i.startswith("cus_") for i in ids)


def test_crm_is_consistent(year_clean):
    con = _con(year_clean)
    assert _one(con, """SELECT COUNT(*) FROM raw_crm__opportunity WHERE
        is_closed <> (stage_name IN ('Closed Won', 'Closed Lost')) OR is_won <> (stage_name = 'Closed Won')""")[0] == 0
    types = {r[0] for r in con.execute("SELECT DISTINCT type FROM raw_crm__opportunity").fetchall()}
    assert types == {"new", "expansion", "renewal"}
    linked, accounts, bad = _one(con, """SELECT COUNT(stripe_customer_id), COUNT(*),
        COUNT(*) FILTER (WHERE stripe_customer_id IS NOT NULL AND stripe_customer_id NOT IN (SELECT id FROM raw_stripe__customer))
        FROM raw_crm__account""")
    assert 0 < linked < accounts and bad == 0
    assert _one(con, "SELECT COUNT(*) FROM raw_crm__opportunity WHERE account_id NOT IN (SELECT id FROM raw_crm__account)")[0] == 0
    usd = _one(con, "SELECT AVG((currency = 'USD')::INT) FROM raw_crm__opportunity")[0]
    assert usd > 0.6


def test_other_schemas_and_reruns_are_safe(tmp_path):
    path = tmp_path / "db.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA sqlmesh_state; CREATE TABLE sqlmesh_state.keep AS SELECT 1 AS x")
    con.close()
    tables = gd.generate(seed=1, users=50, start="2024-05-01", end="2024-05-20", dirty_rate=0.01)
    gd.write_duckdb(tables, path)
    gd.write_duckdb(tables, path)
    con = duckdb.connect(str(path), read_only=True)
    assert _one(con, "SELECT COUNT(*) FROM raw_segment.tracks")[0] == tables["raw_segment.tracks"].num_rows
    assert _one(con, "SELECT x FROM sqlmesh_state.keep")[0] == 1
    con.close()


def test_tiny_inputs_work():
    tables = gd.generate(seed=3, users=1, start="2024-06-01", end="2024-06-01", dirty_rate=0.5)
    assert tables["raw_segment.identifies"].num_rows >= 1
    for name, tbl in tables.items():
        assert [f.name for f in tbl.schema] == [c for c, _ in gd.CONTRACT[name]]


# ------------------------------------------------------------------------------ shards
SHARDED = dict(seed=5, users=900, start="2024-01-01", end="2024-06-30", dirty_rate=0.02)


@pytest.fixture(scope="module")
def sharded_parts():
    return list(gd.generate_parts(shard_users=300, **SHARDED))


def test_shard_sizes_are_even_and_within_the_limit():
    assert gd.shard_sizes(1, 200_000) == [1]
    assert gd.shard_sizes(200_000, 200_000) == [200_000]
    assert gd.shard_sizes(200_001, 200_000) == [100_001, 100_000]
    assert gd.shard_sizes(1_876_000, 200_000) == [187_600] * 10
    assert gd.shard_sizes(10, 3) == [3, 3, 2, 2]


def test_one_shard_is_the_whole_generation(small_dirty):
    parts = list(gd.generate_parts(dirty_rate=DIRTY, **SMALL))
    assert len(parts) == 2 and list(parts[1]) == ["raw_ads.ad_spend"]
    whole = {**parts[0], **parts[1]}
    assert all(whole[n].equals(small_dirty[n]) for n in gd.CONTRACT)


def test_first_shard_is_the_unsharded_population(sharded_parts):
    alone = gd.generate(**{**SHARDED, "users": 300})
    for name in gd.CONTRACT:
        if name != "raw_ads.ad_spend":
            assert sharded_parts[0][name].equals(alone[name]), name


def test_shards_number_users_companies_and_customers_apart(sharded_parts):
    tables = {n: pa.concat_tables([p[n] for p in sharded_parts if n in p]) for n in gd.CONTRACT}
    con = _con(tables)
    users = [r[0] for r in con.execute(
        "SELECT DISTINCT user_id FROM raw_segment__identifies WHERE user_id IS NOT NULL ORDER BY 1").fetchall()]
    assert users == [f"u_{i:07d}" for i in range(1, 901)]
    # every shard's users are its own: shard 2 holds u_0000301 .. u_0000600
    shard2 = {u for u in sharded_parts[1]["raw_segment.identifies"]["user_id"].to_pylist() if u}
    assert min(shard2) == "u_0000301" and max(shard2) == "u_0000600"
    companies = [r[0] for r in con.execute(
        "SELECT DISTINCT company_id FROM raw_segment__identifies WHERE company_id IS NOT NULL ORDER BY 1").fetchall()]
    assert companies == [f"co_{i:06d}" for i in range(1, len(companies) + 1)]
    # customers: distinct ids, and distinct emails among distinct customers (QA ones included)
    n_ids, n_emails, n_qa = _one(con, """SELECT COUNT(DISTINCT id), COUNT(DISTINCT lower(trim(email))),
        COUNT(DISTINCT email) FILTER (WHERE email LIKE 'qa+%') FROM (SELECT DISTINCT * FROM raw_stripe__customer)""")
    assert n_ids == n_emails and n_qa > 0
    # people: one email per user across all shards
    dupes = _one(con, """SELECT COUNT(*) FROM (SELECT email FROM raw_segment__identifies WHERE email IS NOT NULL
        GROUP BY email HAVING COUNT(DISTINCT user_id) > 1)""")[0]
    assert dupes == 0
    for name in ("raw_crm.account", "raw_stripe.subscription_history"):
        assert tables[name].num_rows > 0
    assert _one(con, "SELECT COUNT(*) FROM raw_crm__account WHERE id IS NULL")[0] == 0
    assert _one(con, "SELECT COUNT(*) - COUNT(DISTINCT id) FROM raw_crm__account")[0] == 0


def test_shards_share_products_prices_and_add_up_ad_spend(sharded_parts):
    assert sum("raw_stripe.price" in p for p in sharded_parts) == 1
    assert sum("raw_ads.ad_spend" in p for p in sharded_parts) == 1
    ads = sharded_parts[-1]["raw_ads.ad_spend"]
    start, end = dt.date.fromisoformat(SHARDED["start"]), dt.date.fromisoformat(SHARDED["end"])
    singles = [gd._Generator(gd.shard_seed(SHARDED["seed"], i), 300, start, end, SHARDED["dirty_rate"])
               .run(lambda _name: None)["raw_ads.ad_spend"] for i in range(3)]
    assert all(t.num_rows == ads.num_rows for t in singles)
    for col in ("clicks", "impressions"):
        assert ads[col].to_pylist() == [sum(v) for v in zip(*(t[col].to_pylist() for t in singles))]
    spend = [sum(round(x * 100) for x in v) / 100 for v in zip(*(t["spend"].to_pylist() for t in singles))]
    assert ads["spend"].to_pylist() == spend
    assert ads["currency"].equals(singles[0]["currency"])
    # paid visits still come from the summed clicks
    pages = pa.concat_tables([p["raw_segment.pages"] for p in sharded_parts if "raw_segment.pages" in p])
    con = _con({"raw_segment.pages": pages, "raw_ads.ad_spend": ads})
    ratio = _one(con, """WITH v AS (SELECT CAST(timestamp AS DATE) AS day, context_campaign_name AS camp, COUNT(*) AS visits
                   FROM raw_segment__pages WHERE context_campaign_medium IN ('cpc', 'paid_social') GROUP BY ALL)
        SELECT SUM(v.visits) / SUM(a.clicks) FROM raw_ads__ad_spend a LEFT JOIN v ON v.day = a.date AND v.camp = a.utm_campaign""")[0]
    assert 0.6 < ratio < 0.95


def test_parts_write_the_same_duckdb_and_parquet_as_whole_tables(sharded_parts, tmp_path):
    whole = gd.generate(shard_users=300, **SHARDED)
    gd.write_duckdb(whole, tmp_path / "whole.duckdb")
    gd.write_duckdb_parts(iter(sharded_parts), tmp_path / "parts.duckdb")
    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'whole.duckdb'}' AS w (READ_ONLY); ATTACH '{tmp_path / 'parts.duckdb'}' AS p (READ_ONLY)")
    for name in gd.CONTRACT:
        n = _one(con, f"SELECT COUNT(*) FROM w.{name}")[0]
        assert n == whole[name].num_rows and n > 0
        assert _one(con, f"SELECT COUNT(*) FROM (SELECT * FROM w.{name} EXCEPT ALL SELECT * FROM p.{name})")[0] == 0
        assert _one(con, f"SELECT COUNT(*) FROM (SELECT * FROM p.{name} EXCEPT ALL SELECT * FROM w.{name})")[0] == 0
    con.close()
    gd.write_parquet_parts(iter(sharded_parts), tmp_path / "pq")
    for name in gd.CONTRACT:
        schema, table = name.split(".")
        got = pq.read_table(tmp_path / "pq" / schema / f"{table}.parquet")
        assert got.num_rows == whole[name].num_rows
        assert got.column_names == [c for c, _ in gd.CONTRACT[name]]


def test_an_interrupted_write_of_parts_changes_nothing(sharded_parts, tmp_path):
    db, folder = tmp_path / "g.duckdb", tmp_path / "pq"
    gd.write_duckdb(sharded_parts[0], db)
    gd.write_parquet(sharded_parts[0], folder)
    before = pq.read_table(folder / "raw_segment" / "pages.parquet")

    def failing():
        yield sharded_parts[0]
        yield sharded_parts[1]
        raise KeyboardInterrupt

    for writer, out in ((gd.write_duckdb_parts, db), (gd.write_parquet_parts, folder)):
        with pytest.raises(KeyboardInterrupt):
            writer(failing(), out)
    con = duckdb.connect(str(db), read_only=True)
    assert _one(con, "SELECT COUNT(*) FROM raw_segment.pages")[0] == sharded_parts[0]["raw_segment.pages"].num_rows
    con.close()
    assert pq.read_table(folder / "raw_segment" / "pages.parquet").equals(before)
    assert not list(folder.rglob("*.tmp"))


def test_cli_generates_in_shards(tmp_path):
    out = tmp_path / "s.duckdb"
    r = _cli("--users", "90", "--start", "2024-01-01", "--end", "2024-01-31", "--shard-users", "40",
             "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "3 shards" in r.stdout
    con = duckdb.connect(str(out), read_only=True)
    assert _one(con, "SELECT COUNT(DISTINCT user_id), MAX(user_id) FROM raw_segment.identifies") == (90, "u_0000090")
    pages = _one(con, "SELECT COUNT(*) FROM raw_segment.pages")[0]
    con.close()
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("raw_segment.pages"))
    assert int(line.split()[1].replace(",", "")) == pages


# --------------------------------------------------------------------------------- CLI
def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_help_documents_every_flag():
    r = _cli("--help")
    assert r.returncode == 0
    for flag in ("--seed", "--users", "--start", "--end", "--out", "--dirty-rate", "--shard-users", "--quiet"):
        assert flag in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--start", "2024-13-01"],
        ["--start", "2024-02-01", "--end", "2024-01-01"],
        ["--users", "0"],
        ["--dirty-rate", "0.7"],
        ["--out", "/dev/null/nope/x.duckdb"],
        ["--shard-users", "0"],
    ],
    ids=["bad-start", "end-before-start", "no-users", "dirty-rate", "unwritable", "no-shard-users"],
)
def test_cli_user_errors_exit_2_with_one_line(args, tmp_path):
    r = _cli(*args, "--quiet", cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and "error" in r.stderr


def test_cli_rerun_replaces_tables_and_keeps_others(tmp_path):
    out = tmp_path / "g.duckdb"
    con = duckdb.connect(str(out))
    con.execute("CREATE SCHEMA other; CREATE TABLE other.t AS SELECT 42 AS answer")
    con.close()
    args = ["--users", "40", "--start", "2024-01-01", "--end", "2024-01-31", "--out", str(out), "--quiet"]
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    assert "raw_segment.pages" in first.stdout and "total" in first.stdout
    con = duckdb.connect(str(out), read_only=True)
    counts = {n: _one(con, f"SELECT COUNT(*) FROM {n}")[0] for n in gd.CONTRACT}
    con.close()
    assert _cli(*args).returncode == 0
    con = duckdb.connect(str(out), read_only=True)
    assert {n: _one(con, f"SELECT COUNT(*) FROM {n}")[0] for n in gd.CONTRACT} == counts
    assert _one(con, "SELECT answer FROM other.t")[0] == 42
    con.close()


def test_cli_writes_parquet_folder(tmp_path):
    out = tmp_path / "pq"
    r = _cli("--users", "30", "--start", "2024-01-01", "--end", "2024-01-10", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == sorted(
        f"{n.split('.')[0]}/{n.split('.')[1]}.parquet" for n in gd.CONTRACT)


def test_default_window_is_the_year_to_yesterday():
    start, end = gd.default_window(None, None, today=dt.date(2024, 3, 10))
    assert (start, end) == (dt.date(2023, 3, 11), dt.date(2024, 3, 9))
    assert gd.default_window(dt.date(2024, 1, 5), None, today=dt.date(2024, 3, 10))[0] == dt.date(2024, 1, 5)
    args = gd._parser().parse_args([])
    assert args.users == 10_000 and args.out == "data/growthmesh.duckdb" and args.dirty_rate == 0.01
