"""Interruptions, concurrent runs and audits: what happens when things go wrong on the local gateway.

1. A `sqlmesh run` killed with SIGKILL while it evaluates models loses nothing: a second
   `sqlmesh run` finishes the job, and every model ends identical to a run that was never
   interrupted, with the same SQLMesh state (intervals, environment, physical tables), and a
   third run finds nothing to do.
2. Two `sqlmesh run` at once on one DuckDB file: the second is refused (DuckDB's file lock)
   and exits 1, having evaluated nothing; the last line it prints is DuckDB's
   `IO Error: Could not set lock on file "<file>": Conflicting lock is held in <python> (PID n)`.
   (Before it, SQLMesh prints a misleading "Initializing new project state..." and a Python
   traceback: it takes the failed connection for an empty state. Nothing is written: every
   statement it tries fails on the lock.) The first run completes and its tables equal the
   uninterrupted run's.
3. A change that fails a blocking audit in `sqlmesh plan dev` is not built into `dev`, cannot
   be promoted with `sqlmesh plan`, and leaves prod exactly as it was. A failing non-blocking
   audit (`raw_rows_reconcile` on `staging.stg_raw_reconciliation`, the project's only one)
   warns and stops neither the run nor (slow) a `plan dev`.

The slow tests add kill points (after 1, 5 and 30 batches, and two and three kills in a row),
`plan` finding no changes after a killed run, two runs started at the very same moment, and
the non-blocking audit in `plan dev`.

One generated data set (300 users, 2025-01-01 .. 2025-02-28, 2% dirty rows) on a copy of the
project, with the last three days' arrivals held back: prod is built (in process, the clock
pinned at the morning of the first held day), the days are delivered, and then every copy of
that file runs the real CLI (`sqlmesh.cli.main.cli`, what `.venv/bin/sqlmesh` calls) as a
subprocess with the clock pinned to the next morning (`sqlmesh run` has no execution-time
option; `time_machine` pins it). The output is read line by line while the command runs: a
`[1/1] <model> ...` line is printed once a batch is evaluated, audited and recorded in state,
which is where the kill points are taken.

"Identical" means row for row, floats compared to 9 significant digits. A rounded value one
unit apart in its last place (a float SUM added in another order, then rounded) is reported
separately and fails too: growthmesh sums money and weights exactly (`@exact_sum`), so two
builds of the same data agree to the cent.

A copied DuckDB file keeps the name `growthmesh.duckdb` (in its own folder): DuckDB names the
catalog after the file, and SQLMesh's state records the catalog, so a renamed copy fails with
`SET schema: No catalog + schema named "<name>" found`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
import time_machine
from conftest import copy_project, environ, load_script, view_fingerprints

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
END = dt.date(2025, 2, 28)  # last day of generated data
HELD_FROM = dt.date(2025, 2, 26)  # arrivals of HELD_FROM .. END are held back, then delivered
PROD_SCHEMAS = ("seeds", "staging", "intermediate", "product", "acquisition", "revenue", "customers", "sales")
TIMEOUT = 900  # seconds; a safety net for a hung command, never an assertion on speed

# sqlmesh's own CLI entry point with the clock pinned: python -c _CLI <iso time> <sqlmesh args>
_CLI = (
    "import datetime, sys, time_machine\n"
    "time_machine.travel(datetime.datetime.fromisoformat(sys.argv.pop(1)), tick=True).start()\n"
    "sys.argv[0] = 'sqlmesh'\n"
    "from sqlmesh.cli.main import cli\n"
    "cli()\n"
)
_BATCH = re.compile(r"^\[(\d+)/(\d+)\]\s+(\S+)\s+\[")


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=dt.timezone.utc)


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)


BUILT_AT = _morning(HELD_FROM)  # prod is built as of this morning: history up to the day before
RUN_AT = _morning(END + dt.timedelta(days=1))  # the run the morning after the last day
RUN_END_MS = _ms(END + dt.timedelta(days=1))


# --- project, data and SQLMesh state ---------------------------------------------------------


def _copy_db(db: Path, folder: Path) -> Path:
    """A copy of the DuckDB file under the same file name (the catalog is named after it)."""
    folder.mkdir(parents=True)
    shutil.copyfile(db, folder / db.name)
    return folder / db.name


def _hold_from(db: Path, day: dt.date, arrival_columns: dict[str, str]) -> dict[str, int]:
    """Move every raw row that arrived on `day` or later into held_<schema> tables."""
    con = duckdb.connect(str(db))
    moved = {}
    try:
        for table, column in arrival_columns.items():
            schema, name = table.split(".")
            predicate = f"CAST({column} AS DATE) >= DATE '{day.isoformat()}'"
            con.execute(f"CREATE SCHEMA IF NOT EXISTS held_{schema}")
            con.execute(f"CREATE TABLE held_{schema}.{name} AS SELECT * FROM {table} WHERE {predicate}")
            (moved[table],) = con.execute(f"SELECT COUNT(*) FROM held_{schema}.{name}").fetchone()
            con.execute(f"DELETE FROM {table} WHERE {predicate}")
    finally:
        con.close()
    return moved


def _release(db: Path, arrival_columns: dict[str, str]) -> None:
    con = duckdb.connect(str(db))
    try:
        for table in arrival_columns:
            schema, name = table.split(".")
            con.execute(f"INSERT INTO {table} SELECT * FROM held_{schema}.{name}")
            con.execute(f"DROP TABLE held_{schema}.{name}")
        for schema in {t.split(".")[0] for t in arrival_columns}:
            con.execute(f"DROP SCHEMA IF EXISTS held_{schema}")
    finally:
        con.close()


def _fetch(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _fingerprints(db: Path) -> dict[str, tuple[int, str]]:
    """Rows and an order-free checksum of every model's prod view (conftest.view_fingerprints)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return view_fingerprints(con)
    finally:
        con.close()


def _model_name(fqn: str) -> str:
    """'"growthmesh"."staging"."stg_x"' -> 'staging.stg_x'"""
    return ".".join(part.strip('"') for part in fqn.split(".")[-2:])


def _intervals(db: Path) -> dict[str, list[tuple[int, int]]]:
    """Intervals of every model version prod uses, as SQLMesh's state records them, merged."""
    ((snapshots,),) = _fetch(db, "SELECT snapshots FROM sqlmesh._environments WHERE name = 'prod'")
    prod = {(s["name"], s["version"]) for s in json.loads(snapshots)}
    rows = _fetch(
        db,
        "SELECT name, version, start_ts, end_ts FROM sqlmesh._intervals "
        "WHERE NOT is_dev AND NOT COALESCE(is_removed, FALSE) ORDER BY name, start_ts",
    )
    merged: dict[str, list[tuple[int, int]]] = {}
    for name, version, start, end in rows:
        if (name, version) not in prod:
            continue
        spans = merged.setdefault(_model_name(name), [])
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return merged


def _built_outside_prod(db: Path) -> set[str]:
    """Models with intervals recorded for a version prod does not use (built for `dev`)."""
    ((snapshots,),) = _fetch(db, "SELECT snapshots FROM sqlmesh._environments WHERE name = 'prod'")
    prod = {(s["name"], s["version"]) for s in json.loads(snapshots)}
    rows = _fetch(db, "SELECT DISTINCT name, version FROM sqlmesh._intervals WHERE NOT COALESCE(is_removed, FALSE)")
    return {_model_name(name) for name, version in rows if (name, version) not in prod}


def _done(db: Path) -> set[str]:
    """Models whose prod intervals reach the morning of the run."""
    return {name for name, spans in _intervals(db).items() if spans[-1][1] == RUN_END_MS}


def _state(db: Path) -> dict:
    """What SQLMesh's state and the catalog say about prod: intervals, the prod environment's
    snapshots, the physical tables and the views."""
    ((snapshots,),) = _fetch(db, "SELECT snapshots FROM sqlmesh._environments WHERE name = 'prod'")
    objects = _fetch(
        db,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_schema LIKE 'sqlmesh\\_\\_%' ESCAPE '\\' "
        f"OR table_schema IN ({', '.join(repr(s) for s in PROD_SCHEMAS)})",
    )
    return {
        "intervals": _intervals(db),
        "prod_snapshots": snapshots,
        "environments": sorted(name for (name,) in _fetch(db, "SELECT name FROM sqlmesh._environments")),
        "objects": sorted(objects),
    }


def _view_targets(db: Path) -> dict[str, str]:
    """Prod view -> the physical table it selects from."""
    out = {}
    for schema, name, sql in _fetch(
        db,
        "SELECT schema_name, view_name, sql FROM duckdb_views() "
        f"WHERE schema_name IN ({', '.join(repr(s) for s in PROD_SCHEMAS)})",
    ):
        (target,) = set(re.findall(r'"?(sqlmesh__\w+)"?\."?(\w+)"?', sql))
        out[f"{schema}.{name}"] = ".".join(target)
    return out


# --- the CLI as a subprocess -----------------------------------------------------------------


class _Sqlmesh:
    """One `sqlmesh <args>` command in its own process group, clock pinned at `at`; its
    output (stdout and stderr) is collected line by line as it comes."""

    def __init__(self, project: Path, db: Path, at: dt.datetime, *args: str):
        env = {
            **os.environ,
            "GROWTHMESH_DUCKDB": str(db),
            "GROWTHMESH_START": START.isoformat(),
            "GROWTHMESH_CACHE_DIR": str(project / ".cache"),
            "COLUMNS": "200",  # one line per model batch
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SQLMESH_DEBUG", None)
        self.args = args
        self.lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CLI, at.isoformat(), *args],
            cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    @property
    def batches(self) -> list[tuple[str, int, int]]:
        """(model, batch, of batches) of every batch reported done, in order."""
        with self._changed:
            return [(m.group(3), int(m.group(1)), int(m.group(2))) for m in map(_BATCH.match, self.lines) if m]

    @property
    def evaluated(self) -> set[str]:
        """Models all of whose batches were reported done, each batch once."""
        batches: dict[str, list[int]] = {}
        for model, index, count in self.batches:
            batches.setdefault(model, []).append(index)
        counts = {model: count for model, _, count in self.batches}
        repeated = {m: b for m, b in batches.items() if len(set(b)) != len(b)}
        assert repeated == {}, f"batches evaluated twice by one command: {repeated}"
        return {m for m, b in batches.items() if sorted(b) == list(range(1, counts[m] + 1))}

    def wait_for_batches(self, count: int) -> list[tuple[str, int, int]]:
        """Block until `count` batches are reported (or the output ends); returns them."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: self._eof or sum(1 for line in self.lines if _BATCH.match(line)) >= count, TIMEOUT
            )
        assert ok, f"sqlmesh {' '.join(self.args)}: no progress in {TIMEOUT} s\n{self.output}"
        return self.batches

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)

    def wait(self) -> int:
        returncode = self.proc.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        return returncode

    def stop(self) -> None:
        """Make sure the process (and anything it started) is gone."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(60)
        self._reader.join(60)


class _Processes:
    """Every command a test starts, stopped at the end whatever happens."""

    def __init__(self):
        self.started: list[_Sqlmesh] = []
        self.closing = False
        self._lock = threading.Lock()

    def start(self, *args, **kwargs) -> _Sqlmesh:
        with self._lock:
            if self.closing:
                raise RuntimeError("shutting down: no new commands")
            command = _Sqlmesh(*args, **kwargs)
            self.started.append(command)
        return command

    def run(self, *args) -> _Sqlmesh:
        command = self.start(*args)
        command.wait()
        return command

    def stop_all(self) -> None:
        with self._lock:
            self.closing = True
            started = list(self.started)
        for command in started:
            command.stop()


@pytest.fixture
def processes():
    started = _Processes()
    try:
        yield started
    finally:
        started.stop_all()


def _finished(command: _Sqlmesh) -> bool:
    return "Run finished for environment 'prod'" in command.output


# --- the shared build, and the scenarios run on copies of it ----------------------------------


class _World:
    """The project and data set built once; copies of both for each scenario.

    The scenarios the selected tests need start, each in a thread driving its own
    subprocesses on its own copy, as soon as the build is done: they wait on SQLMesh
    subprocesses most of the time, so they overlap. A test reads its scenario's record with
    `result(name)`; all assertions are in the tests."""

    def __init__(self, tmp: Path):
        from sqlmesh import Context

        self.tmp = tmp
        generator, add_day = load_script("generate_data"), load_script("add_day")
        self.project = copy_project(tmp / "project")
        db = tmp / "base" / "growthmesh.duckdb"
        db.parent.mkdir()
        generator.write_duckdb(generator.generate(seed=7, users=300, start=START, end=END, dirty_rate=0.02), db)
        self.held = _hold_from(db, HELD_FROM, add_day.ARRIVAL_COLUMN)
        with environ(
            GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=START.isoformat(),
            GROWTHMESH_CACHE_DIR=str(self.project / ".cache"),
        ), time_machine.travel(BUILT_AT, tick=True):
            context = Context(paths=self.project)
            context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
            models = [m for m in context.models.values() if m.kind.name != "EXTERNAL"]
            context.close()
        self.models = {m.name for m in models}
        self.built = _copy_db(db, tmp / "built")  # prod as of BUILT_AT, the days still held back
        _release(db, add_day.ARRIVAL_COLUMN)
        self.base = db  # prod as of BUILT_AT, the days delivered: what every run starts from
        self.intervals_before = _intervals(db)
        # what the run has to do: every model but the seeds (a seed changes only with a plan)
        self.due = {m.name for m in models if m.kind.name != "SEED" and self.intervals_before[m.name][-1][1] < RUN_END_MS}
        self.processes = _Processes()
        self._pool = ThreadPoolExecutor(max_workers=2)  # two cores: more would only contend
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    def copy_project(self, name: str) -> Path:
        """A private copy of the project, its warm parse cache included (own logs/, own cache)."""
        target = self.tmp / f"project_{name}"
        shutil.copytree(self.project, target, ignore=shutil.ignore_patterns("logs"))
        return target

    def copy(self, name: str) -> tuple[Path, Path]:
        return self.copy_project(name), _copy_db(self.base, self.tmp / name)

    def start(self, name: str) -> Future:
        with self._lock:
            if name not in self._futures:
                self._futures[name] = self._pool.submit(SCENARIOS[name], self, self.processes)
            return self._futures[name]

    def result(self, name: str) -> dict:
        return self.start(name).result()

    def close(self) -> None:
        self.processes.stop_all()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.processes.stop_all()


def _outcome(project: Path, db: Path) -> dict:
    return {"project": project, "db": db, "fingerprints": _fingerprints(db), "state": _state(db)}


def _scenario_reference(world: _World, processes: _Processes) -> dict:
    """`sqlmesh run`, never interrupted."""
    project, db = world.copy("reference")
    run = processes.run(project, db, RUN_AT, "run")
    return {"run": run, **_outcome(project, db)}


def _kill_and_rerun(world: _World, processes: _Processes, name: str, kill_after: list[int]) -> dict:
    """Run, SIGKILL once `kill_after[0]` batches are reported; run again, kill after
    `kill_after[1]` more, ...; then run to completion, and once more."""
    project, db = world.copy(name)
    kills = []
    for count in kill_after:
        done_before = _done(db)
        run = processes.start(project, db, RUN_AT, "run")
        run.wait_for_batches(count)
        run.signal(signal.SIGKILL)
        returncode = run.wait()
        kills.append({
            "count": count, "returncode": returncode, "reported": len(run.batches), "evaluated": run.evaluated,
            "finished": _finished(run),
            "output": run.output, "done_before": done_before, "done_after": _done(db),
        })
    rerun = processes.run(project, db, RUN_AT, "run")
    outcome = _outcome(project, db)
    again = processes.run(project, db, RUN_AT, "run")
    return {"kills": kills, "rerun": rerun, "done_before_rerun": kills[-1]["done_after"], "again": again, **outcome}


def _scenario_killed(world: _World, processes: _Processes) -> dict:
    return _kill_and_rerun(world, processes, "killed", kill_after=[len(world.due) // 2])


def _scenario_concurrent(world: _World, processes: _Processes) -> dict:
    """A second run starts while the first is mid-way. The first is paused (SIGSTOP) once it
    reported its first batch, so the overlap does not depend on timing; a paused process
    keeps its DuckDB file open and locked."""
    project, db = world.copy("concurrent")
    first = processes.start(project, db, RUN_AT, "run")
    first.wait_for_batches(1)
    first.signal(signal.SIGSTOP)
    try:
        second = processes.run(project, db, RUN_AT, "run")
        first_alive = first.proc.poll() is None
    finally:
        first.signal(signal.SIGCONT)
    first.wait()
    outcome = _outcome(project, db)
    again = processes.run(project, db, RUN_AT, "run")
    return {"first": first, "second": second, "first_alive": first_alive, "again": again, **outcome}


BROKEN = "staging.stg_stripe__product"  # gets every row twice: its unique_values audit fails
NON_BLOCKING = "staging.stg_raw_reconciliation"  # raw_rows + 1: raw_rows_reconcile (non-blocking) fails
# `make test` runs the YAML tests and `sqlmesh lint`; the copy has no tests/, so SQLMesh's
# nomissingunittest rule would fail every model
PLAN_FLAGS = ("--auto-apply", "--no-prompts", "--skip-tests", "--skip-linter")


def _model_file(project: Path, model: str) -> Path:
    (path,) = (project / "models").rglob(f"{model.split('.')[1]}.sql")
    return path


def _rewrite_query(path: Path, select) -> None:
    """Replace the model's query by `select(query, columns)` (sqlglot), keeping its MODEL
    block, whatever the query looks like."""
    import sqlmesh  # noqa: F401  (registers SQLMesh's dialect extensions)
    from sqlmesh.core.dialect import format_model_expressions, parse

    *head, query = parse(path.read_text(), default_dialect="bigquery")
    path.write_text(format_model_expressions([*head, select(query, query.named_selects)], dialect="bigquery") + "\n")


def _duplicate_rows(query, columns):
    from sqlglot import exp

    once = exp.select(*columns).from_(query.copy().subquery("once"))
    twice = exp.select(*columns).from_(query.copy().subquery("twice"))
    return exp.union(once, twice, distinct=False)


def _inflate_raw_rows(query, columns):
    from sqlglot import exp

    projections = [exp.column(c) if c != "raw_rows" else exp.alias_(exp.column(c) + 1, c) for c in columns]
    return exp.select(*projections).from_(query.subquery("counted"))


def _prod(db: Path) -> dict:
    return {
        "fingerprints": _fingerprints(db), "views": _view_targets(db), "state": _state(db),
        "built_outside_prod": _built_outside_prod(db),
        "schemas": {s for (s,) in _fetch(db, "SELECT schema_name FROM information_schema.schemata")},
    }


def _scenario_audits(world: _World, processes: _Processes) -> dict:
    """On prod as built (the held days still held, the clock at BUILT_AT): break a model so
    a blocking audit fails, `plan dev`, then `plan` (promote)."""
    project = world.copy_project("audits")
    db = _copy_db(world.built, world.tmp / "audits")
    out = {"broken_source": _model_file(project, BROKEN).read_text(), "before": _prod(db)}
    _rewrite_query(_model_file(project, BROKEN), _duplicate_rows)
    out["dev"] = processes.run(project, db, BUILT_AT, "plan", "dev", *PLAN_FLAGS)
    out["after_dev"] = _prod(db)
    out["promote"] = processes.run(project, db, BUILT_AT, "plan", *PLAN_FLAGS)
    out["after_promote"] = _prod(db)
    return out


SCENARIOS = {  # started in this order
    "reference": _scenario_reference,
    "audits": _scenario_audits,
    "killed": _scenario_killed,
    "concurrent": _scenario_concurrent,
}
# which scenarios each test reads (the fixture starts those the selected tests need)
NEEDS = {
    "test_a_failing_blocking_audit_stops_plan_dev_and_promotion_and_prod_is_untouched": ("audits",),
    "test_the_run_evaluates_every_due_model_once": ("reference",),
    "test_a_failing_non_blocking_audit_warns_and_does_not_stop_the_run": ("reference",),
    "test_a_killed_run_then_a_second_run_equals_an_uninterrupted_run": ("reference", "killed"),
    "test_a_second_run_at_the_same_time_is_refused_and_the_first_completes": ("reference", "concurrent"),
}


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    built = _World(tmp_path_factory.mktemp("interruption"))
    try:
        selected = {item.originalname for item in request.session.items if item.module is request.module}
        for name in SCENARIOS:  # in this order: the pool runs two at a time
            if any(name in NEEDS.get(test, ("reference",)) for test in selected):
                built.start(name)
        yield built
    finally:
        built.close()


def _ordered_rows(db: Path, model: str) -> tuple[list[str], int, list[tuple]]:
    """Every row of a prod view, non-float columns first, sorted: (columns, number of
    non-float columns, rows)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(f"DESCRIBE {model}").fetchall()
        exact = [c for c, t, *_ in columns if t not in ("DOUBLE", "FLOAT")]
        floats = [c for c, t, *_ in columns if t in ("DOUBLE", "FLOAT")]
        rows = con.execute(f"SELECT {', '.join(exact + floats)} FROM {model} ORDER BY ALL").fetchall()
        return exact + floats, len(exact), rows
    finally:
        con.close()


def _decimals(value: float) -> int | None:
    return next((d for d in range(7) if round(value, d) == value), None)


def _is_rounding_flip(a: float, b: float) -> bool:
    """a and b are rounded to the same number of decimals and differ by one unit in that
    place: what ROUND(x, d) gives for an x on the half-way point whose last bit depends on
    the order a float SUM added its rows in."""
    places = {_decimals(a), _decimals(b)}
    if None in places or max(places) == 0:
        return False
    return abs(a - b) <= 10 ** -max(places) * (1 + 1e-9)


def _row_differences(reference_db: Path, db: Path, model: str) -> tuple[list, list]:
    """(differences, rounding flips) between a model's rows in two files."""
    columns, exact, expected = _ordered_rows(reference_db, model)
    *_, actual = _ordered_rows(db, model)
    if len(expected) != len(actual):
        return [f"{len(actual)} rows, expected {len(expected)}"], []
    differences, flips = [], []
    for want, got in zip(expected, actual):
        for i, (x, y) in enumerate(zip(want, got)):
            if x == y or (i >= exact and x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9)):
                continue
            if i >= exact and x is not None and y is not None and _is_rounding_flip(x, y):
                flips.append((columns[i], y, x))
            else:
                differences.append((want, got))
                break
    return differences[:5], flips


def _assert_like_the_reference(world: _World, outcome: dict) -> None:
    """Same views, same rows (up to floating-point summation order), same SQLMesh state."""
    reference = world.result("reference")
    fingerprints, state = outcome["fingerprints"], outcome["state"]
    assert set(fingerprints) == world.models  # every model has its prod view
    different, flipped = {}, {}
    for model in sorted(world.models):
        if fingerprints[model] != reference["fingerprints"][model]:
            # the checksums differ: compare row by row (authoritative; floats to 1e-9 relative)
            differences, flips = _row_differences(reference["db"], outcome["db"], model)
            if differences:
                different[model] = differences
            elif flips:
                flipped[model] = sorted(set(flips))
    assert different == {}
    assert flipped == {}, f"rounded values one unit apart from the reference run: {flipped}"
    assert state["intervals"] == reference["state"]["intervals"]
    assert state["prod_snapshots"] == reference["state"]["prod_snapshots"]
    assert state["environments"] == reference["state"]["environments"] == ["prod"]
    assert state["objects"] == reference["state"]["objects"]  # no table lost, none left behind


def _assert_nothing_left_to_run(again: _Sqlmesh) -> None:
    assert again.proc.returncode == 0, again.output
    assert again.batches == []
    assert "No models are ready to run" in again.output


# --- 3. audits guard prod --------------------------------------------------------------------


def _assert_stopped_by_the_audit(plan: _Sqlmesh) -> None:
    assert plan.proc.returncode != 0, plan.output
    output = " ".join(plan.output.split())
    assert "Error: Plan application failed." in output
    failed = output.split("Failed models", 1)[-1]
    assert '"staging"."stg_stripe__product"' in failed and "'unique_values' audit error" in failed, plan.output


def _assert_prod_untouched(before: dict, after: dict) -> None:
    assert after["views"] == before["views"]  # prod's views read the same physical tables
    assert after["fingerprints"] == before["fingerprints"]
    assert after["state"]["prod_snapshots"] == before["state"]["prod_snapshots"]
    assert after["state"]["intervals"] == before["state"]["intervals"]
    prod_objects = [o for o in after["state"]["objects"] if o[0] in PROD_SCHEMAS]
    assert prod_objects == [o for o in before["state"]["objects"] if o[0] in PROD_SCHEMAS]


def test_a_failing_blocking_audit_stops_plan_dev_and_promotion_and_prod_is_untouched(world):
    audits = world.result("audits")
    assert "unique_values(columns := (product_id))" in audits["broken_source"]
    before = audits["before"]
    assert set(before["fingerprints"]) == world.models
    assert before["fingerprints"][BROKEN][0] > 0  # there are rows to duplicate
    assert before["built_outside_prod"] == set()

    # sqlmesh plan dev: fails on the audit; no dev environment, no dev views, nothing recorded
    _assert_stopped_by_the_audit(audits["dev"])
    _assert_prod_untouched(before, audits["after_dev"])
    assert audits["after_dev"]["built_outside_prod"] == set()  # no interval of the broken version
    assert not any(s.endswith("__dev") for s in audits["after_dev"]["schemas"])
    assert audits["after_dev"]["state"]["environments"] == ["prod"]

    # sqlmesh plan (promote the same change): fails the same way; prod as it was
    _assert_stopped_by_the_audit(audits["promote"])
    _assert_prod_untouched(before, audits["after_promote"])
    assert audits["after_promote"]["built_outside_prod"] == set()


@pytest.mark.slow
def test_a_failing_non_blocking_audit_does_not_stop_plan_dev(world, processes):
    project = world.copy_project("audits_non_blocking")
    db = _copy_db(world.built, world.tmp / "audits_non_blocking")
    path = _model_file(project, NON_BLOCKING)
    assert "raw_rows_reconcile(blocking := FALSE)" in path.read_text()
    before = _prod(db)
    _rewrite_query(path, _inflate_raw_rows)
    plan = processes.run(project, db, BUILT_AT, "plan", "dev", *PLAN_FLAGS)
    assert plan.proc.returncode == 0, plan.output
    schema, name = NON_BLOCKING.split(".")
    output = " ".join(plan.output.split())
    assert f"[WARNING] {schema}__dev.{name}: 'raw_rows_reconcile' audit error" in output
    assert "Virtual layer updated" in output
    ((rows, unreconciled),) = _fetch(
        db, f"SELECT COUNT(*), COUNT(*) FILTER (WHERE raw_rows <> staged_rows + duplicate_rows + rejected_rows "
            f"+ pending_rows) FROM {schema}__dev.{name}")
    assert rows > 0 and unreconciled == rows  # dev has the model, every failing row included
    after = _prod(db)
    assert after["built_outside_prod"] == {NON_BLOCKING}  # its interval is recorded: built, not blocked
    _assert_prod_untouched(before, after)


# --- the reference run -----------------------------------------------------------------------


def test_the_run_evaluates_every_due_model_once(world):
    assert world.held["raw_segment.tracks"] > 0 and world.held["raw_segment.pages"] > 0
    reference = world.result("reference")
    run = reference["run"]
    assert run.proc.returncode == 0, run.output
    assert _finished(run)
    assert len(world.due) >= 40, sorted(world.due)
    assert run.evaluated == world.due
    intervals = reference["state"]["intervals"]
    assert {m for m in world.due if intervals[m][-1][1] != RUN_END_MS} == set()
    assert {m: spans for m, spans in intervals.items() if len(spans) != 1} == {}  # no gap


def test_a_failing_non_blocking_audit_warns_and_does_not_stop_the_run(world):
    """Events more than 7 days late (dirty rows) are unaccounted for in the reconciliation;
    its audit is non-blocking: the run warns, finishes and records the interval."""
    reference = world.result("reference")
    run = reference["run"]
    output = " ".join(run.output.split())
    assert re.search(rf"\[WARNING\] {re.escape(NON_BLOCKING)}: 'raw_rows_reconcile' audit error: \d+ rows? failed", output)
    assert run.proc.returncode == 0 and _finished(run)
    assert NON_BLOCKING in run.evaluated
    assert reference["state"]["intervals"][NON_BLOCKING][-1][1] == RUN_END_MS
    ((unaccounted,),) = _fetch(
        reference["db"], f"SELECT SUM(unaccounted_rows) FROM {NON_BLOCKING} WHERE as_of_date = DATE '{END}'")
    assert unaccounted > 0


# --- 1. interruption -------------------------------------------------------------------------


def _assert_killed_mid_way(kill: dict, due: set[str]) -> None:
    # the process was killed (it did not exit by itself) while it still had work to do
    assert kill["returncode"] == -signal.SIGKILL, kill["output"]
    assert not kill["finished"]
    assert kill["reported"] >= kill["count"]
    # SQLMesh's state shows it mid-way: every model it reported done is recorded, not every due one
    assert kill["evaluated"] <= kill["done_after"]
    assert kill["done_before"] < kill["done_after"] < due


def _assert_rerun_finishes_the_rest(result: dict, due: set[str]) -> None:
    rerun = result["rerun"]
    assert rerun.proc.returncode == 0, rerun.output
    assert _finished(rerun)
    # it evaluates exactly what state says was left, each once
    assert rerun.evaluated == due - result["done_before_rerun"]


def test_a_killed_run_then_a_second_run_equals_an_uninterrupted_run(world):
    killed = world.result("killed")
    (kill,) = killed["kills"]
    _assert_killed_mid_way(kill, world.due)
    _assert_rerun_finishes_the_rest(killed, world.due)
    _assert_like_the_reference(world, killed)
    _assert_nothing_left_to_run(killed["again"])


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [[1], [5], [30], [10, 10], [3, 3, 3]], ids=lambda k: "-".join(map(str, k)))
def test_killed_at_other_points_and_repeatedly_a_run_still_ends_like_an_uninterrupted_run(world, processes, kill_after):
    assert sum(kill_after) < len(world.due)
    result = _kill_and_rerun(world, processes, "killed_" + "_".join(map(str, kill_after)), kill_after)
    for kill in result["kills"]:
        _assert_killed_mid_way(kill, world.due)
    _assert_rerun_finishes_the_rest(result, world.due)
    _assert_like_the_reference(world, result)
    _assert_nothing_left_to_run(result["again"])


@pytest.mark.slow
def test_after_a_killed_run_and_a_second_run_plan_finds_no_changes(world, processes):
    result = _kill_and_rerun(world, processes, "killed_plan", kill_after=[len(world.due) // 3])
    _assert_rerun_finishes_the_rest(result, world.due)
    plan = processes.run(result["project"], result["db"], RUN_AT, "plan", "--no-prompts", "--skip-tests", "--skip-linter")
    assert plan.proc.returncode == 0, plan.output
    assert "No changes to plan: project files match the `prod` environment" in plan.output
    assert "Models needing backfill" not in plan.output


# --- 2. concurrent runs ----------------------------------------------------------------------


def _assert_refused_by_the_lock(second: _Sqlmesh, first: _Sqlmesh, db: Path) -> None:
    assert second.proc.returncode == 1, second.output
    assert second.batches == []  # it evaluated nothing
    assert not _finished(second)
    last = [line for line in second.lines if line.strip()][-1]
    # the last thing it prints names the file, the lock and the process holding it
    assert f'Could not set lock on file "{db}"' in last, second.output
    assert "Conflicting lock is held" in last and f"(PID {first.proc.pid})" in last, second.output


def test_a_second_run_at_the_same_time_is_refused_and_the_first_completes(world):
    concurrent = world.result("concurrent")
    first, second = concurrent["first"], concurrent["second"]
    assert concurrent["first_alive"]  # the second ran while the first was mid-way
    _assert_refused_by_the_lock(second, first, concurrent["db"])
    assert first.proc.returncode == 0, first.output
    assert _finished(first)
    assert first.evaluated == world.due
    _assert_like_the_reference(world, concurrent)
    _assert_nothing_left_to_run(concurrent["again"])


@pytest.mark.slow
def test_two_runs_started_together_one_runs_and_the_other_is_refused(world, processes):
    project, db = world.copy("concurrent_race")
    runs = [processes.start(project, db, RUN_AT, "run") for _ in range(2)]
    for run in runs:
        run.wait()
    winners = [run for run in runs if run.proc.returncode == 0]
    losers = [run for run in runs if run.proc.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, "\n---\n".join(run.output for run in runs)
    (winner,), (loser,) = winners, losers
    assert _finished(winner) and winner.evaluated == world.due
    _assert_refused_by_the_lock(loser, winner, db)
    _assert_like_the_reference(world, _outcome(project, db))
    _assert_nothing_left_to_run(processes.run(project, db, RUN_AT, "run"))
