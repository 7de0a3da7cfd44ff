"""Column-level lineage: every column of every mart and intermediate model resolves,
through every model in between, to columns of the raw contract (the EXTERNAL models of
external_models.yaml) or of a seed, as `sqlmesh ui` shows it.

The walk uses SQLMesh's own lineage (`sqlmesh.core.lineage.lineage`, what the UI's
lineage endpoint calls) on the rendered, qualified queries: no database build. A column
fails when its lineage raises, when a leaf is a column of a model that is neither
external nor a seed (the chain is broken), when a leaf is `*` or a column its source does
not declare, or when the column cannot be found at all. A leaf with no column under it
(a literal, a calendar spine generated from the processed interval, a COUNT(*) row count)
genuinely has no source and passes. The last tests start `sqlmesh ui`, as `make ui`
does, and read the models and one column's lineage from its HTTP API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlglot import exp, parse

from sqlmesh.core.dialect import normalize_model_name
from sqlmesh.core.lineage import lineage

ROOT = Path(__file__).resolve().parent.parent
CHECKED_LAYERS = ("models/marts/", "models/intermediate/")
DIALECT = "bigquery"

if t.TYPE_CHECKING:
    from sqlmesh.core.model import Model


# --- the checker ------------------------------------------------------------------------


@dataclass
class Resolution:
    """Where one column comes from: raw (model, column) leaves and what went wrong."""

    sources: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


class LineageChecker:
    """Walks a column's lineage model by model down to EXTERNAL and SEED columns.

    `get_model` maps a fully qualified name (as `normalize_model_name` spells it) to the
    project's model, or None for a table the project does not know.
    """

    def __init__(self, get_model: t.Callable[[str], t.Optional[Model]], default_catalog: t.Optional[str]):
        self.get_model = get_model
        self.default_catalog = default_catalog
        self._memo: dict[tuple[str, str], Resolution] = {}

    def check_model(self, model: Model) -> dict[str, Resolution]:
        """Every output column of `model` with its resolution."""
        return {column: self._resolve_in(model, column, ()) for column in output_columns(model)}

    def _resolve(self, fqn: str, column: str, stack: tuple[tuple[str, str], ...]) -> Resolution:
        model = self.get_model(fqn)
        if model is None:
            name = self._short(fqn)
            return Resolution(problems=[f"leaf {name}.{column}: {name} is not a model of the project"])
        if model.kind.is_external or model.kind.is_seed:
            layer = "external" if model.kind.is_external else "seed"
            declared = {c.lower() for c in (model.columns_to_types or {})}
            if column == "*":
                return Resolution(problems=[f"leaf {model.name}.*: a star, not a column"])
            if column.lower() not in declared:
                return Resolution(problems=[f"leaf {model.name}.{column}: not a declared column of {layer} {model.name}"])
            return Resolution(sources={(model.name, column.lower())})
        key = (fqn, column)
        if key in self._memo:
            return self._memo[key]
        if key in stack:
            return Resolution(problems=[f"{model.name}.{column}: lineage cycles back on itself"])
        result = self._resolve_in(model, column, stack + (key,))
        self._memo[key] = result
        return result

    def _short(self, fqn: str) -> str:
        """'"catalog"."schema"."table"' as 'schema.table' (the catalog when it is not the default)."""
        name = fqn.replace('"', "")
        prefix = f"{self.default_catalog}."
        return name[len(prefix):] if self.default_catalog and name.startswith(prefix) else name

    def _resolve_in(self, model: Model, column: str, stack: tuple[tuple[str, str], ...]) -> Resolution:
        result = Resolution()
        where = f"{model.name}.{column}"
        if column == "*":
            result.problems.append(f"leaf {where}: a star, not a column")
            return result
        if column not in output_columns(model):
            result.problems.append(f"{where}: no such output column in {model.name}")
            return result
        try:
            # trim_selects=False: the leaves are all this walk reads, and trimming copies every select
            root = lineage(exp.to_identifier(column, quoted=True).sql(dialect=model.dialect), model, trim_selects=False)
        except Exception as error:  # noqa: BLE001 - any failure of lineage is the finding
            result.problems.append(f"{where}: lineage raised {type(error).__name__}: {error}")
            return result
        for node in root.walk():
            if node.downstream:
                continue
            if isinstance(node.expression, exp.Table):
                upstream = normalize_model_name(
                    node.expression, default_catalog=self.default_catalog, dialect=model.dialect
                )
                if upstream == model.fqn:
                    # the model's own previous contents (@this_model, an incremental model that
                    # rewrites older rows): not a source; its other branches must resolve
                    continue
                leaf_column = exp.to_column(node.name).name
                if leaf_column == "*":
                    result.problems.append(f"{where}: leaf {upstream}.* (a star, not a column)")
                    continue
                inner = self._resolve(upstream, leaf_column, stack)
                result.sources |= inner.sources
                result.problems.extend(inner.problems)  # each names the model and column it is in
            else:
                # No table under this leaf: fine for a constant or a row count (COUNT(*)),
                # not for a column or a star whose source lineage could not find.
                dangling = [
                    c.sql(dialect=model.dialect)
                    for c in node.expression.find_all(exp.Column, exp.Star)
                    if not (isinstance(c, exp.Star) and isinstance(c.parent, exp.Count))
                ]
                if dangling:
                    result.problems.append(f"{where}: unresolved reference {', '.join(sorted(set(dangling)))}")
        return result


def output_columns(model: Model) -> list[str]:
    """The model's output column names, from its rendered query."""
    query = model.render_query()
    if query is None:
        return []
    return list(query.named_selects)


def failures(results: dict[str, dict[str, Resolution]]) -> list[str]:
    return [
        f"{model}.{column}: {problem}"
        for model, columns in sorted(results.items())
        for column, resolution in columns.items()
        for problem in dict.fromkeys(resolution.problems)
    ]


# --- the project ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The project's Context on a fresh, empty DuckDB file (lineage needs no data)."""
    from sqlmesh import Context
    from sqlmesh.core.loader import Loader

    saved = os.environ.get("GROWTHMESH_DUCKDB")
    os.environ["GROWTHMESH_DUCKDB"] = str(tmp_path_factory.mktemp("lineage") / "lineage.duckdb")
    try:
        with pytest.MonkeyPatch.context() as patch:
            # The YAML unit tests are `sqlmesh test`'s; parsing them is a third of a cold load.
            patch.setattr(Loader, "load_model_tests", lambda self: [])
            ctx = Context(paths=ROOT)
        yield ctx
        ctx.close()
    finally:
        if saved is None:
            os.environ.pop("GROWTHMESH_DUCKDB", None)
        else:
            os.environ["GROWTHMESH_DUCKDB"] = saved


@pytest.fixture(scope="module")
def checked_models(context) -> list[Model]:
    models = []
    for model in context.models.values():
        path = model._path.resolve().relative_to(ROOT).as_posix() if model._path else ""
        if path.startswith(CHECKED_LAYERS):
            models.append(model)
    return sorted(models, key=lambda m: m.name)


@pytest.fixture(scope="module")
def project_lineage(context, checked_models) -> dict[str, dict[str, Resolution]]:
    checker = LineageChecker(context.models.get, context.default_catalog)
    return {model.name: checker.check_model(model) for model in checked_models}


def test_every_mart_and_intermediate_model_is_checked(checked_models):
    names = {m.name for m in checked_models}
    on_disk = {p.stem for layer in CHECKED_LAYERS for p in (ROOT / layer).rglob("*.sql")}
    assert {n.split(".")[-1] for n in names} == on_disk
    assert all(output_columns(m) for m in checked_models), "a checked model has no output columns"


def test_every_mart_column_resolves_to_raw_contract_or_seed_columns(project_lineage):
    problems = failures(project_lineage)
    checked = sum(len(columns) for columns in project_lineage.values())
    assert not problems, f"{len(problems)} lineage problem(s) over {checked} columns:\n" + "\n".join(problems)


def test_lineage_reaches_raw_columns_through_every_layer(context, project_lineage):
    """The walk really lands on raw columns (not just 'no problem found'): MRR goes mart ->
    intermediate -> mart -> staging -> raw Stripe prices and quantities, converted by the FX seed."""
    ending_mrr = project_lineage["revenue.mrr_movements_monthly"]["ending_mrr_usd"].sources
    assert {
        ("raw_stripe.price", "unit_amount"),
        ("raw_stripe.price", "recurring_interval"),
        ("raw_stripe.subscription_history", "quantity"),
        ("seeds.fx_rates", "usd_per_unit"),
    } <= ending_mrr, ending_mrr
    growth = project_lineage["product.growth_accounting"]
    assert ("raw_segment.tracks", "timestamp") in growth["active_users"].sources | growth["new_users"].sources
    contract = {m.name for m in context.models.values() if m.kind.is_external or m.kind.is_seed}
    reached = {m for columns in project_lineage.values() for r in columns.values() for m, _ in r.sources}
    assert reached and reached <= contract, sorted(reached - contract)


# --- the checker can fail ---------------------------------------------------------------


RAW_EVENTS = {"id": "STRING", "user_id": "STRING", "ts": "TIMESTAMP"}


def _tiny_project(sql: str, contract: dict[str, str] = RAW_EVENTS):
    """One external table raw_x.events declaring `contract` and one model over it whose
    schema sees the columns of RAW_EVENTS (id, user_id, ts)."""
    from sqlglot.schema import MappingSchema

    from sqlmesh.core.model import create_external_model, load_sql_based_model

    def typed(columns: dict[str, str]) -> dict[str, exp.DataType]:
        return {c: exp.DataType.build(d, dialect=DIALECT) for c, d in columns.items()}

    raw = create_external_model("raw_x.events", columns=typed(contract), dialect=DIALECT)
    model = load_sql_based_model(parse(sql, read=DIALECT), dialect=DIALECT)
    schema = MappingSchema(dialect=DIALECT, normalize=False)
    schema.add_table(raw.fqn, typed(RAW_EVENTS), dialect=DIALECT)
    model.update_schema(schema)
    models = {raw.fqn: raw, model.fqn: model}
    return LineageChecker(models.get, None), model


def test_checker_passes_a_clean_model():
    checker, model = _tiny_project(
        """
        MODEL (name marts.ok, kind FULL);
        SELECT e.user_id::STRING AS user_id, COUNT(e.id)::INT64 AS events, COUNT(*)::INT64 AS n_rows,
          'web'::STRING AS channel
        FROM raw_x.events AS e GROUP BY e.user_id
        """
    )
    results = checker.check_model(model)
    assert failures({"marts.ok": results}) == []
    assert results["user_id"].sources == {("raw_x.events", "user_id")}
    assert results["events"].sources == {("raw_x.events", "id")}
    assert results["n_rows"].sources == set()  # a row count: rows, not a column
    assert results["channel"].sources == set()  # a constant: no source, no problem


def test_checker_flags_select_star_of_an_unknown_table():
    checker, model = _tiny_project("MODEL (name marts.bad_star, kind FULL); SELECT * FROM raw_x.undeclared")
    problems = failures({"marts.bad_star": checker.check_model(model)})
    assert problems and all("*" in p for p in problems), problems


def test_checker_flags_a_column_the_raw_contract_does_not_declare():
    checker, model = _tiny_project(
        """
        MODEL (name marts.bad_column, kind FULL);
        SELECT e.user_id::STRING AS user_id, e.utm_source::STRING AS utm_source FROM raw_x.events AS e
        """
    )
    results = checker.check_model(model)
    # sqlglot's qualify rejects the whole query, so both columns are flagged
    assert all(r.problems for r in results.values()), results
    assert "utm_source" in results["utm_source"].problems[0]


def test_checker_flags_a_leaf_the_external_model_does_not_declare():
    """A model whose schema knows a raw column the contract does not declare (a stale schema)."""
    checker, model = _tiny_project(
        "MODEL (name marts.stale, kind FULL); SELECT e.user_id::STRING AS user_id FROM raw_x.events AS e",
        contract={"id": "STRING", "ts": "TIMESTAMP"},
    )
    results = checker.check_model(model)
    assert results["user_id"].problems == ["leaf raw_x.events.user_id: not a declared column of external raw_x.events"]


def test_checker_flags_a_chain_broken_at_a_table_that_is_no_model():
    checker, model = _tiny_project(
        """
        MODEL (name marts.bad_chain, kind FULL);
        SELECT e.user_id::STRING AS user_id, s.plan::STRING AS plan
        FROM raw_x.events AS e LEFT JOIN scratch.plans AS s ON s.user_id = e.user_id
        """
    )
    results = checker.check_model(model)
    assert results["user_id"].problems == []
    assert len(results["plan"].problems) == 1 and "scratch" in results["plan"].problems[0]
    assert "not a model of the project" in results["plan"].problems[0]


def test_checker_flags_a_column_missing_from_the_model():
    checker, model = _tiny_project("MODEL (name marts.ok2, kind FULL); SELECT e.id::STRING AS id FROM raw_x.events AS e")
    resolution = checker._resolve_in(model, "user_id", ())
    assert resolution.problems == ["marts.ok2.user_id: no such output column in marts.ok2"]


# --- `make ui`: sqlmesh ui serves models and column lineage on 127.0.0.1 ---------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 120) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    """`sqlmesh ui` as `make ui` runs it (the virtualenv's console script), on a free
    port of 127.0.0.1 and an empty DuckDB file; yields its base URL."""
    sqlmesh = Path(sys.executable).with_name("sqlmesh")
    assert sqlmesh.exists(), f"no sqlmesh console script beside {sys.executable}"
    port = _free_port()
    env = {**os.environ, "GROWTHMESH_DUCKDB": str(tmp_path_factory.mktemp("ui") / "ui.duckdb")}
    log = tmp_path_factory.getbasetemp() / "sqlmesh-ui.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(sqlmesh), "ui", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a start-up limit so a broken server fails, not hangs
        while True:
            if server.poll() is not None:
                pytest.fail(f"sqlmesh ui exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                status, _ = _get(f"{base}/api/meta", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"sqlmesh ui did not answer on {base}:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def test_ui_serves_the_app_and_the_models(ui_server):
    status, page = _get(f"{ui_server}/")
    assert status == 200 and b'id="root"' in page, page[:500]  # the web client is installed
    status, body = _get(f"{ui_server}/api/models")
    assert status == 200, body[:500]
    models = {m["name"]: m for m in json.loads(body)}
    assert "revenue.mrr_movements_monthly" in models and "raw_stripe.price" in models
    columns = {c["name"] for c in models["revenue.mrr_movements_monthly"]["columns"]}
    assert {"month_start", "ending_mrr_usd", "arr_usd"} <= columns


def test_ui_column_lineage_reaches_the_raw_contract(ui_server):
    """The graph the UI draws for one column: mart -> intermediate -> staging -> raw."""
    status, body = _get(f"{ui_server}/api/lineage/revenue.mrr_movements_monthly/ending_mrr_usd?models_only=true")
    assert status == 200, body[:500]
    graph = json.loads(body)
    nodes = {name.replace('"', "").split(".", 1)[1]: columns for name, columns in graph.items()}
    assert "mrr_usd" in nodes["intermediate.int_mrr_monthly"]
    assert "unit_amount" in nodes["raw_stripe.price"]
    assert "quantity" in nodes["raw_stripe.subscription_history"]
    # without models_only (what the graph requests) the CTEs in between are nodes too
    status, body = _get(f"{ui_server}/api/lineage/revenue.mrr_movements_monthly/ending_mrr_usd")
    assert status == 200, body[:500]
    names = [name.replace('"', "") for name in json.loads(body)]
    assert any(name.endswith("revenue.mrr_movements_monthly: sums") for name in names), names
    assert any(name.endswith("raw_stripe.price") for name in names), names
