"""Tests for the project's portability linter rules (linter/portability.py).

One throwaway SQLMesh project (BigQuery dialect, `linter: {enabled: true, rules: all}`,
a copy of linter/) holds one model per case below and is linted once; each case then
asserts on its own model's violations:

- a bad model reports its rule (and no other portability rule);
- a good model, written the way the violation message recommends, reports nothing at
  all, not even SQLMesh's built-in rules (every model has an audit, a unit test entry,
  explicit columns and a declared external source).

A CLI test runs `sqlmesh lint` in a second tiny project and checks the exit codes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import typing as t
from collections import defaultdict
from pathlib import Path

import pytest

LINTER_DIR = Path(__file__).resolve().parents[1] / "linter"

PORTABILITY_RULES = {
    "noplainweektrunc",
    "unwrappeddatetrunc",
    "nocalendartimestampdiff",
    "nodayofweek",
    "nodistinctwindowaggregate",
    "noarrayagglimit",
    "nobaredivoperand",
    "nobigqueryonlyfunction",
    "unwrappedcalendardateadd",
    "noarrayaggignorenulls",
    "noimplicitpivotvalues",
    "nowallclock",
    "nonumericseedcolumn",
}

CONFIG = """\
gateways:
  local:
    connection:
      type: duckdb
      database: lint.duckdb
default_gateway: local
model_defaults:
  dialect: bigquery
  start: '2024-01-01'
linter:
  enabled: true
  rules: all
variables:
  lag_months: 2
disable_anonymized_analytics: true
"""

EXTERNAL_MODELS = """\
- name: raw.events
  columns:
    user_id: STRING
    event: STRING
    ts: TIMESTAMP
    ts2: TIMESTAMP
    d: DATE
    n: INT64
    tags: ARRAY<STRING>
"""

SEED_CSV = "k,amount\na,1.5\nb,2\n"

# Project macros: the linter checks the query with macros expanded.
MACROS = """\
import sqlglot
from sqlmesh import macro


@macro()
def sunday_week(evaluator, expression):
    return sqlglot.parse_one(f"DATE_TRUNC({expression.sql('bigquery')}, WEEK)", read="bigquery")


@macro()
def monday_week(evaluator, expression):
    sql = f"DATE(DATE_TRUNC({expression.sql('bigquery')}, WEEK(MONDAY)))"
    return sqlglot.parse_one(sql, read="bigquery")
"""


def q(expr: str) -> str:
    """A one-expression query over the declared external table."""
    return f"SELECT user_id AS k, {expr} AS v FROM raw.events"


def by_user(expr: str, where: str = "") -> str:
    """A one-aggregate query grouped by user."""
    return f"SELECT user_id AS k, {expr} AS v FROM raw.events {where} GROUP BY user_id"


PIVOT_SOURCE = "(SELECT user_id AS k, event AS ev, n FROM raw.events)"

# (rule, model name, query): each query must be reported by `rule`.
BAD_CASES: t.List[t.Tuple[str, str, str]] = [
    # 1. plain WEEK
    ("noplainweektrunc", "bad_date_trunc_week", q("DATE(DATE_TRUNC(d, WEEK))")),
    ("noplainweektrunc", "bad_date_trunc_week_lower", q("DATE(date_trunc(d, week))")),
    ("noplainweektrunc", "bad_timestamp_trunc_week", q("TIMESTAMP_TRUNC(ts, WEEK)")),
    ("noplainweektrunc", "bad_datetime_trunc_week", q("DATETIME_TRUNC(DATETIME(ts), WEEK)")),
    # TIMESTAMP_TRUNC(ts, WEEK(MONDAY)) transpiles to DATE_TRUNC(WEEK(MONDAY), ts) on DuckDB.
    ("noplainweektrunc", "bad_timestamp_trunc_week_monday", q("TIMESTAMP_TRUNC(ts, WEEK(MONDAY))")),
    # the construct only appears once the project macro is expanded
    ("noplainweektrunc", "bad_macro_emits_week", q("DATE(@sunday_week(d))")),
    # 2. DATE_TRUNC not wrapped in DATE(...)
    ("unwrappeddatetrunc", "bad_date_trunc_month", q("DATE_TRUNC(d, MONTH)")),
    ("unwrappeddatetrunc", "bad_date_trunc_quarter", q("DATE_TRUNC(d, QUARTER)")),
    ("unwrappeddatetrunc", "bad_date_trunc_year_in_diff", q("DATE_DIFF(DATE_TRUNC(d, YEAR), d, DAY)")),
    ("unwrappeddatetrunc", "bad_date_trunc_week_monday", q("DATE_TRUNC(d, WEEK(MONDAY))")),
    (
        "unwrappeddatetrunc",
        "bad_date_trunc_in_where",
        "SELECT user_id AS k, d AS v FROM raw.events WHERE DATE_TRUNC(d, MONTH) = DATE '2024-01-01'",
    ),
    # 3. TIMESTAMP_DIFF / DATETIME_DIFF in calendar units
    ("nocalendartimestampdiff", "bad_timestamp_diff_day", q("TIMESTAMP_DIFF(ts, ts2, DAY)")),
    ("nocalendartimestampdiff", "bad_timestamp_diff_week", q("TIMESTAMP_DIFF(ts, ts2, WEEK)")),
    (
        "nocalendartimestampdiff",
        "bad_datetime_diff_month",
        q("DATETIME_DIFF(DATETIME(ts), DATETIME(ts2), MONTH)"),
    ),
    (
        "nocalendartimestampdiff",
        "bad_datetime_diff_day",
        q("DATETIME_DIFF(DATETIME(ts), DATETIME(ts2), DAY)"),
    ),
    # 4. DAYOFWEEK
    ("nodayofweek", "bad_extract_dayofweek", q("EXTRACT(DAYOFWEEK FROM d)")),
    (
        "nodayofweek",
        "bad_dayofweek_in_where",
        "SELECT user_id AS k, d AS v FROM raw.events WHERE EXTRACT(DAYOFWEEK FROM ts) IN (1, 7)",
    ),
    # 5. DISTINCT inside a window
    (
        "nodistinctwindowaggregate",
        "bad_count_distinct_over_frame",
        q(
            "COUNT(DISTINCT user_id) OVER "
            "(PARTITION BY event ORDER BY d ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)"
        ),
    ),
    ("nodistinctwindowaggregate", "bad_count_distinct_over_partition", q("COUNT(DISTINCT n) OVER (PARTITION BY d)")),
    ("nodistinctwindowaggregate", "bad_sum_distinct_over", q("SUM(DISTINCT n) OVER (PARTITION BY d)")),
    # 6. ARRAY_AGG(... LIMIT n)
    ("noarrayagglimit", "bad_array_agg_order_limit", by_user("ARRAY_AGG(n ORDER BY ts DESC LIMIT 1)[OFFSET(0)]", "WHERE n IS NOT NULL")),
    ("noarrayagglimit", "bad_array_agg_limit", by_user("ARRAY_AGG(n LIMIT 3)", "WHERE n IS NOT NULL")),
    # 6b. DIV with a bare operation as operand
    ("nobaredivoperand", "bad_div_sum_operand", q("DIV(n + 1, 2)")),
    ("nobaredivoperand", "bad_div_difference_divisor", q("DIV(n, n - 1)")),
    # 7. functions / date parts missing in DuckDB
    ("nobigqueryonlyfunction", "bad_farm_fingerprint", q("FARM_FINGERPRINT(user_id)")),
    ("nobigqueryonlyfunction", "bad_range_bucket", q("RANGE_BUCKET(n, [0, 10, 100])")),
    ("nobigqueryonlyfunction", "bad_ieee_divide", q("IEEE_DIVIDE(n, 2)")),
    ("nobigqueryonlyfunction", "bad_hll_count", by_user("HLL_COUNT.EXTRACT(HLL_COUNT.INIT(event))")),
    ("nobigqueryonlyfunction", "bad_hll_count_merge", by_user("HLL_COUNT.MERGE(HLL_COUNT.INIT(event))")),
    ("nobigqueryonlyfunction", "bad_array_concat_agg", by_user("ARRAY_CONCAT_AGG(tags)")),
    ("nobigqueryonlyfunction", "bad_extract_isoweek", q("EXTRACT(ISOWEEK FROM d)")),
    ("nobigqueryonlyfunction", "bad_date_trunc_isoweek", q("DATE(DATE_TRUNC(d, ISOWEEK))")),
    ("nobigqueryonlyfunction", "bad_date_diff_isoweek", q("DATE_DIFF(d, DATE '2024-01-01', ISOWEEK)")),
    # 8. DATE_ADD/DATE_SUB in calendar units not wrapped in DATE(...)
    ("unwrappedcalendardateadd", "bad_date_add_month", q("DATE_ADD(d, INTERVAL 1 MONTH)")),
    ("unwrappedcalendardateadd", "bad_date_sub_quarter", q("DATE_SUB(d, INTERVAL 1 QUARTER)")),
    ("unwrappedcalendardateadd", "bad_date_add_year", q("DATE_ADD(d, INTERVAL 2 YEAR)")),
    # the interval count comes from a macro variable: checked on the rendered query
    ("unwrappedcalendardateadd", "bad_date_sub_var_month", q("DATE_SUB(d, INTERVAL @VAR('lag_months') MONTH)")),
    # 9. ARRAY_AGG(... IGNORE NULLS)
    ("noarrayaggignorenulls", "bad_array_agg_ignore_nulls", by_user("ARRAY_AGG(n IGNORE NULLS)")),
    ("noarrayaggignorenulls", "bad_array_agg_ignore_nulls_order", by_user("ARRAY_AGG(n IGNORE NULLS ORDER BY ts)")),
    # 10. PIVOT without an explicit list of values
    ("noimplicitpivotvalues", "bad_pivot_any", f"SELECT k FROM {PIVOT_SOURCE} PIVOT (SUM(n) FOR ev IN (ANY))"),
    (
        "noimplicitpivotvalues",
        "bad_pivot_subquery",
        f"SELECT k FROM {PIVOT_SOURCE} PIVOT (SUM(n) FOR ev IN (SELECT DISTINCT event FROM raw.events))",
    ),
    # 11. wall clock
    ("nowallclock", "bad_current_date", q("CURRENT_DATE()")),
    (
        "nowallclock",
        "bad_current_date_no_parens",
        "SELECT user_id AS k, d AS v FROM raw.events WHERE d < CURRENT_DATE",
    ),
    ("nowallclock", "bad_current_timestamp", q("CURRENT_TIMESTAMP()")),
    ("nowallclock", "bad_current_datetime", q("CURRENT_DATETIME()")),
    ("nowallclock", "bad_current_time", q("CURRENT_TIME()")),
    ("nowallclock", "bad_now", q("NOW()")),
    ("nowallclock", "bad_current_date_in_cte", "WITH c AS (SELECT user_id, d FROM raw.events WHERE d >= DATE_SUB(CURRENT_DATE('UTC'), INTERVAL 7 DAY)) SELECT user_id AS k, d AS v FROM c"),
]

# (rule whose recommended alternative this is, model name, query): no violation at all.
GOOD_CASES: t.List[t.Tuple[str, str, str]] = [
    ("noplainweektrunc", "good_week_monday", q("DATE(DATE_TRUNC(d, WEEK(MONDAY)))")),
    ("noplainweektrunc", "good_week_monday_of_timestamp", q("DATE(DATE_TRUNC(DATE(ts), WEEK(MONDAY)))")),
    ("noplainweektrunc", "good_timestamp_trunc_day", q("TIMESTAMP_TRUNC(ts, DAY)")),
    ("noplainweektrunc", "good_macro_emits_monday_week", q("@monday_week(d)")),
    (
        "noplainweektrunc",
        "good_week_in_comment_and_string",
        "SELECT user_id AS k, 'DATE_TRUNC(d, WEEK)' AS v -- DATE_TRUNC(d, WEEK), CURRENT_DATE()\n"
        "FROM raw.events /* TIMESTAMP_TRUNC(ts, WEEK) */",
    ),
    ("unwrappeddatetrunc", "good_date_trunc_month", q("DATE(DATE_TRUNC(d, MONTH))")),
    ("unwrappeddatetrunc", "good_date_trunc_cast", q("CAST(DATE_TRUNC(d, QUARTER) AS DATE)")),
    ("unwrappeddatetrunc", "good_date_trunc_safe_cast", q("SAFE_CAST(DATE_TRUNC(d, YEAR) AS DATE)")),
    (
        "unwrappeddatetrunc",
        "good_date_trunc_then_add",
        q("DATE(DATE_ADD(DATE_TRUNC(d, MONTH), INTERVAL 1 MONTH))"),
    ),
    ("unwrappeddatetrunc", "good_timestamp_trunc_month", q("TIMESTAMP_TRUNC(ts, MONTH)")),
    ("nocalendartimestampdiff", "good_date_diff_day", q("DATE_DIFF(DATE(ts), DATE(ts2), DAY)")),
    ("nocalendartimestampdiff", "good_timestamp_diff_second", q("TIMESTAMP_DIFF(ts, ts2, SECOND) / 86400")),
    ("nocalendartimestampdiff", "good_timestamp_diff_hour", q("TIMESTAMP_DIFF(ts, ts2, HOUR)")),
    ("nodayofweek", "good_weekday_from_monday", q("DATE_DIFF(d, DATE(DATE_TRUNC(d, WEEK(MONDAY))), DAY)")),
    ("nodayofweek", "good_extract_day", q("EXTRACT(DAY FROM d)")),
    (
        "nodistinctwindowaggregate",
        "good_distinct_then_window",
        "SELECT d AS k, SUM(COUNT(DISTINCT user_id)) OVER "
        "(ORDER BY d ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS v FROM raw.events GROUP BY d",
    ),
    ("nodistinctwindowaggregate", "good_count_over", q("COUNT(user_id) OVER (PARTITION BY d)")),
    ("noarrayagglimit", "good_max_by", by_user("MAX_BY(n, ts)")),
    ("nobaredivoperand", "good_div_parenthesised", q("DIV((n + 1), 2)")),
    ("nobaredivoperand", "good_div_of_function", q("DIV(DATE_DIFF(d, DATE '1970-01-05', DAY), 7)")),
    ("noarrayagglimit", "good_min_by", by_user("MIN_BY(n, ts)")),
    (
        "noarrayagglimit",
        "good_qualify_row_number",
        "SELECT user_id AS k, n AS v FROM raw.events "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) = 1",
    ),
    ("nobigqueryonlyfunction", "good_safe_divide", q("SAFE_DIVIDE(n, 2)")),
    ("nobigqueryonlyfunction", "good_bucket_case", q("CASE WHEN n < 10 THEN 0 WHEN n < 100 THEN 1 ELSE 2 END")),
    ("nobigqueryonlyfunction", "good_count_distinct", by_user("COUNT(DISTINCT event)")),
    ("nobigqueryonlyfunction", "good_extract_year", q("EXTRACT(YEAR FROM d)")),
    ("unwrappedcalendardateadd", "good_date_add_month", q("DATE(DATE_ADD(d, INTERVAL 1 MONTH))")),
    ("unwrappedcalendardateadd", "good_date_sub_var_month", q("DATE(DATE_SUB(d, INTERVAL @VAR('lag_months') MONTH))")),
    ("unwrappedcalendardateadd", "good_date_sub_year_cast", q("CAST(DATE_SUB(d, INTERVAL 1 YEAR) AS DATE)")),
    ("unwrappedcalendardateadd", "good_date_add_day", q("DATE_ADD(d, INTERVAL 1 DAY)")),
    ("unwrappedcalendardateadd", "good_timestamp_add_hour", q("TIMESTAMP_ADD(ts, INTERVAL 1 HOUR)")),
    ("noarrayaggignorenulls", "good_array_agg_where", by_user("ARRAY_AGG(n ORDER BY ts)", "WHERE n IS NOT NULL")),
    (
        "noarrayaggignorenulls",
        "good_first_value_ignore_nulls",
        q("FIRST_VALUE(n IGNORE NULLS) OVER (PARTITION BY user_id ORDER BY ts)"),
    ),
    (
        "noimplicitpivotvalues",
        "good_pivot_explicit",
        f"SELECT k, signups, logins FROM {PIVOT_SOURCE} "
        "PIVOT (SUM(n) FOR ev IN ('signed_up' AS signups, 'logged_in' AS logins))",
    ),
    (
        "nowallclock",
        "good_interval_bounds",
        "SELECT user_id AS k, d AS v FROM raw.events WHERE d BETWEEN @start_ds AND @end_ds",
    ),
    ("nowallclock", "good_execution_ds", q("DATE_DIFF(DATE(@execution_ds), d, DAY)")),
    ("nowallclock", "good_column_named_like_clock", "SELECT user_id AS k, `current_date` AS v FROM (SELECT user_id, d AS `current_date` FROM raw.events)"),
]

# (rule, model name, columns): SEED models over SEED_CSV.
BAD_SEEDS = [
    ("nonumericseedcolumn", "bad_seed_numeric", "k STRING, amount NUMERIC"),
    ("nonumericseedcolumn", "bad_seed_bignumeric", "k STRING, amount BIGNUMERIC"),
    ("nonumericseedcolumn", "bad_seed_decimal", "k STRING, amount DECIMAL(10, 2)"),
]
GOOD_SEEDS = [
    ("nonumericseedcolumn", "good_seed_float64", "k STRING, amount FLOAT64"),
    ("nonumericseedcolumn", "good_seed_undeclared_types", None),
]

ALL_BAD = BAD_CASES + [(r, n, None) for r, n, _ in BAD_SEEDS]
ALL_GOOD = GOOD_CASES + [(r, n, None) for r, n, _ in GOOD_SEEDS]


def sql_model(name: str, query: str) -> str:
    # @start_ds/@end_ds exist only in incremental-by-time models.
    kind = "INCREMENTAL_BY_TIME_RANGE (time_column v)" if "@start_ds" in query else "FULL"
    return (
        f"MODEL (\n  name lint.{name},\n  kind {kind},\n  audits (not_null(columns := (k)))\n);\n\n"
        f"{query}\n"
    )


def seed_model(name: str, columns: t.Optional[str]) -> str:
    columns_clause = f",\n  columns ({columns})" if columns else ""
    return (
        f"MODEL (\n  name lint.{name},\n  kind SEED (path '../seeds/amounts.csv'){columns_clause},\n"
        f"  audits (not_null(columns := (k)))\n);\n"
    )


def write_project(root: Path, models: t.Dict[str, str]) -> Path:
    """A throwaway SQLMesh project with the project's linter/ and one file per model."""
    (root / "models").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "tests").mkdir()
    (root / "macros").mkdir()
    (root / "macros" / "weeks.py").write_text(MACROS)
    (root / "config.yaml").write_text(CONFIG)
    (root / "external_models.yaml").write_text(EXTERNAL_MODELS)
    (root / "seeds" / "amounts.csv").write_text(SEED_CSV)
    shutil.copytree(LINTER_DIR, root / "linter", ignore=shutil.ignore_patterns("__pycache__"))
    tests = []
    for name, text in models.items():
        (root / "models" / f"{name}.sql").write_text(text)
        # Registered unit tests keep the built-in `nomissingunittest` rule quiet; never run.
        tests.append(f"test_{name}:\n  model: lint.{name}\n  outputs:\n    query: []\n")
    (root / "tests" / "test_models.yaml").write_text("\n".join(tests))
    return root


def lint(root: Path) -> t.Dict[str, t.List[t.Tuple[str, str, str]]]:
    """Lint every model; {model name: [(rule, violation type, message)]}."""
    from sqlmesh import Context

    context = Context(paths=root)
    results: t.Dict[str, t.List[t.Tuple[str, str, str]]] = defaultdict(list)
    for violation in context.lint_models(raise_on_error=False):
        results[violation.model.name].append(
            (violation.rule.name, violation.violation_type, violation.violation_msg)
        )
    return results


@pytest.fixture(scope="module")
def lint_results(tmp_path_factory: pytest.TempPathFactory) -> t.Dict[str, t.List[t.Tuple[str, str, str]]]:
    models = {name: sql_model(name, query) for _, name, query in BAD_CASES + GOOD_CASES}
    models.update({name: seed_model(name, cols) for _, name, cols in BAD_SEEDS + GOOD_SEEDS})
    root = write_project(tmp_path_factory.mktemp("lintproject"), models)
    return lint(root)


def test_every_rule_has_cases() -> None:
    assert {rule for rule, _, _ in ALL_BAD} == PORTABILITY_RULES
    assert {rule for rule, _, _ in ALL_GOOD} == PORTABILITY_RULES
    names = [name for _, name, _ in ALL_BAD + ALL_GOOD]
    assert len(names) == len(set(names))


def test_rules_are_registered_with_summaries() -> None:
    """SQLMesh registers every Rule subclass in linter/; each needs a docstring summary."""
    import importlib.util

    from sqlmesh.core.linter.rule import Rule

    spec = importlib.util.spec_from_file_location("_portability_under_test", LINTER_DIR / "portability.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rules = {
        obj.name: obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Rule) and obj is not Rule
    }
    assert set(rules) == PORTABILITY_RULES
    for rule in rules.values():
        assert rule.__doc__ and rule.__doc__.strip(), rule.name


@pytest.mark.parametrize("rule, name, _query", ALL_BAD, ids=[n for _, n, _ in ALL_BAD])
def test_bad_model_is_reported(lint_results, rule: str, name: str, _query: t.Optional[str]) -> None:
    violations = lint_results.get(f"lint.{name}", [])
    mine = [v for v in violations if v[0] == rule]
    assert mine, f"{name}: expected a {rule} violation, got {violations}"
    for _, violation_type, message in mine:
        assert violation_type == "error"
        # Every message names the construct and says what to write instead.
        assert any(word in message for word in ("Write", "write", "Use", "use", "Declare", "Filter", "Compare")), message
    other_portability = {v[0] for v in violations} & PORTABILITY_RULES - {rule}
    # Some constructs legitimately break two rules (e.g. a plain DATE_TRUNC(d, WEEK) is
    # also unwrapped); the cases above avoid that, so anything else is a false positive.
    assert not other_portability, f"{name}: unexpected {other_portability}: {violations}"


@pytest.mark.parametrize("rule, name, _query", ALL_GOOD, ids=[n for _, n, _ in ALL_GOOD])
def test_good_model_is_clean(lint_results, rule: str, name: str, _query: t.Optional[str]) -> None:
    violations = lint_results.get(f"lint.{name}", [])
    assert violations == [], f"{name} (alternative for {rule}) should be clean: {violations}"


def test_violation_message_quotes_the_expression(lint_results) -> None:
    [(_, _, message)] = [v for v in lint_results["lint.bad_date_trunc_week"] if v[0] == "noplainweektrunc"]
    assert message.startswith("`DATE_TRUNC(d, WEEK)`")
    assert "WEEK(MONDAY)" in message
    [(_, _, message)] = lint_results["lint.bad_seed_numeric"]
    assert "`amount`" in message and "FLOAT64" in message


def test_one_violation_per_distinct_expression(lint_results) -> None:
    # HLL_COUNT.EXTRACT(HLL_COUNT.INIT(x)): two different calls, two violations.
    assert len([v for v in lint_results["lint.bad_hll_count"] if v[0] == "nobigqueryonlyfunction"]) == 2
    # DATE(DATE_TRUNC(d, ISOWEEK)): reported for ISOWEEK, not for WEEK or for being unwrapped.
    assert {v[0] for v in lint_results["lint.bad_date_trunc_isoweek"]} == {"nobigqueryonlyfunction"}


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------


def sqlmesh_command() -> t.List[str]:
    script = Path(sys.executable).with_name("sqlmesh")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from sqlmesh.cli.main import cli; sys.exit(cli())"]


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = {
        "week": sql_model("week", q("DATE(DATE_TRUNC(d, WEEK))")),
        "wall_clock": sql_model("wall_clock", q("CURRENT_DATE()")),
        "clean": sql_model("clean", q("DATE(DATE_TRUNC(d, WEEK(MONDAY)))")),
    }
    return write_project(tmp_path_factory.mktemp("cliproject"), models)


@pytest.mark.parametrize(
    "model, rule, ok",
    [("week", "noplainweektrunc", False), ("wall_clock", "nowallclock", False), ("clean", None, True)],
)
def test_sqlmesh_lint_cli(cli_project: Path, model: str, rule: t.Optional[str], ok: bool) -> None:
    env = {**os.environ, "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS": "1"}
    result = subprocess.run(
        [*sqlmesh_command(), "-p", str(cli_project), "lint", "--model", f"lint.{model}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    if ok:
        assert result.returncode == 0, output
    else:
        assert result.returncode != 0, output
        assert rule in output, output
