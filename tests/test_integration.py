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
from conftest import (
    STANDARD_END, STANDARD_START, environ, load_script, report_figures, standard_build, without_plotlyjs,
    without_yaml_tests,
)

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
END = dt.date(2025, 2, 28)
assert (START.isoformat(), END.isoformat()) == (STANDARD_START, STANDARD_END)  # the build `built` copies


def _load_generator():
    return load_script("generate_data")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A prod build of every model over 300 generated users, Jan-Feb 2025, 2% dirty rows,
    planned the morning after the data (conftest.standard_build: one build per pytest run,
    this file's own copy)."""
    from sqlmesh import Context

    db, tables = standard_build(tmp_path_factory, tmp_path_factory.mktemp("integration"))
    with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=START.isoformat()):
        with without_yaml_tests():
            context = Context(paths=ROOT)
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
    assert context.audit(start=START, end=END) is True


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
    # data ending yesterday, as `make demo` makes it, so the plan has only these 20 days to
    # build (an older window would leave every day since then to plan, empty)
    end = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    env = dict(os.environ, GROWTHMESH_START=(end - dt.timedelta(days=19)).isoformat())
    cmd = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--users", "120", "--days", "20",
           "--end", end.isoformat(), "--db", str(db)]

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


@pytest.mark.slow  # renders and runs every model again: `make test-all` (and before `make bench` figures are trusted)
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
    with environ(GROWTHMESH_DUCKDB=str(tmp_path / "render" / "growthmesh.duckdb"), GROWTHMESH_START=START.isoformat()):
        total, timings = benchmark.bare_duckdb(bare_db, START, END)  # the fixture's plan ran up to END
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


# ------------------------------------------------------------------------------------------
# The growth report (scripts/report.py, `make report`), built from this file's prod build:
# every section is there with data, its numbers are the marts', and it is offline and free
# of personal data. tests/test_report_browser.py opens a report in headless Chromium.
# ------------------------------------------------------------------------------------------

REPORT_SECTIONS = ("funnel", "retention", "growth-accounting", "engagement", "revenue", "channels", "health")
REPORT_CHARTS = ("chart-funnel", "chart-funnel-rates", "chart-retention-monthly", "chart-retention-weekly",
                 "chart-growth-monthly", "chart-growth-daily", "chart-engagement", "chart-stickiness",
                 "chart-power-users", "chart-mrr", "chart-nrr", "chart-health-scores", "chart-churn-risk")


@pytest.fixture(scope="module")
def report_html(built):
    context, _, _ = built
    return load_script("report").build_report(context, "prod", gateway="local")


def _table_rows(document: str, table_start: str) -> dict[str, list[float | None]]:
    """channel -> the data-value of each numeric cell, for the table opening with `table_start`."""
    import re

    start = document.index(table_start)
    table = document[start:document.index("</table>", start)]
    return {m.group(1): [float(v) if v else None for v in re.findall(r'data-value="([^"]*)"', m.group(2))]
            for m in re.finditer(r'<tr data-channel="([^"]+)"[^>]*>(.*?)</tr>', table, re.S)}


def test_report_has_every_section_and_every_chart_with_data(built, report_html):
    import re

    context, _, _ = built
    for section in REPORT_SECTIONS:
        assert re.search(rf'<section id="{section}"><h2>[^<]+</h2>', report_html), section
    figures = report_figures(report_html)
    assert tuple(figures) == REPORT_CHARTS
    for chart_id, figure in figures.items():
        assert f'<div class="chart" id="{chart_id}"></div>' in report_html
        layout = figure["layout"]
        assert layout["title"]["text"], chart_id
        for axis in ("xaxis", "yaxis"):  # axes are labelled (a subplot may label one of its axes)
            assert any(v.get("title", {}).get("text") for k, v in layout.items() if k.startswith(axis)), chart_id
        values = [v for trace in figure["data"] for key in ("x", "y", "z") for v in _flat(trace.get(key))]
        assert figure["data"] and any(v not in (None, 0) for v in values), f"{chart_id} has no data"
    # the header: the data's range (to the last day with activity), environment, gateway, build time
    first, last = _query(context, "SELECT MIN(activity_date), MAX(IF(dau > 0, activity_date, NULL)) "
                                  "FROM product.engagement_daily")[0]
    assert f'<dd id="meta-range">{first} – {last}</dd>' in report_html
    assert '<dd id="meta-env">prod</dd>' in report_html and '<dd id="meta-gateway">local</dd>' in report_html
    built_at = re.search(r'<dd id="meta-built">([^<]+)</dd>', report_html).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", built_at)  # from SQLMesh state, not "unknown"


def _flat(values) -> list:
    if values is None:
        return []
    if isinstance(values, list):
        return [v for item in values for v in _flat(item)]
    return [values]


def test_report_funnel_is_the_mart_summed_per_channel(built, report_html):
    context, _, _ = built
    expected = {
        channel: [visitors, signups, activated, paid]
        for channel, visitors, signups, activated, paid in _query(
            context, "SELECT channel, SUM(visitors), SUM(signups), SUM(activated), SUM(paid) "
                     "FROM acquisition.funnel_conversion WHERE cohort_grain = 'month' GROUP BY channel")
    }
    assert "all" in expected and len(expected) > 2
    funnel = report_figures(report_html)["chart-funnel"]
    assert {trace["name"]: trace["x"] for trace in funnel["data"]} == expected
    assert [t["name"] for t in funnel["data"] if t["visible"] is True] == ["all"]  # the menu picks another
    table = _table_rows(report_html, '<table class="data" id="funnel-table">')
    for channel, (visitors, signups, activated, paid) in expected.items():
        assert table[channel][:4] == [visitors, signups, activated, paid], channel
        assert table[channel][4] == pytest.approx(signups / visitors)  # the visit -> signup rate


def test_report_arr_headline_is_the_latest_complete_month(built, report_html):
    import re

    context, _, _ = built
    months = _query(context, "SELECT month_start, is_complete_month, arr_usd, ending_mrr_usd "
                             "FROM revenue.mrr_movements_monthly WHERE scope = 'all' ORDER BY month_start DESC")
    complete = [m for m in months if m[1]]
    _, _, arr, mrr = (complete or months)[0]
    assert arr > 0
    kpis = dict(re.findall(r'data-kpi="(\w+)" data-value="([^"]*)"', report_html))
    assert float(kpis["arr_usd"]) == pytest.approx(arr)
    assert float(kpis["ending_mrr_usd"]) == pytest.approx(mrr)
    ending = report_figures(report_html)["chart-mrr"]["data"][0]
    assert ending["name"] == "Ending MRR"
    assert ending["y"] == pytest.approx([m[3] for m in reversed(months)])


def test_report_channel_tables_recompute_cac_roas_and_payback_per_attribution_model(built, report_html):
    import re

    context, _, _ = built
    models = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
    assert re.findall(r'<option value="(\w+)">', report_html) == list(models)
    for model in models:
        rows = _query(context, f"SELECT channel, SUM(spend_usd), SUM(paid_conversions_{model}), "
                               f"SUM(new_mrr_usd_{model}), SUM(first_month_revenue_usd_{model}) "
                               "FROM acquisition.channel_performance WHERE period_grain = 'month' GROUP BY channel")
        table = _table_rows(report_html, f'<table class="data channel-table" data-model="{model}"')
        assert set(table) == {r[0] for r in rows} | {"total"}
        assert any(r[1] > 0 for r in rows), "the generated data has ad spend"
        for channel, spend, paid, new_mrr, revenue in rows:
            shown_spend, _, _, shown_paid, shown_mrr, shown_revenue, cac, roas, payback = table[channel]
            assert (shown_spend, shown_paid, shown_mrr, shown_revenue) == pytest.approx((spend, paid, new_mrr, revenue))
            assert cac == (pytest.approx(spend / paid) if spend and paid else None), (model, channel)
            assert roas == (pytest.approx(revenue / spend) if spend else None), (model, channel)
            assert payback == (pytest.approx(spend / new_mrr) if spend and new_mrr else None), (model, channel)
        total_spend = sum(r[1] for r in rows)
        assert table["total"][0] == pytest.approx(total_spend)
    assert len(re.findall(r'<table class="data channel-table" data-model="\w+" hidden>', report_html)) == 4


def test_report_health_lists_expansion_candidates_by_id_only(built, report_html):
    import re

    context, tables, _ = built
    risk = dict(_query(context, "SELECT churn_risk_category, COUNT(*) FROM customers.health_scores GROUP BY 1"))
    bars = report_figures(report_html)["chart-churn-risk"]["data"][0]
    assert dict(zip(bars["x"], bars["y"])) == {level: risk.get(level, 0) for level in ("low", "medium", "high")}
    candidates = {r[0] for r in _query(context, "SELECT user_id FROM customers.health_scores "
                                                "WHERE is_expansion_candidate")}
    if candidates:
        start = report_html.index('<table class="data" id="expansion-table">')
        listed = re.findall(r"<tr><td><code>([^<]+)</code>", report_html[start:report_html.index("</table>", start)])
        assert set(listed) == candidates
    else:
        assert 'id="expansion-empty"' in report_html
    # no email address anywhere in the report's own content, and none of the raw data's
    content = without_plotlyjs(report_html)
    assert re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", content) is None
    emails = {e for name in ("raw_segment.identifies", "raw_stripe.customer")
              for e in tables[name].column("email").to_pylist() if e}
    assert emails and not [e for e in emails if e in report_html]


def test_report_is_one_offline_file(report_html):
    import re

    assert report_html.count('<script id="plotlyjs">') == 1  # plotly.js inlined once
    bundle = report_html.index('<script id="plotlyjs">')
    assert report_html.index("</script>", bundle) - bundle > 1_000_000
    assert re.search(r"<script[^>]*\ssrc=", report_html) is None
    assert re.search(r"<link\b", report_html) is None
    assert 'src="http' not in report_html and "src='http" not in report_html
    content = without_plotlyjs(report_html)
    assert "http://" not in content and "https://" not in content
    assert "cdn" not in content.lower()


def test_report_reads_a_dev_environment_through_its_views(built, report_html):
    """A dev environment's marts are read through its own views (`product__report_dev.x`)."""
    import re

    context, _, _ = built
    report = load_script("report")
    # no change and no backfill: a virtual plan that only creates the environment's views
    context.plan("report_dev", auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True,
                 include_unmodified=True, skip_backfill=True)
    _, tables = report.resolve_marts(context, "report_dev")
    assert {table.db for table in tables.values()} == {
        f"{schema}__report_dev" for schema in ("product", "acquisition", "revenue", "customers")}
    document = report.build_report(context, "report_dev")
    assert '<dd id="meta-env">report_dev</dd>' in document
    kpis = dict(re.findall(r'data-kpi="(\w+)" data-value="([^"]*)"', document))
    assert kpis == dict(re.findall(r'data-kpi="(\w+)" data-value="([^"]*)"', report_html))  # same data as prod


def test_report_command_writes_the_file_and_fails_in_one_line(built, tmp_path, capsys):
    report = load_script("report")
    out = tmp_path / "out" / "report.html"
    assert report.main(["--out", str(out)]) == 0  # the fixture's GROWTHMESH_DUCKDB, prod, local
    assert out.stat().st_size > 1_000_000 and 'id="health"' in out.read_text()
    capsys.readouterr()

    assert report.main(["--env", "no_such_env", "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "environment 'no_such_env' does not exist" in err
    assert not (tmp_path / "x.html").exists()

    missing = tmp_path / "nowhere" / "growthmesh.duckdb"
    with environ(GROWTHMESH_DUCKDB=str(missing)):
        assert report.main(["--out", str(tmp_path / "y.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{missing} does not exist" in err and not missing.exists()


def test_report_queries_render_for_bigquery(built):
    """The same query expressions, rendered for the bigquery gateway, use nothing BigQuery lacks."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import ErrorLevel

    report = load_script("report")
    tables = {key: exp.to_table(f"my-project.{name}", dialect="bigquery") for key, name in report.MARTS.items()}
    for key, query in report.mart_queries(tables).items():
        sql = query.sql(dialect="bigquery", unsupported_level=ErrorLevel.RAISE)
        assert parse_one(sql, read="bigquery") is not None, key
        assert "`my-project`" in sql or "my-project" in sql, key
