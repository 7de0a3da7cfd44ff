"""Late data and restatement, proven on a generated data set (README "Late data").

One data set, two kinds of late events, all delivered by the loader on the last day LAST:

- *within the lookback*: every track and page row of a few users on LAST - 3, and of a
  few others on LAST - 7 (the lookback's edge), arriving 3 and 7 days late. The next
  morning's `sqlmesh run` re-reads 7 days and must put them in their own day, in every
  mart: the result equals a clean build of the same data.
- *beyond the lookback*: the rows of a few other users on LAST - 8 (one day past the edge)
  and on LAST - 12, arriving 8 and 12 days late. The run cannot see them: they stay out
  of the marts and `stg_raw_reconciliation` counts exactly them as unaccounted. The
  README's restatement command, run with the real CLI from the first late day to the last
  processed day, then puts them in: every mart equals a clean build and nothing is
  unaccounted.

The late rows are real generated rows whose `received_at` is moved to the delivery day
(same time of day, exactly N days later); `scripts/add_day.py hold` then moves everything
that arrived on LAST aside, the history is built, and `release` delivers the day.

"Restatement is idempotent": on the clean build, restating any range of any
model with intervals (INCREMENTAL_BY_TIME_RANGE, and the CUSTOM `replace_keys` sessions;
discovered from the loaded project) gives every table
back row for row. The default suite restates all of them in one plan over a week in the
middle; the exhaustive version (each model alone over the first days, a middle week and
the last days) is `slow`. The row-for-row checksum itself is shown to catch a missing,
duplicated or changed row.

Every model is compared but `staging.stg_raw_reconciliation`, which keeps one row per
processed batch (a per-day log, not a function of the data alone); its invariant
(nothing unaccounted) is checked instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
import time_machine
from conftest import copy_project, environ, fingerprint, load_script, view_fingerprints

ROOT = Path(__file__).resolve().parent.parent
SQLMESH = ROOT / ".venv" / "bin" / "sqlmesh"
START = dt.date(2025, 1, 1)
LAST = dt.date(2025, 2, 28)  # last day of data, and the day the loader delivers the late rows
LOOKBACK_DAYS = 7  # README "Late data"
# how many days late each set of late rows arrives: inside the lookback (and on its edge),
# and past it (by one day, and well past)
LATE_DAYS = {"within": (3, LOOKBACK_DAYS), "beyond": (LOOKBACK_DAYS + 1, 12)}
FIRST_LATE_DAY = LAST - dt.timedelta(days=max(LATE_DAYS["beyond"]))  # where the restatement starts
LATE_USERS = 3  # users whose whole day arrives late, per kind
EVENT_TABLES = ("raw_segment.tracks", "raw_segment.pages")
LOG_MODEL = "staging.stg_raw_reconciliation"  # one row per processed batch: not compared
DB_NAME = "growthmesh.duckdb"  # every copy keeps this name: views name the catalog after the file
# a week in the middle, Wednesday to Tuesday across a month end (default suite), and for the
# exhaustive version also the first and the last days of the data
MIDDLE_WEEK = (dt.date(2025, 1, 29), dt.date(2025, 2, 4))
RANGES = {
    "first days": (START, START + dt.timedelta(days=2)),
    "middle week": MIDDLE_WEEK,
    "last days": (LAST - dt.timedelta(days=2), LAST),
}

assert max(LATE_DAYS["within"]) <= LOOKBACK_DAYS < min(LATE_DAYS["beyond"])


@pytest.fixture(scope="module", autouse=True)
def _no_fork_pool():
    """SQLMesh forks a worker pool to load model schemas. On two busy cores the forks cost
    more than they save (a Context load measured 18 s with the pool, 6-10 s without); what
    is loaded is the same. For in-process loads and the CLI subprocess alike."""
    import sqlmesh.core.constants as constants

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "MAX_FORK_WORKERS", 1)
        patch.setenv("MAX_FORK_WORKERS", "1")
        yield


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=dt.timezone.utc)


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)


def _quoted(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _new_db(tmp: Path, name: str, source: Path | None = None) -> Path:
    """tmp/name/growthmesh.duckdb, a copy of `source` if given."""
    (tmp / name).mkdir()
    db = tmp / name / DB_NAME
    if source is not None:
        shutil.copyfile(source, db)
    return db


@contextmanager
def _project_env(db: Path):
    with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=START.isoformat()):
        yield


def _context(project: Path, db: Path):
    from sqlmesh import Context

    with _project_env(db):
        return Context(paths=project)


def _plan(context, **kwargs) -> None:
    context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True, **kwargs)


# --- fingerprints ------------------------------------------------------------------------


def _fingerprints(db: Path) -> dict[str, tuple[int, str]]:
    """Fingerprint of every model's prod view in a DuckDB file (the Context must be closed)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return view_fingerprints(con, exclude={LOG_MODEL})
    finally:
        con.close()


def _differences(actual: dict, expected: dict) -> dict:
    return {m: (actual.get(m), expected.get(m)) for m in sorted(set(actual) | set(expected)) if actual.get(m) != expected.get(m)}


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _reconciliation(db: Path) -> dict[str, int]:
    """Unaccounted rows per raw table on the latest day of the reconciliation log."""
    rows = _query(
        db,
        f"SELECT raw_table, unaccounted_rows FROM {LOG_MODEL} QUALIFY as_of_date = MAX(as_of_date) OVER ()",
    )
    return dict(rows)


def _events(db: Path, ids) -> set[tuple[str, dt.date]]:
    """(event_id, event_date) of these message ids in product.fct_events."""
    return set(_query(db, f"SELECT event_id, event_date FROM product.fct_events WHERE event_id IN ({_quoted(ids)})"))


# --- what SQLMesh evaluated ----------------------------------------------------------------


@contextmanager
def _recording_evaluations():
    """Records (model, start ms, end ms) of every model query the snapshot evaluator runs."""
    from sqlmesh.core.snapshot.evaluator import SnapshotEvaluator
    from sqlmesh.utils.date import to_timestamp

    calls: list[tuple[str, int, int]] = []
    lock = threading.Lock()
    original = SnapshotEvaluator.evaluate

    def evaluate(evaluator, snapshot, *args, **kwargs):
        with lock:
            calls.append((snapshot.model.name, to_timestamp(kwargs["start"]), to_timestamp(kwargs["end"])))
        return original(evaluator, snapshot, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SnapshotEvaluator, "evaluate", evaluate)
        yield calls


def _covered(calls: list[tuple[str, int, int]], model: str, first: dt.date, last: dt.date) -> bool:
    """Whether the evaluations of `model` cover every day from first to last."""
    spans = sorted((s, e) for name, s, e in calls if name == model)
    reach = _ms(first)
    for start, end in spans:
        if start <= reach < end:
            reach = end
    return reach >= _ms(last + dt.timedelta(days=1))


def _incremental(context) -> list[str]:
    """The models with intervals: incremental by time range, and the custom `replace_keys` ones."""
    return sorted(m.name for m in context.models.values() if m.kind.is_incremental_by_time_range or m.kind.is_custom)


# --- the data ------------------------------------------------------------------------------


def _make_late(con, day: dt.date, exclude: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Every track and page row of LATE_USERS users on `day` now arrives on LAST, the same
    time of day: (the users, {raw table: message ids})."""
    users = [
        u for (u,) in con.execute(
            "SELECT user_id FROM raw_segment.tracks WHERE user_id IS NOT NULL AND CAST(timestamp AS DATE) = ? "
            "GROUP BY user_id ORDER BY COUNT(*) DESC, user_id",
            [day],
        ).fetchall()
        if u not in exclude
    ][:LATE_USERS]
    ids = {}
    for table in EVENT_TABLES:
        rows = f"user_id IN ({_quoted(users)}) AND CAST(timestamp AS DATE) = DATE '{day}'"
        ids[table] = sorted(i for (i,) in con.execute(f"SELECT id FROM {table} WHERE {rows}").fetchall())
        con.execute(f"UPDATE {table} SET received_at = timestamp + INTERVAL {(LAST - day).days} DAY WHERE {rows}")
    return users, ids


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The frozen project copy and the final raw data: `final` (both kinds of late rows) and
    `final_within` (the same without the rows beyond the lookback). `late_rows`:
    {kind: {message id: its event day}}; `late_users`: {days late: users}."""
    generator, add_day = load_script("generate_data"), load_script("add_day")
    tmp = tmp_path_factory.mktemp("late_data")
    project = copy_project(tmp / "project")
    final = _new_db(tmp, "final")
    generator.write_duckdb(generator.generate(seed=17, users=300, start=START, end=LAST, dirty_rate=0), final)
    con = duckdb.connect(str(final))
    try:
        late_users, late_rows, by_table = {}, {"within": {}, "beyond": {}}, {"within": {}, "beyond": {}}
        for kind, days in LATE_DAYS.items():
            for days_late in days:
                day = LAST - dt.timedelta(days=days_late)
                late_users[days_late], ids = _make_late(con, day, set(sum(late_users.values(), [])))
                for table, table_ids in ids.items():
                    late_rows[kind].update(dict.fromkeys(table_ids, day))
                    by_table[kind].setdefault(table, []).extend(table_ids)
        all_ids = list(late_rows["within"]) + list(late_rows["beyond"])
        arrivals = {
            table: dict(con.execute(
                f"SELECT id, CAST(received_at AS DATE) FROM {table} WHERE id IN ({_quoted(all_ids)})"
            ).fetchall())
            for table in EVENT_TABLES
        }
    finally:
        con.close()
    final_within = _new_db(tmp, "final_within", final)
    con = duckdb.connect(str(final_within))
    try:
        for table in EVENT_TABLES:
            con.execute(f"DELETE FROM {table} WHERE id IN ({_quoted(by_table['beyond'][table])})")
    finally:
        con.close()
    return {
        "tmp": tmp, "project": project, "final": final, "final_within": final_within, "add_day": add_day,
        "late_rows": late_rows, "late_by_table": by_table, "late_users": late_users, "arrivals": arrivals,
    }


def _clean_build(work, name: str, raw: Path):
    """Build every model from scratch on a copy of `raw`, the morning after LAST."""
    db = _new_db(work["tmp"], name, raw)
    context = _context(work["project"], db)
    with time_machine.travel(_morning(LAST + dt.timedelta(days=1)), tick=True):
        _plan(context)
    context.close()
    return db, context


@pytest.fixture(scope="module")
def clean(work):
    """A clean build of the final data. Its fingerprints are taken before any test restates it."""
    db, context = _clean_build(work, "clean", work["final"])
    out = {"db": db, "context": context, "fingerprints": _fingerprints(db), "incremental": _incremental(context)}
    out["models"] = sorted(m.name for m in context.models.values() if m.kind.name != "EXTERNAL")
    yield out
    context.close()


@pytest.fixture(scope="module")
def clean_within(work):
    """A clean build of the final data without the rows beyond the lookback."""
    db, _ = _clean_build(work, "clean_within", work["final_within"])
    return _fingerprints(db)


def _readme_restatement() -> list[str]:
    """The arguments after `sqlmesh` of the restatement command in README "Late data"."""
    readme = (ROOT / "README.md").read_text()
    section = re.split(r"\n#{2,3} ", readme.split("### Late data", 1)[1], maxsplit=1)[0]
    lines = [
        line.strip() for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
        for line in block.splitlines() if "--restate-model" in line
    ]
    assert len(lines) == 1, f"README 'Late data' should show one restatement command, found {lines}"
    words = shlex.split(lines[0], comments=True)
    assert words[0].endswith("sqlmesh") and words[1] == "plan", lines[0]
    return words[1:]


def _with_dates(args: list[str], start: dt.date, end: dt.date) -> list[str]:
    """The README command with its example dates replaced by ours."""
    out, replaced = list(args), set()
    for i, word in enumerate(out[:-1]):
        for option, value in (("--start", start), ("--end", end)):
            if word in (option, option[1:3]):
                out[i + 1] = value.isoformat()
                replaced.add(option)
    assert replaced == {"--start", "--end"}, f"README restatement command without --start/--end: {args}"
    return out


# The late timeline (`late`: a build, the run, the README command through the CLI) is the
# heaviest fixture of the suite, so its tests run in `make test-all`. `make test` keeps the
# restatement checks against `clean` below, and tests/test_daily_run.py shows a run picks
# up events up to the lookback late, equal to a clean build.
LATE_TIMELINE = pytest.mark.slow

@pytest.fixture(scope="module")
def late(work):
    """The late timeline: history as of the morning of LAST with LAST's arrivals held back,
    the loader delivers LAST, `sqlmesh run` the next morning, then the README restatement."""
    add_day, tmp = work["add_day"], work["tmp"]
    db = _new_db(tmp, "late", work["final"])
    out = {"held": add_day.hold(db, LAST)}
    out["held_ids"] = {
        table: {i for (i,) in _query(db, f"SELECT id FROM holdout_{table}")} for table in EVENT_TABLES
    }
    context = _context(work["project"], db)
    with time_machine.travel(_morning(LAST), tick=True):
        _plan(context)
    context.close()  # let go of the DuckDB file while the loader writes to it
    out["before"] = _fingerprints(db)
    out["within_before"] = _events(db, work["late_rows"]["within"])
    out["released"] = add_day.release(db)
    with time_machine.travel(_morning(LAST + dt.timedelta(days=1)), tick=True):
        out["run_failed"] = context.run().is_failure
    context.close()
    out["after_run"] = _fingerprints(db)
    out["within_after_run"] = _events(db, work["late_rows"]["within"])
    out["beyond_after_run"] = _events(db, work["late_rows"]["beyond"])
    out["staged_beyond_after_run"] = _query(
        db,
        "SELECT (SELECT COUNT(*) FROM staging.stg_segment__tracks WHERE event_id IN ({t})) "
        "+ (SELECT COUNT(*) FROM staging.stg_segment__pages WHERE page_view_id IN ({p}))".format(
            t=_quoted(work["late_by_table"]["beyond"]["raw_segment.tracks"]),
            p=_quoted(work["late_by_table"]["beyond"]["raw_segment.pages"]),
        ),
    )[0][0]
    out["reconciliation_after_run"] = _reconciliation(db)
    out["log_days_after_run"] = {d for (d,) in _query(db, f"SELECT DISTINCT as_of_date FROM {LOG_MODEL}")}

    # README "Late data": restate from the first late day to the last processed day, with
    # the real CLI (in the frozen project copy), as of the same morning as the run, so the
    # plan has no empty days up to today's clock to build as well
    command = _with_dates(_readme_restatement(), FIRST_LATE_DAY, LAST)
    command += [flag for flag in ("--auto-apply", "--no-prompts", "--skip-tests", "--skip-linter") if flag not in command]
    command += ["--execution-time", _morning(LAST + dt.timedelta(days=1)).isoformat()]
    out["command"] = command
    with _project_env(db):
        done = subprocess.run(
            [str(SQLMESH), *command], cwd=work["project"], env=os.environ.copy(),
            capture_output=True, text=True, timeout=1200,
        )
    out["cli"] = (done.returncode, done.stdout[-4000:] + done.stderr[-4000:])
    out["after_restatement"] = _fingerprints(db)
    out["beyond_after_restatement"] = _events(db, work["late_rows"]["beyond"])
    out["reconciliation_after_restatement"] = _reconciliation(db)
    out["unaccounted_anywhere_after_restatement"] = _query(
        db, f"SELECT COALESCE(SUM(ABS(unaccounted_rows)), -1) FROM {LOG_MODEL}"
    )[0][0]
    out["log_last_day_after_restatement"] = _query(db, f"SELECT MAX(as_of_date) FROM {LOG_MODEL}")[0][0]
    return out


# --- the data set really has late rows of both kinds -------------------------------------


@LATE_TIMELINE
def test_the_late_rows_are_real_rows_delivered_on_the_last_day(work, late):
    users = work["late_users"]
    assert sorted(users) == sorted(sum(LATE_DAYS.values(), ()))
    assert all(len(u) == LATE_USERS for u in users.values()), users
    assert len(set(sum(users.values(), []))) == LATE_USERS * len(users)  # no user in two sets
    for kind, rows in work["late_rows"].items():
        # every chosen user has at least one track on the day; pages come with some of them
        assert len(work["late_by_table"][kind]["raw_segment.tracks"]) >= LATE_USERS * len(LATE_DAYS[kind])
        assert set(rows.values()) == {LAST - dt.timedelta(days=d) for d in LATE_DAYS[kind]}, kind
        for table in EVENT_TABLES:
            ids = work["late_by_table"][kind][table]
            # each arrives on LAST, and the loader's hold took it aside with the rest of that day
            assert {work["arrivals"][table][i] for i in ids} <= {LAST}, (kind, table)
            assert set(ids) <= late["held_ids"][table], (kind, table)
    assert sum(late["released"].values()) == sum(late["held"].values()) > len(work["late_rows"]["beyond"])


# --- (a) within the lookback: the next run puts them in their own day ------------------------


@LATE_TIMELINE
def test_the_run_succeeds_and_changes_the_event_marts(late):
    assert late["run_failed"] is False
    changed = {m for m in late["after_run"] if late["after_run"][m] != late["before"].get(m)}
    assert {"product.fct_events", "product.fct_user_activity_daily", "staging.stg_segment__tracks"} <= changed


@LATE_TIMELINE
def test_events_late_within_the_lookback_land_in_fct_events_on_their_own_day(work, late):
    rows = work["late_rows"]["within"]
    assert late["within_before"] == set()  # held back while the history was built
    assert late["within_after_run"] == set(rows.items())


@pytest.mark.slow  # its own clean build; tests/test_daily_run.py proves the same for 7-day-late events
def test_after_the_run_every_model_equals_a_clean_build_of_the_data(late, clean_within, clean):
    """A clean build of the same raw data without the rows beyond the lookback (which no
    run can see: the restatement tests below handle them)."""
    assert set(clean_within) == set(clean["models"]) - {LOG_MODEL}  # every model is compared
    assert _differences(late["after_run"], clean_within) == {}


# --- (b) beyond the lookback: the run misses them, the README restatement recovers them --------


@LATE_TIMELINE
def test_events_late_beyond_the_lookback_are_missed_by_the_run(late, clean):
    assert late["beyond_after_run"] == set()
    assert late["staged_beyond_after_run"] == 0
    # and the marts are not yet those of a clean build (the check below is not vacuous)
    different = set(_differences(late["after_run"], clean["fingerprints"]))
    assert {"staging.stg_segment__tracks", "product.fct_events", "product.fct_user_activity_daily"} <= different


@LATE_TIMELINE
def test_reconciliation_counts_exactly_the_missed_rows_as_unaccounted(work, late):
    expected = {table: 0 for table in late["reconciliation_after_run"]}
    expected.update({table: len(ids) for table, ids in work["late_by_table"]["beyond"].items()})
    assert late["reconciliation_after_run"] == expected
    assert max(late["log_days_after_run"]) == LAST


@LATE_TIMELINE
def test_the_readme_restatement_command_succeeds(late):
    code, output = late["cli"]
    assert code == 0, output
    assert late["command"][0] == "plan" and "--restate-model" in late["command"]


@LATE_TIMELINE
def test_after_the_restatement_every_model_equals_a_clean_build(work, late, clean):
    assert late["beyond_after_restatement"] == set(work["late_rows"]["beyond"].items())
    assert set(late["after_restatement"]) == set(clean["models"]) - {LOG_MODEL}
    assert _differences(late["after_restatement"], clean["fingerprints"]) == {}


@LATE_TIMELINE
def test_after_the_restatement_nothing_is_unaccounted(late):
    assert late["reconciliation_after_restatement"]  # the log has a latest day
    assert set(late["reconciliation_after_restatement"].values()) == {0}
    assert late["unaccounted_anywhere_after_restatement"] == 0
    assert late["log_last_day_after_restatement"] == LAST


# --- restatement is idempotent ---------------------------------------------------------------


def test_the_checksum_catches_a_missing_a_duplicated_and_a_changed_row(clean):
    con = duckdb.connect(str(clean["db"]), read_only=True)
    try:
        view = "product.fct_events"
        base = fingerprint(con, view)
        assert base == clean["fingerprints"][view] and base[0] > 10
        missing = fingerprint(con, f"(SELECT * FROM {view} QUALIFY ROW_NUMBER() OVER (ORDER BY event_id) > 1)")
        duplicated = fingerprint(con, f"(SELECT * FROM {view} UNION ALL (SELECT * FROM {view} ORDER BY event_id LIMIT 1))")
        # one row dropped and another doubled: same row count, still caught
        swapped = fingerprint(
            con,
            f"(SELECT * FROM {view} QUALIFY ROW_NUMBER() OVER (ORDER BY event_id) > 1 "
            f"UNION ALL (SELECT * FROM {view} ORDER BY event_id DESC LIMIT 1))",
        )
        changed = fingerprint(
            con,
            f"(SELECT * REPLACE (CASE WHEN ROW_NUMBER() OVER (ORDER BY event_id) = 1 "
            f"THEN event_date + 1 ELSE event_date END AS event_date) FROM {view})",
        )
        same_rows_other_order = fingerprint(con, f"(SELECT * FROM {view} ORDER BY event_id DESC)")
    finally:
        con.close()
    assert missing[0] == base[0] - 1 and missing[1] != base[1]
    assert duplicated[0] == base[0] + 1 and duplicated[1] != base[1]
    assert swapped[0] == base[0] and swapped[1] != base[1]
    assert changed[0] == base[0] and changed[1] != base[1]
    assert same_rows_other_order == base


def _restate(clean, models: list[str], first: dt.date, last: dt.date) -> tuple[list, dict, int]:
    """Restate `models` over [first, last] in one prod plan on the clean build: (evaluations,
    fingerprints after, unaccounted rows anywhere in the reconciliation log)."""
    context = clean["context"]
    with _recording_evaluations() as calls, time_machine.travel(_morning(LAST + dt.timedelta(days=1)), tick=True):
        _plan(context, restate_models=models, start=first.isoformat(), end=last.isoformat())
    context.close()
    unaccounted = _query(clean["db"], f"SELECT COALESCE(SUM(ABS(unaccounted_rows)), -1) FROM {LOG_MODEL}")[0][0]
    return list(calls), _fingerprints(clean["db"]), unaccounted


def test_the_project_has_incremental_models_to_restate(clean):
    incremental = clean["incremental"]
    assert {"staging.stg_segment__tracks", "staging.stg_segment__pages", "product.fct_events",
            "intermediate.int_visitor_sessions"} <= set(incremental)
    assert len(incremental) >= 5, incremental


def test_restating_every_incremental_model_over_a_middle_week_gives_the_clean_build(clean):
    first, last = MIDDLE_WEEK
    calls, after, unaccounted = _restate(clean, clean["incremental"], first, last)
    assert [m for m in clean["incremental"] if not _covered(calls, m, first, last)] == []  # really restated
    assert _differences(after, clean["fingerprints"]) == {}
    assert unaccounted == 0


@pytest.mark.slow
def test_restating_each_incremental_model_over_any_range_gives_the_clean_build(clean):
    """Every incremental model alone (with what is downstream of it) over the first days, a
    middle week and the last days; the build is compared after each restatement."""
    failures = {}
    for model in clean["incremental"]:
        for label, (first, last) in RANGES.items():
            calls, after, unaccounted = _restate(clean, [model], first, last)
            problems = {}
            if not _covered(calls, model, first, last):
                problems["not restated"] = sorted({c for c in calls if c[0] == model})
            if different := _differences(after, clean["fingerprints"]):
                problems["different"] = different
            if unaccounted != 0:
                problems["unaccounted"] = unaccounted
            if problems:
                failures[(model, label)] = problems
    assert failures == {}
