"""Every model is valid BigQuery, as the `bigquery` gateway would send it.

The project is loaded on the `bigquery` gateway (its default, credential-free client makes
no network call) so macros render for BigQuery, not DuckDB. For each model:

- the query, rendered for a one-month interval, parses with sqlglot's BigQuery dialect with
  errors raised, and generates back with unsupported constructs raised; every function in
  it is one sqlglot knows as a BigQuery function (an unknown one, such as DuckDB's
  `json_valid` or `list_value`, is parsed as an anonymous call and fails the test);
- the CREATE TABLE that SQLMesh's BigQuery adapter builds for its physical table (columns,
  descriptions, PARTITION BY, CLUSTER BY) parses the same way;
- its physical design follows the rules in the README ("BigQuery physical design"): a
  day or month column to partition on where the model has one, partition and cluster
  columns of types BigQuery accepts, incremental models partitioned on their time column,
  event-scale models clustered, and query labels naming the app, layer and model.

The portability linter (`linter/portability.py`) runs over every model too, as
`sqlmesh lint` does. A model that only works on DuckDB fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import environ
import sqlmesh  # noqa: F401  (first: SQLMesh extends sqlglot's dialects before they are used)
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

ROOT = Path(__file__).resolve().parent.parent
INTERVAL = {"start": "2025-01-01", "end": "2025-01-31", "execution_time": "2025-02-01"}

# BigQuery: partition on DATE/TIMESTAMP/DATETIME (or INT64 ranges); at most four
# clustering columns, of orderable, non-floating types.
PARTITION_TYPES = {"DATE", "TIMESTAMP", "DATETIME"}
CLUSTER_TYPES = {"STRING", "INT64", "DATE", "TIMESTAMP", "DATETIME", "BOOL", "NUMERIC", "BIGNUMERIC", "BYTES"}
LAYERS = {"staging": "staging", "intermediate": "intermediate", "seeds": "seed"}
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{1,63}$")


def bigquery_problems(sql: str) -> list[str]:
    """What keeps `sql` from being BigQuery that sqlglot understands: a parse error, a
    construct the BigQuery generator cannot express, or a function unknown to BigQuery."""
    try:
        statements = sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as error:
        return [f"parse error: {str(error).splitlines()[0]}"]
    problems = []
    for statement in statements:
        if statement is None:
            continue
        try:
            statement.sql(dialect="bigquery", unsupported_level=ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as error:
            problems.append(f"unsupported on BigQuery: {error}")
        for call in statement.find_all(exp.Anonymous):
            problems.append(f"function unknown to BigQuery: {call.name}")
    return problems


@pytest.fixture(scope="module")
def bigquery_context(tmp_path_factory):
    from sqlmesh import Context

    tmp = tmp_path_factory.mktemp("bigquery-validity")
    with environ(
        GROWTHMESH_BQ_STATE_DUCKDB=str(tmp / "state.duckdb"),
        GROWTHMESH_BQ_PROJECT="growthmesh-validity",
        GROWTHMESH_STATE_PG_HOST=None,
    ):
        context = Context(paths=ROOT, gateway="bigquery")
        yield context
        context.close()


def _models(context, *, seeds: bool = True):
    return sorted(
        (m for m in context.models.values() if m.kind.name != "EXTERNAL" and (seeds or m.kind.name != "SEED")),
        key=lambda m: m.name,
    )


def _type(model, column: str) -> str | None:
    data_type = (model.columns_to_types or {}).get(column)
    return data_type.sql(dialect="bigquery") if data_type is not None else None


# --- the checker itself: it must reject what only DuckDB runs ---------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT json_valid(properties) FROM t", "function unknown to BigQuery: json_valid"),
        ("SELECT list_value(1, 2) AS xs", "function unknown to BigQuery: list_value"),
        ("SELECT strftime(event_at, '%Y-%m') FROM t", "function unknown to BigQuery: strftime"),
        ("SELECT epoch_ms(x) FROM t", "function unknown to BigQuery: epoch_ms"),
        ("SELECT * FROM t QUALIFY", "parse error"),
    ],
)
def test_checker_rejects_duckdb_only_sql(sql, expected):
    problems = bigquery_problems(sql)
    assert any(p.startswith(expected) for p in problems), problems


def test_checker_accepts_bigquery_sql():
    sql = (
        "SELECT DATE(DATE_TRUNC(d, WEEK(MONDAY))) AS w, SAFE.PARSE_JSON(p) IS NOT NULL AS ok, "
        "COUNTIF(x > 0) AS n FROM `proj`.`ds`.`t` GROUP BY 1, 2"
    )
    assert bigquery_problems(sql) == []


# --- every model -------------------------------------------------------------------------


def test_context_renders_for_bigquery(bigquery_context):
    assert bigquery_context.engine_adapter.dialect == "bigquery"
    # a macro with engine-specific renderings takes the BigQuery one
    stg = bigquery_context.render("staging.stg_segment__tracks", **INTERVAL).sql(dialect="bigquery")
    assert "PARSE_JSON" in stg and "json_valid" not in stg.lower()


def test_every_model_query_is_valid_bigquery(bigquery_context):
    failures = {}
    checked = 0
    for model in _models(bigquery_context, seeds=False):
        sql = bigquery_context.render(model, **INTERVAL).sql(dialect="bigquery")
        problems = bigquery_problems(sql)
        checked += 1
        if problems:
            failures[model.name] = problems
    assert checked == len(list((ROOT / "models").rglob("*.sql"))) - len(list((ROOT / "models" / "seeds").glob("*.sql")))
    assert failures == {}


def test_every_physical_table_ddl_is_valid_bigquery(bigquery_context):
    adapter = bigquery_context.engine_adapter
    statements: list[str] = []
    original = adapter._execute
    adapter._execute = lambda sql, *args, **kwargs: statements.append(sql)  # record, never send
    try:
        for model in _models(bigquery_context):
            adapter.create_table(
                f"growthmesh-validity.sqlmesh__{model.schema_name}.{model.view_name}__ddl",
                target_columns_to_types=model.columns_to_types,
                partitioned_by=model.partitioned_by,
                partition_interval_unit=model.partition_interval_unit,
                clustered_by=model.clustered_by,
                table_description=model.description,
                column_descriptions=model.column_descriptions,
            )
    finally:
        adapter._execute = original
    creates = [s for s in statements if s.startswith("CREATE TABLE")]
    assert len(creates) == len(_models(bigquery_context))
    failures = {s[:120]: bigquery_problems(s) for s in creates if bigquery_problems(s)}
    assert failures == {}
    fct_events = next(s for s in creates if "`sqlmesh__product`.`fct_events__ddl`" in s)
    assert "PARTITION BY `event_date` CLUSTER BY `user_id`, `event_name`" in fct_events


def test_every_model_has_a_bigquery_physical_design(bigquery_context):
    problems = []
    for model in _models(bigquery_context, seeds=False):
        if model.kind.is_view:
            continue  # stores nothing: no partitions or clusters to have
        partition = [c.name for c in model.partitioned_by]
        cluster = [c.name for c in model.clustered_by]
        dates = [c for c, t in (model.columns_to_types or {}).items() if t.sql(dialect="bigquery") == "DATE"]
        if not partition and not cluster:
            problems.append(f"{model.name}: neither partitioned nor clustered")
        if len(partition) > 1:
            problems.append(f"{model.name}: BigQuery partitions on one column")
        for column in partition:
            if _type(model, column) not in PARTITION_TYPES:
                problems.append(f"{model.name}: partition column {column} is {_type(model, column)}")
        if len(cluster) > 4:
            problems.append(f"{model.name}: more than four clustering columns")
        for column in cluster:
            if _type(model, column) not in CLUSTER_TYPES:
                problems.append(f"{model.name}: cluster column {column} is {_type(model, column)}")
        time_column = getattr(model.kind, "time_column", None)
        if time_column is not None:
            if partition != [time_column.column.name]:
                problems.append(f"{model.name}: incremental on {time_column.column.name} but partitioned by {partition}")
            if model.kind.name == "INCREMENTAL_BY_TIME_RANGE" and model.name.split(".")[1].startswith(("fct_", "stg_segment")) and not cluster:
                problems.append(f"{model.name}: event-scale table without clustering")
        # a model whose grain includes a day or month column partitions on it
        grain_columns = {c.name for g in model.grains for c in g.find_all(exp.Column)} | {
            g.name for g in model.grains if isinstance(g, exp.Column)
        }
        grain_dates = [c for c in dates if c in grain_columns]
        if grain_dates and not partition:
            problems.append(f"{model.name}: grain has {grain_dates[0]} but the table is not partitioned")
    assert problems == []


def test_every_model_labels_its_bigquery_jobs(bigquery_context):
    problems = []
    for model in _models(bigquery_context):
        label = model.session_properties.get("query_label")
        if label is None:
            problems.append(f"{model.name}: no session_properties query_label")
            continue
        pairs = {t.expressions[0].name: t.expressions[1].name for t in label.expressions}
        schema, table = model.name.split(".")
        expected = {"app": "growthmesh", "layer": LAYERS.get(schema, "mart"), "model": table}
        if pairs != expected:
            problems.append(f"{model.name}: query_label {pairs}, expected {expected}")
        problems += [f"{model.name}: label {k}={v} is not a BigQuery label" for k, v in pairs.items() if not (LABEL_VALUE.match(k) and LABEL_VALUE.match(v))]
    assert problems == []


def test_portability_linter_passes_on_every_model(bigquery_context):
    violations = bigquery_context.lint_models(raise_on_error=False)
    assert [f"{v.model.name}: {v.rule.name}: {v.violation_msg}" for v in violations] == []
