"""Shared pytest setup.

Each pytest process (one per xdist worker under `make test`) gets its own SQLMesh cache
directory, so parallel workers never write the same cache files.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

# SQLMesh loads a project and renders its models in a pool of forked processes (2 on this
# 2-core machine). Under pytest-xdist every core is already busy with another test file, so
# the pool only adds forks: one process each costs ~9% less CPU for the same work. Set
# before any test imports SQLMesh (it reads this once), and inherited by the CLI
# subprocesses the tests start.
os.environ.setdefault("MAX_FORK_WORKERS", "1")


def load_script(name: str):
    """Import scripts/<name>.py as module `name` (executed afresh on every call)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def environ(**values: str | None):
    """Set (or, with None, unset) environment variables inside the block; restore after."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def without_yaml_tests():
    """Load SQLMesh projects without their YAML unit tests inside the block.

    `make test` runs them once with `sqlmesh test` and lints once with `sqlmesh lint`;
    parsing them is a large part of a Context load, so tests that only plan, run or render
    skip both: without the tests loaded, the linter's `nomissingunittest` rule fails every
    model, so plans of a Context loaded in the block pass `skip_linter=True`.
    """
    from sqlmesh.core.loader import Loader, SqlMeshLoader

    with pytest.MonkeyPatch.context() as patch:
        # SqlMeshLoader overrides Loader's method: patch both
        patch.setattr(Loader, "load_model_tests", lambda self: [])
        patch.setattr(SqlMeshLoader, "load_model_tests", lambda self: [])
        yield


@pytest.fixture(scope="session", autouse=True)
def private_sqlmesh_cache(tmp_path_factory):
    saved = os.environ.get("GROWTHMESH_CACHE_DIR")
    os.environ["GROWTHMESH_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "sqlmesh-cache")
    yield
    if saved is None:
        os.environ.pop("GROWTHMESH_CACHE_DIR", None)
    else:
        os.environ["GROWTHMESH_CACHE_DIR"] = saved


def copy_project(target):
    """Copy what SQLMesh loads to plan and run into `target` (created), without the YAML unit
    tests: `make test` runs those and `sqlmesh lint`, and parsing them is half of a Context
    load. Plans in the copy skip tests (and, on the CLI, the linter). Returns `target`."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    target = Path(target)
    target.mkdir(parents=True)
    for folder in ("models", "macros", "materializations", "audits", "linter", "seeds"):
        shutil.copytree(root / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.yaml", "external_models.yaml"):
        shutil.copyfile(root / name, target / name)
    return target


# The prod build several test files read: 300 generated users, Jan-Feb 2025, 2% dirty rows,
# planned the morning after the data. Built once per pytest run (the first worker to ask
# builds it while the others wait on a lock) and copied to each asker.
STANDARD_START, STANDARD_END = "2025-01-01", "2025-02-28"
STANDARD_DATA = dict(seed=7, users=300, dirty_rate=0.02)
STANDARD_BUILT_AT = "2025-03-01T06:00:00+00:00"


def standard_build(tmp_path_factory, into):
    """A copy of the standard prod build as `into`/growthmesh.duckdb (SQLMesh state inside,
    so a Context on it sees prod as built). Returns (the copy's path, the generated tables)."""
    import datetime as dt
    import fcntl
    import shutil
    from pathlib import Path

    import time_machine

    generator = load_script("generate_data")
    start, end = dt.date.fromisoformat(STANDARD_START), dt.date.fromisoformat(STANDARD_END)
    tables = generator.generate(start=start, end=end, **STANDARD_DATA)
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "standard-build"
    shared.mkdir(exist_ok=True)
    db = shared / "growthmesh.duckdb"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / "done").exists():
            from sqlmesh import Context

            for stale in (db, Path(str(db) + ".wal")):
                stale.unlink(missing_ok=True)
            generator.write_duckdb(tables, db)
            with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=STANDARD_START), without_yaml_tests(), \
                    time_machine.travel(dt.datetime.fromisoformat(STANDARD_BUILT_AT), tick=False):
                context = Context(paths=Path(__file__).resolve().parent.parent)
                try:
                    context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
                finally:
                    context.close()
            (shared / "done").touch()
    target = Path(into) / "growthmesh.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, target)
    if Path(str(db) + ".wal").exists():
        shutil.copyfile(str(db) + ".wal", str(target) + ".wal")
    return target, tables


FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def fingerprint(con, relation: str) -> tuple[int, str]:
    """Rows and an order-free checksum of a relation (a table, a view or a parenthesised
    query) on a DuckDB connection or cursor: the sum of one hash per row over every column,
    so a missing, extra or changed row changes it. Finite floats are rounded to 9
    significant digits so a different summation order cannot flip the last bit."""
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation} AS r").fetchall()
    parts = [
        f'CASE WHEN isfinite("{c}") THEN ROUND("{c}", 9 - CAST(CEIL(LOG10(ABS("{c}") + 1)) AS INT)) ELSE "{c}" END'
        if t in FLOAT_TYPES else f'"{c}"'
        for c, t, *_ in columns
    ]
    rows, digest = con.execute(
        f"SELECT COUNT(*), COALESCE(CAST(SUM(HASH({', '.join(parts)})) AS VARCHAR), '') FROM {relation} AS r"
    ).fetchone()
    return rows, digest


def view_fingerprints(con, exclude=()) -> dict[str, tuple[int, str]]:
    """`fingerprint` of every view of the connection's database outside SQLMesh's own
    schemas (every model of prod), but the `schema.name`s in `exclude`."""
    views = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'VIEW' AND table_catalog = current_database() AND table_schema NOT LIKE 'sqlmesh%'"
    ).fetchall()
    return {
        f"{schema}.{name}": fingerprint(con, f'"{schema}"."{name}"')
        for schema, name in sorted(views) if f"{schema}.{name}" not in exclude
    }


# The growth report's HTML (scripts/report.py): each chart's figure is a JSON block, and
# plotly.js is inlined once in <script id="plotlyjs">.
REPORT_FIGURE_BLOCK = r'<script type="application/json" class="figure-data" data-target="([^"]+)">(.*?)</script>'


def report_figures(document: str) -> dict[str, dict]:
    """Every chart's plotly figure in a report, by its chart id."""
    import json
    import re

    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(REPORT_FIGURE_BLOCK, document, re.S)}


def without_plotlyjs(document: str) -> str:
    """The report less the inlined plotly.js bundle (a vendor file: its license comments and
    its unused link to plotly.com are not the report's content)."""
    start = document.index('<script id="plotlyjs">')
    return document[:start] + document[document.index("</script>", start):]
