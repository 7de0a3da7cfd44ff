"""A daily `sqlmesh run` gives the same tables as a clean build, late events included.

Two copies of one generated data set. Copy A is built as of the morning of the last day
with that day's arrivals held back (scripts/add_day.py hold), then the day is released
and `sqlmesh run` processes it the next morning, as a scheduler would. Copy B is built
once, from scratch, the next morning. Every model but the reconciliation log (which keeps
one row per processed day, so A has one more day of it) must be identical, row for row.
The day's arrivals include late events dated up to 7 days earlier: the lookback must
pick them up into their own days, in every downstream mart.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pytest
import time_machine
from conftest import load_script, view_fingerprints, without_yaml_tests

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
DAY = dt.date(2025, 2, 28)  # the day added by the daily run
LOOKBACK_DAYS = 7
SKIP_MODELS = {"staging.stg_raw_reconciliation"}


def _load(name: str):
    return load_script(name)


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=dt.timezone.utc)


class _Env:
    """Point the project at one DuckDB file for the duration of a block."""

    def __init__(self, db: Path):
        self.values = {"GROWTHMESH_DUCKDB": str(db), "GROWTHMESH_START": START.isoformat()}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _plan(db: Path, at: dt.datetime) -> None:
    from sqlmesh import Context

    with _Env(db), time_machine.travel(at, tick=False), without_yaml_tests():
        context = Context(paths=ROOT)
        context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)  # `make test` runs both
        context.close()


def _run(db: Path, at: dt.datetime) -> bool:
    from sqlmesh import Context

    with _Env(db), time_machine.travel(at, tick=False), without_yaml_tests():
        context = Context(paths=ROOT)
        status = context.run()
        context.close()
    return not status.is_failure


def _fingerprints(db: Path) -> dict[str, tuple[int, str]]:
    """Rows and an order-free checksum of every model's prod view (conftest.view_fingerprints)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return view_fingerprints(con, exclude=SKIP_MODELS)
    finally:
        con.close()


@pytest.fixture(scope="module")
def daily_and_clean(tmp_path_factory):
    generator = _load("generate_data")
    add_day = _load("add_day")
    tmp = tmp_path_factory.mktemp("daily_run")
    daily_db, clean_db = tmp / "daily.duckdb", tmp / "clean.duckdb"
    generator.write_duckdb(generator.generate(seed=11, users=300, start=START, end=DAY, dirty_rate=0.02), daily_db)

    # Rows arriving on DAY dated before the lookback are a restatement's job (README "Late
    # data"), not a daily run's: drop them from the data set so both copies agree.
    con = duckdb.connect(str(daily_db))
    oldest = DAY - dt.timedelta(days=LOOKBACK_DAYS)
    late = {}
    for table in ("raw_segment.pages", "raw_segment.tracks"):
        on_day = f"CAST(received_at AS DATE) = DATE '{DAY}'"
        con.execute(
            f"DELETE FROM {table} WHERE {on_day} AND CAST(timestamp AS DATE) < DATE '{oldest}' "
            f"AND timestamp > TIMESTAMP '2000-01-01'"
        )
        (late[table],) = con.execute(
            f"SELECT COUNT(*) FROM {table} WHERE {on_day} AND CAST(timestamp AS DATE) < DATE '{DAY}' "
            f"AND CAST(timestamp AS DATE) >= DATE '{oldest}' AND user_id IS NOT NULL"
        ).fetchone()
    con.close()
    shutil.copyfile(daily_db, clean_db)

    add_day.hold(daily_db, DAY)
    _plan(daily_db, _morning(DAY))
    before = _fingerprints(daily_db)
    add_day.release(daily_db)
    ok = _run(daily_db, _morning(DAY + dt.timedelta(days=1)))

    _plan(clean_db, _morning(DAY + dt.timedelta(days=1)))
    return ok, late, before, _fingerprints(daily_db), _fingerprints(clean_db)


def test_the_day_brings_late_events_of_earlier_days(daily_and_clean):
    _, late, *_ = daily_and_clean
    assert sum(late.values()) > 0, "the added day has no late event: the test proves nothing"


def test_the_daily_run_succeeds_and_changes_the_marts(daily_and_clean):
    ok, _, before, daily, _ = daily_and_clean
    assert ok
    changed = {m for m in daily if m.startswith("product.") and daily[m] != before.get(m)}
    assert {"product.fct_events", "product.fct_user_activity_daily", "product.engagement_daily"} <= changed


def test_every_model_after_the_daily_run_equals_a_clean_build(daily_and_clean):
    *_, daily, clean = daily_and_clean
    assert set(daily) == set(clean)
    assert any(m.startswith("product.") for m in clean)
    different = {m: (daily[m], clean[m]) for m in clean if daily[m] != clean[m]}
    assert different == {}
