"""Reviewing a change in a virtual environment, the way README "Reviewing a change" says.

On a copy of the project (so the test can edit models) and a tiny generated data set on a
local DuckDB file, with the clock pinned to the morning after the last day of data:

1. `plan` builds prod;
2. a column added to a mart (`revenue.fct_revenue`) is a NON_BREAKING change: `plan dev`
   backfills that model alone; its downstream (`revenue.revenue_daily`) is reused from
   prod, not rebuilt;
3. `table_diff prod:dev` shows the added column and every row matching on the grain;
4. `plan` to prod promotes it virtually: nothing missing, nothing backfilled, no new
   physical table, and prod's view now reads the very table `dev` built;
5. a BREAKING change to a staging model (`staging.stg_stripe__product`) in dev backfills
   exactly that model and its descendants in the DAG, nothing else;
6. invalidating `dev` and running the janitor drops the `*__dev` view schemas and every
   physical table no environment uses any more, and leaves prod's data as it was.

Everything runs through the Python API: one `Context`, reloaded after each edit, plans
with `skip_tests` and `skip_linter` (`make test` runs the YAML tests and `sqlmesh lint`).
The workflow runs once, in a module fixture that records what each step did (from the
plan, from SQLMesh state, from the DuckDB catalog, and from a hook on the snapshot
evaluator that notes every model whose query runs); the tests assert on the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import threading
from pathlib import Path

import duckdb
import pytest
import time_machine
from conftest import copy_project, load_script

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
END = dt.date(2025, 2, 9)  # last day of generated data
NOW = dt.datetime(END.year, END.month, END.day, 6, 0, tzinfo=dt.timezone.utc) + dt.timedelta(days=1)

MART = "revenue.fct_revenue"  # gets a new column (non-breaking)
MART_CHILD = "revenue.revenue_daily"  # reads MART; indirectly non-breaking
MART_KEY = "charge_id"  # MART's grain
ADDED_COLUMN = "is_large_charge"
STAGING = "staging.stg_stripe__product"  # gets new logic in a column (breaking)
PROD_SCHEMAS = ("seeds", "staging", "intermediate", "product", "acquisition", "revenue", "customers", "sales")


def _load_generator():
    return load_script("generate_data")


def _model_file(project: Path, model: str) -> Path:
    (path,) = [p for p in (project / "models").rglob(f"{model.split('.')[1]}.sql")]
    return path


def _add_column_to_mart(project: Path) -> None:
    """Append one projection to the final SELECT of MART (before its last FROM)."""
    path = _model_file(project, MART)
    sql = path.read_text()
    cut = sql.rfind("\nFROM ")
    assert cut > 0 and "c.amount_usd" in sql, f"{path} changed shape; update the test's edit"
    addition = f",\n  (c.amount_usd >= 100)::BOOL AS {ADDED_COLUMN} /* charge of USD 100 or more */"
    path.write_text(sql[:cut] + addition + sql[cut:])


def _change_staging_logic(project: Path) -> None:
    """Upper-case the product name: same columns, different values (a breaking change)."""
    path = _model_file(project, STAGING)
    sql = path.read_text()
    old = "p.name::STRING AS product_name"
    assert sql.count(old) == 1, f"{path} changed shape; update the test's edit"
    path.write_text(sql.replace(old, "UPPER(p.name)::STRING AS product_name"))


class _Project:
    """Point SQLMesh at the copy's DuckDB file and a private cache while a block runs."""

    def __init__(self, project: Path, db: Path):
        self.project = project
        self.values = {
            "GROWTHMESH_DUCKDB": str(db),
            "GROWTHMESH_START": START.isoformat(),
            "GROWTHMESH_CACHE_DIR": str(project / ".cache"),
        }

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def context(self):
        from sqlmesh import Context

        return Context(paths=self.project)


class _EvaluationRecorder:
    """Records the name of every snapshot SQLMesh evaluates (runs a model's query for)."""

    def __init__(self, monkeypatch):
        from sqlmesh.core.snapshot.evaluator import SnapshotEvaluator

        self.names: list[str] = []
        lock = threading.Lock()
        original = SnapshotEvaluator.evaluate

        def evaluate(evaluator, snapshot, *args, **kwargs):
            with lock:
                self.names.append(snapshot.model.name)
            return original(evaluator, snapshot, *args, **kwargs)

        monkeypatch.setattr(SnapshotEvaluator, "evaluate", evaluate)

    def take(self) -> set[str]:
        names, self.names = set(self.names), []
        return names


def _duckdb_fetch(db: Path):
    """A `fetchall(sql, params)` on the DuckDB file, for when no Context holds it open."""

    def fetch(sql: str, params=None):
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    return fetch


def _context_fetch(context):
    """A `fetchall(sql, params)` through an open Context's connection (DuckDB allows one
    configuration of connections per file per process)."""
    cursor = context.engine_adapter.cursor

    def fetch(sql: str, params=None):
        cursor.execute(sql, params or [])
        return cursor.fetchall()

    return fetch


def _physical_tables(fetch) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            # a VIEW model's physical object is a view (staging.stg_quarantine)
            "WHERE table_type IN ('BASE TABLE', 'VIEW') AND table_schema LIKE 'sqlmesh\\_\\_%' ESCAPE '\\'"
        )
    }


def _schemas(fetch) -> set[str]:
    return {r[0] for r in fetch("SELECT DISTINCT schema_name FROM information_schema.schemata")}


def _view_target(fetch, view: str) -> str:
    """The physical table a virtual-layer view selects from, e.g. `sqlmesh__revenue.revenue__fct_revenue__123`."""
    schema, name = view.split(".")
    ((sql,),) = fetch("SELECT sql FROM duckdb_views() WHERE schema_name = ? AND view_name = ?", [schema, name])
    (target,) = set(re.findall(r'"?(sqlmesh__\w+)"?\."?(\w+)"?', sql))
    return ".".join(target)


def _fingerprints(fetch) -> dict[str, tuple[int, str]]:
    """Rows and an order-free checksum of every prod view."""
    views = fetch(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
        f"AND table_schema IN ({', '.join(repr(s) for s in PROD_SCHEMAS)})"
    )
    out = {}
    for schema, name in views:
        columns = [c for c, *_ in fetch(f"DESCRIBE {schema}.{name}")]
        (out[f"{schema}.{name}"],) = fetch(
            f"SELECT COUNT(*), COALESCE(CAST(SUM(HASH({', '.join(columns)})) AS VARCHAR), '') FROM {schema}.{name}"
        )
    return out


def _names(plan, snapshot_ids) -> set[str]:
    return {plan.snapshots[s_id].model.name for s_id in snapshot_ids}


def _physical(env, model: str) -> str:
    """Physical table of `model` in an environment, from SQLMesh state."""
    (table,) = [s.table_name() for s in env.snapshots if s.name.endswith(_fqn_suffix(model))]
    return ".".join(table.replace('"', "").split(".")[-2:])


def _fqn_suffix(model: str) -> str:
    schema, name = model.split(".")
    return f'"{schema}"."{name}"'


@dataclasses.dataclass
class Review:
    db: Path
    models: set[str]
    descendants: dict[str, set[str]]
    prod_tables: set[str]
    # step 2: plan dev after adding a column
    add_categories: dict[str, str]
    add_missing: set[str]
    add_evaluated: set[str]
    add_new_tables: set[str]
    add_child_tables: tuple[str, str]  # the child's physical table in prod, in dev
    mart_table_before: str  # MART's physical table in prod before the change
    mart_grain: list[str]
    # step 3: table_diff prod:dev
    diff_added: list[str]
    diff_removed: list[str]
    diff_modified: list[str]
    diff_rows: dict[str, int]
    # step 4: promote
    promote_missing: set[str]
    promote_requires_backfill: bool
    promote_evaluated: set[str]
    promote_new_tables: set[str]
    promote_state_tables: tuple[str, str]  # MART's physical table in dev, in prod (state)
    promote_view_tables: tuple[str, str]  # the table MART's dev view and prod view select from
    promote_prod_columns: list[str]
    # step 5: breaking change
    break_categories: dict[str, str]
    break_directly: set[str]
    break_indirectly: set[str]
    break_missing: set[str]
    break_evaluated: set[str]
    break_new_tables: set[str]
    # step 6: janitor
    dev_schemas_before: set[str]
    dev_schemas_after: set[str]
    orphaned: set[str]
    tables_after_janitor: set[str]
    prod_tables_in_use: set[str]
    fingerprints_before: dict
    fingerprints_after: dict
    dev_env_after: object
    prod_view_tables_after: dict[str, str]


def _changes(plan) -> dict[str, str]:
    """Change category of every directly or indirectly modified model of a plan."""
    modified = plan.directly_modified | set().union(*plan.indirectly_modified.values())
    return {plan.snapshots[s].model.name: plan.snapshots[s].change_category.name for s in modified}


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("change_review")
    project = copy_project(tmp / "project")
    db = tmp / "growthmesh.duckdb"
    generator = _load_generator()
    generator.write_duckdb(generator.generate(seed=3, users=200, start=START, end=END, dirty_rate=0.0), db)
    recorder = _EvaluationRecorder(monkeypatch)

    try:
        with _Project(project, db) as gm, time_machine.travel(NOW, tick=True):
            context = gm.context()
            fetch = _context_fetch(context)

            # 1. sqlmesh plan: build prod
            context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
            models = {m.name for m in context.models.values() if m.kind.name != "EXTERNAL"}
            descendants = {
                name: {context.get_model(d).name for d in context.dag.downstream(context.get_model(name).fqn)}
                for name in (MART, STAGING)
            }
            recorder.take()
            prod_tables = _physical_tables(fetch)

            # 2. add a column to a mart; sqlmesh plan dev
            _add_column_to_mart(project)
            context.load()
            plan = context.plan("dev", no_prompts=True, skip_tests=True, skip_linter=True)
            add_categories = _changes(plan)
            add_missing = _names(plan, [i.snapshot_id for i in plan.missing_intervals])
            context.apply(plan)
            add_evaluated = recorder.take()
            add_new_tables = _physical_tables(fetch) - prod_tables
            prod_env = context.state_reader.get_environment("prod")
            dev_env = context.state_reader.get_environment("dev")
            add_child_tables = (_physical(prod_env, MART_CHILD), _physical(dev_env, MART_CHILD))
            mart_table_before = _physical(prod_env, MART)
            mart_grain = [g.name for g in context.get_model(MART).grains]

            # 3. sqlmesh table_diff prod:dev <mart>
            (diff,) = context.table_diff("prod", "dev", select_models=[MART], show=False)
            schema_diff, row_diff = diff.schema_diff(), diff.row_diff()
            diff_rows = {
                "source": row_diff.source_count, "target": row_diff.target_count,
                "joined": row_diff.join_count, "full_match": row_diff.full_match_count,
                "source_only": row_diff.s_only_count, "target_only": row_diff.t_only_count,
            }

            # 4. sqlmesh plan: promote to prod
            tables_before_promote = _physical_tables(fetch)
            plan = context.plan(no_prompts=True, skip_tests=True, skip_linter=True)
            promote_missing = _names(plan, [i.snapshot_id for i in plan.missing_intervals])
            promote_requires_backfill = plan.requires_backfill
            context.apply(plan)
            promote_evaluated = recorder.take()
            promote_new_tables = _physical_tables(fetch) - tables_before_promote
            dev_env = context.state_reader.get_environment("dev")
            prod_env = context.state_reader.get_environment("prod")
            promote_state_tables = (_physical(dev_env, MART), _physical(prod_env, MART))
            schema, name = MART.split(".")
            promote_view_tables = (_view_target(fetch, f"{schema}__dev.{name}"), _view_target(fetch, MART))
            promote_prod_columns = [c for c, *_ in fetch(f"DESCRIBE {MART}")]
            fingerprints_before = _fingerprints(fetch)

            # 5. a breaking change in staging; sqlmesh plan dev
            tables_before_break = _physical_tables(fetch)
            _change_staging_logic(project)
            context.load()
            plan = context.plan("dev", no_prompts=True, skip_tests=True, skip_linter=True)
            break_categories = _changes(plan)
            break_directly = _names(plan, plan.directly_modified)
            break_indirectly = _names(plan, set().union(*plan.indirectly_modified.values()))
            break_missing = _names(plan, [i.snapshot_id for i in plan.missing_intervals])
            context.apply(plan)
            break_evaluated = recorder.take()
            break_new_tables = _physical_tables(fetch) - tables_before_break

            # 6. sqlmesh invalidate dev; sqlmesh janitor --ignore-ttl
            dev_schemas_before = {s for s in _schemas(fetch) if s.endswith("__dev")}
            tables_before_janitor = _physical_tables(fetch)
            prod_env = context.state_reader.get_environment("prod")
            prod_tables_in_use = {_physical(prod_env, m) for m in models}
            context.invalidate_environment("dev")
            context.run_janitor(ignore_ttl=True)
            dev_env_after = context.state_reader.get_environment("dev")
            context.close()

        fetch = _duckdb_fetch(db)  # a fresh connection sees what is really in the file
        yield Review(
            db=db, models=models, descendants=descendants, prod_tables=prod_tables,
            add_categories=add_categories, add_missing=add_missing, add_evaluated=add_evaluated,
            add_new_tables=add_new_tables, add_child_tables=add_child_tables,
            mart_table_before=mart_table_before, mart_grain=mart_grain,
            diff_added=[c for c, _ in schema_diff.added], diff_removed=[c for c, _ in schema_diff.removed],
            diff_modified=list(schema_diff.modified), diff_rows=diff_rows,
            promote_missing=promote_missing, promote_requires_backfill=promote_requires_backfill,
            promote_evaluated=promote_evaluated, promote_new_tables=promote_new_tables,
            promote_state_tables=promote_state_tables, promote_view_tables=promote_view_tables,
            promote_prod_columns=promote_prod_columns,
            break_categories=break_categories, break_directly=break_directly,
            break_indirectly=break_indirectly, break_missing=break_missing, break_evaluated=break_evaluated,
            break_new_tables=break_new_tables,
            dev_schemas_before=dev_schemas_before,
            dev_schemas_after={s for s in _schemas(fetch) if s.endswith("__dev")},
            orphaned=tables_before_janitor - prod_tables_in_use,
            tables_after_janitor=_physical_tables(fetch),
            prod_tables_in_use=prod_tables_in_use,
            fingerprints_before=fingerprints_before, fingerprints_after=_fingerprints(fetch),
            dev_env_after=dev_env_after,
            prod_view_tables_after={m: _view_target(fetch, m) for m in models},
        )
    finally:
        monkeypatch.undo()


def test_prod_build_made_one_physical_table_per_model(review):
    assert len(review.models) == len(list((ROOT / "models").rglob("*.sql")))
    assert len(review.prod_tables) == len(review.models)


def test_an_added_column_is_non_breaking_and_backfills_only_its_model(review):
    assert review.add_categories[MART] == "NON_BREAKING"
    # the mart's downstream changes version-free: indirectly non-breaking, reused as is
    assert review.descendants[MART], "pick a mart with downstream models: the test proves less without"
    assert all(review.add_categories[d] == "INDIRECT_NON_BREAKING" for d in review.descendants[MART])
    assert review.add_missing == {MART}
    assert review.add_evaluated == {MART}
    (new_table,) = review.add_new_tables
    assert new_table.startswith("sqlmesh__revenue.revenue__fct_revenue__")
    prod_child, dev_child = review.add_child_tables
    assert prod_child == dev_child  # revenue_daily in dev reads prod's table, not a rebuild


def test_table_diff_shows_the_added_column_and_matching_rows(review):
    assert review.mart_grain == [MART_KEY]  # what table_diff joins prod and dev on
    assert review.diff_added == [ADDED_COLUMN]
    assert review.diff_removed == [] and review.diff_modified == []
    rows = review.diff_rows
    assert rows["source"] > 0
    assert rows["source"] == rows["target"] == rows["joined"] == rows["full_match"]
    assert rows["source_only"] == rows["target_only"] == 0


def test_promoting_to_prod_is_a_virtual_update(review):
    assert review.promote_missing == set()
    assert review.promote_requires_backfill is False
    assert review.promote_evaluated == set()
    assert review.promote_new_tables == set()
    dev_table, prod_table = review.promote_state_tables
    assert dev_table == prod_table
    dev_view_table, prod_view_table = review.promote_view_tables
    assert dev_view_table == prod_view_table
    assert dev_view_table in review.add_new_tables  # the very table `plan dev` built
    assert ADDED_COLUMN in review.promote_prod_columns


def test_a_breaking_staging_change_rebuilds_exactly_its_downstream(review):
    downstream = review.descendants[STAGING]
    assert downstream and len(downstream) < len(review.models) - 1, "the change should reach some models, not all"
    assert review.break_directly == {STAGING}
    assert review.break_categories[STAGING] == "BREAKING"
    assert review.break_indirectly == downstream
    assert all(review.break_categories[d] == "INDIRECT_BREAKING" for d in downstream)
    assert review.break_missing == {STAGING} | downstream
    assert review.break_evaluated == {STAGING} | downstream
    assert len(review.break_new_tables) == 1 + len(downstream)  # one new physical table each


def test_janitor_drops_the_dev_environment_and_orphaned_tables(review):
    assert review.dev_schemas_before >= {"staging__dev", "revenue__dev"}
    assert review.dev_schemas_after == set()
    assert review.dev_env_after is None
    # orphaned: the tables the breaking change built in dev, and prod's mart table from
    # before the promotion
    assert review.orphaned == review.break_new_tables | {review.mart_table_before}
    assert review.orphaned & review.tables_after_janitor == set()
    assert review.tables_after_janitor == review.prod_tables_in_use


def test_janitor_leaves_prod_untouched(review):
    assert set(review.prod_view_tables_after) == review.models
    assert set(review.prod_view_tables_after.values()) == review.prod_tables_in_use
    assert review.fingerprints_after == review.fingerprints_before
    assert len(review.fingerprints_before) == len(review.models)
