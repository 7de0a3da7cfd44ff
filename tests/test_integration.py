"""End to end on a tiny generated data set: plan prod on a fresh DuckDB file, then check
every model was built with rows, every audit passes, and every raw row is accounted for."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import environ, load_script, without_yaml_tests

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
END = dt.date(2025, 2, 28)


def _load_generator():
    return load_script("generate_data")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A prod build of every model over 300 generated users, Jan-Feb 2025, 2% dirty rows."""
    from sqlmesh import Context

    generator = _load_generator()
    db = tmp_path_factory.mktemp("integration") / "growthmesh.duckdb"
    tables = generator.generate(seed=7, users=300, start=START, end=END, dirty_rate=0.02)
    generator.write_duckdb(tables, db)

    with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=START.isoformat()):
        with without_yaml_tests():
            context = Context(paths=ROOT)
        context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)  # `make test` runs both
        yield context, tables, db
        context.close()


def _query(context, sql: str):
    return context.engine_adapter.fetchall(sql)


def test_every_model_is_built_with_rows(built):
    context, _, _ = built
    models = [m for m in context.models.values() if m.kind.name != "EXTERNAL"]
    # every model file loaded and was planned
    assert len(models) == len(list((ROOT / "models").rglob("*.sql")))
    empty = []
    for model in models:
        (rows,) = _query(context, f"SELECT COUNT(*) FROM {model.name}")[0]
        if rows == 0:
            empty.append(model.name)
    assert empty == []


def test_every_audit_passes_on_the_built_data(built):
    context, _, _ = built
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    assert context.audit(start=START, end=yesterday) is True


def test_every_raw_row_is_staged_duplicated_rejected_or_pending(built):
    context, tables, _ = built
    rows = _query(
        context,
        "SELECT raw_table, raw_rows, staged_rows, duplicate_rows, rejected_rows, pending_rows, unaccounted_rows "
        "FROM staging.stg_raw_reconciliation "
        "QUALIFY as_of_date = MAX(as_of_date) OVER ()",
    )
    by_table = {r[0]: r[1:] for r in rows}
    assert set(by_table) == set(tables)
    for name, (raw, staged, dups, rejected, pending, unaccounted) in by_table.items():
        assert raw == tables[name].num_rows, name
        assert unaccounted == 0, name
        assert raw == staged + dups + rejected + pending, name
    # the dirty rows really were caught, not silently staged
    assert by_table["raw_segment.tracks"][2] > 0  # duplicates
    assert by_table["raw_segment.tracks"][3] > 0  # rejected
    assert by_table["raw_stripe.charge"][3] > 0  # test mode / unknown currency


def test_each_dirty_row_class_lands_in_quarantine_with_its_reason(built):
    context, _, _ = built
    reasons = {r[0] for r in _query(context, "SELECT DISTINCT reject_reason FROM staging.stg_quarantine")}
    expected = {
        "missing_id",
        "missing_identity",
        "unparsable_timestamp",
        "future_timestamp",
        "unknown_event",
        "malformed_properties",
        "invalid_amount",
        "unknown_currency",
        "test_mode",
    }
    assert expected <= reasons


def test_late_events_are_staged_in_their_own_day(built):
    context, _, _ = built
    (late,) = _query(
        context,
        "SELECT COUNT(*) FROM staging.stg_segment__tracks WHERE arrival_delay_seconds > 2 * 86400 "
        "AND event_date = CAST(event_at AS DATE)",
    )[0]
    assert late > 0


def test_no_test_mode_stripe_row_reaches_staging(built):
    context, tables, _ = built
    test_customers = {
        row["id"]
        for row in tables["raw_stripe.customer"].to_pylist()
        if row["livemode"] is False and row["id"] is not None
    }
    assert test_customers, "the generator should make some test-mode customers"
    staged = {r[0] for r in _query(context, "SELECT customer_id FROM staging.stg_stripe__customer")}
    staged_charges = {r[0] for r in _query(context, "SELECT DISTINCT customer_id FROM staging.stg_stripe__charge")}
    assert not (test_customers & staged)
    assert not (test_customers & staged_charges)


def test_no_test_mode_customer_or_charge_reaches_the_acquisition_marts(built):
    context, tables, _ = built
    test_customers = {
        r["id"] for r in tables["raw_stripe.customer"].to_pylist() if r["livemode"] is False and r["id"]
    }
    test_charges = {r["id"] for r in tables["raw_stripe.charge"].to_pylist() if r["livemode"] is False and r["id"]}
    assert test_customers and test_charges, "the generator should make test-mode customers and charges"
    customers = {r[0] for r in _query(context, "SELECT customer_id FROM acquisition.new_subscriptions")}
    charges = {
        r[0]
        for r in _query(
            context,
            "SELECT first_charge_id FROM acquisition.new_subscriptions UNION ALL "
            "SELECT paid_charge_id FROM acquisition.funnel_users UNION ALL "
            "SELECT charge_id FROM acquisition.web_session_conversions",
        )
    }
    assert customers and charges
    assert not (customers & test_customers)
    assert not (charges & test_charges)


def test_acquisition_marts_drop_nothing_on_the_way_to_channel_performance(built):
    """Every session, dollar of spend and conversion credit reaches channel_performance."""
    context, _, _ = built
    (sessions, spend, conversions) = _query(
        context,
        "SELECT (SELECT COUNT(*) FROM product.fct_sessions), "
        "(SELECT ROUND(SUM(spend_usd), 2) FROM staging.stg_ads__ad_spend), "
        "(SELECT COUNT(DISTINCT conversion_id) FROM acquisition.attribution)",
    )[0]
    rows = _query(
        context,
        "SELECT period_grain, SUM(sessions), ROUND(SUM(spend_usd), 2), "
        "ROUND(SUM(signups_linear + paid_conversions_linear), 6), "
        "ROUND(SUM(signups_time_decay + paid_conversions_time_decay), 6), COUNT(*) "
        "FROM acquisition.channel_performance GROUP BY 1",
    )
    assert {r[0] for r in rows} == {"day", "month"}
    for _, s, sp, linear, decay, n in rows:
        assert s == sessions
        # each row rounds to the cent: at most half a cent apart per row, never a dropped campaign-day
        assert abs(sp - spend) <= 0.005 * n + 1e-6
        # credits round to 4 decimals per row
        assert linear == pytest.approx(conversions, abs=0.00005 * 2 * n)
        assert decay == pytest.approx(conversions, abs=0.00005 * 2 * n)
    # the funnel's 'all' rows count every visitor with a visit exactly once per grain
    (visitors,) = _query(
        context,
        "SELECT COUNT(DISTINCT visitor_id) FROM intermediate.int_visitor_sessions WHERE first_visit_event_at IS NOT NULL",
    )[0]
    per_grain = _query(
        context,
        "SELECT cohort_grain, SUM(visitors) FROM acquisition.funnel_conversion WHERE channel = 'all' GROUP BY 1",
    )
    assert len(per_grain) == 3
    assert all(total == visitors for _, total in per_grain)


def test_no_test_mode_customer_reaches_revenue_customers_or_sales(built):
    context, tables, _ = built
    test_customers = {
        r["id"] for r in tables["raw_stripe.customer"].to_pylist() if r["livemode"] is False and r["id"]
    }
    assert test_customers
    checked = []
    for model in context.models.values():
        schema = model.name.split(".")[0].strip('"')
        if schema not in ("revenue", "customers", "sales") or "customer_id" not in (model.columns_to_types or {}):
            continue
        found = {r[0] for r in _query(context, f"SELECT DISTINCT customer_id FROM {model.name}")}
        assert not (found & test_customers), model.name
        checked.append(model.name)
    assert len(checked) >= 6, checked


def test_mrr_bridge_agrees_with_the_daily_mrr_it_sums(built):
    """The month-end MRR of mrr_movements_monthly is fct_mrr_daily on that day, per scope."""
    context, _, _ = built
    mismatches = _query(
        context,
        "WITH daily AS ("
        "  SELECT mrr_date, product_id AS scope, SUM(mrr_usd) AS mrr FROM revenue.fct_mrr_daily GROUP BY 1, 2"
        "  UNION ALL SELECT mrr_date, 'all', SUM(mrr_usd) FROM revenue.fct_mrr_daily GROUP BY 1"
        ") "
        "SELECT m.scope, m.month_start, m.ending_mrr_usd, d.mrr FROM revenue.mrr_movements_monthly AS m "
        "LEFT JOIN daily AS d ON d.scope = m.scope AND d.mrr_date = m.month_end "
        "WHERE ABS(m.ending_mrr_usd - COALESCE(d.mrr, 0)) >= 0.005",
    )
    (months,) = _query(context, "SELECT COUNT(*) FROM revenue.mrr_movements_monthly WHERE ending_mrr_usd > 0")[0]
    assert months > 0
    assert mismatches == []


def test_identity_map_resolves_each_source_id_to_one_user(built):
    context, _, _ = built
    (bad,) = _query(
        context,
        "SELECT COUNT(*) FROM (SELECT id_type, source_id FROM staging.stg_identity_map "
        "GROUP BY 1, 2 HAVING COUNTIF(is_primary) <> 1)",
    )[0]
    methods = {r[0] for r in _query(context, "SELECT DISTINCT match_method FROM staging.stg_identity_map")}
    assert bad == 0
    assert {"identify", "metadata", "email"} <= methods


def test_demo_command_builds_and_reruns_without_duplicating(tmp_path):
    """`scripts/demo.py` (what `make demo` runs), twice: the second run keeps the data."""
    db = tmp_path / "demo.duckdb"
    env = dict(os.environ, GROWTHMESH_START="2025-06-01")
    cmd = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--users", "120", "--days", "20",
           "--end", "2025-06-20", "--db", str(db)]

    def staged_counts():
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.sql(
                "SELECT raw_table, staged_rows FROM staging.stg_raw_reconciliation "
                "QUALIFY as_of_date = MAX(as_of_date) OVER () ORDER BY 1"
            ).fetchall()
        finally:
            con.close()

    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "== growthmesh demo ==" in first.stdout
    assert "staging.stg_segment__tracks" in first.stdout
    counts = dict(staged_counts())
    assert counts["raw_segment.pages"] > 0 and counts["raw_segment.tracks"] > 0

    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "keeping it" in second.stdout
    assert dict(staged_counts()) == counts
    assert json.loads(db.with_name("demo.demo_args.json").read_text())["users"] == 120


def _checksums(fetchall, tables: list[str]) -> dict[str, tuple]:
    """Rows and an order-free checksum per table (floats to 9 significant digits, so a
    different summation order cannot flip the last bit)."""
    out = {}
    for table in tables:
        schema, name = table.split(".")
        columns = fetchall(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position")
        parts = [f'ROUND("{c}", 9 - CAST(CEIL(LOG10(ABS("{c}") + 1)) AS INT))' if t in ("DOUBLE", "FLOAT")
                 else f'"{c}"' for c, t in columns]
        out[table] = (tuple(c for c, _ in columns),
                      *fetchall(f'SELECT COUNT(*), CAST(SUM(HASH({", ".join(parts)})) AS VARCHAR) FROM {schema}.{name}')[0])
    return out


def test_benchmark_bare_duckdb_run_builds_the_same_tables_as_sqlmesh(built, tmp_path):
    """Figure 2 of scripts/benchmark.py is only a fair overhead baseline if it runs the same
    SQL: its bare-DuckDB tables must equal SQLMesh's models, row for row, for every model."""
    context, tables, _ = built
    benchmark = load_script("benchmark")
    generator = _load_generator()
    bare_db = tmp_path / "bare" / "growthmesh.duckdb"
    bare_db.parent.mkdir()
    generator.write_duckdb(tables, bare_db)
    (tmp_path / "render").mkdir()
    today = dt.datetime.now(dt.timezone.utc).date()  # the fixture's plan ran up to yesterday
    with environ(GROWTHMESH_DUCKDB=str(tmp_path / "render" / "growthmesh.duckdb"), GROWTHMESH_START=START.isoformat()):
        total, timings = benchmark.bare_duckdb(bare_db, START, today - dt.timedelta(days=1))
    models = sorted(name for name, _ in timings)
    assert set(models) == {m.name for m in context.models.values() if not m.kind.is_external}
    assert total == pytest.approx(sum(s for _, s in timings)) and all(s >= 0 for _, s in timings)

    expected = _checksums(context.engine_adapter.fetchall, models)
    con = duckdb.connect(str(bare_db), read_only=True)
    try:
        actual = _checksums(lambda sql: con.execute(sql).fetchall(), models)
    finally:
        con.close()
    differing = {m: (expected[m][1:], actual[m][1:]) for m in models if expected[m] != actual[m]}
    assert not differing, f"bare DuckDB differs from SQLMesh (rows, checksum) for {differing}"
    assert sum(expected[m][1] for m in models) > 0
