"""scripts/add_day.py: holding back a day and releasing it restores the raw tables exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    return load_script(name)


def _fingerprint(db: Path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in _load("add_day").ARRIVAL_COLUMN:
            rows, digest = con.sql(
                f"SELECT COUNT(*), COALESCE(CAST(SUM(HASH(t)) AS VARCHAR), '') FROM {table} AS t"
            ).fetchone()
            out[table] = (rows, digest)
        return out
    finally:
        con.close()


def test_hold_moves_the_days_arrivals_and_release_restores_every_table(tmp_path):
    generator = _load("generate_data")
    add_day = _load("add_day")
    db = tmp_path / "raw.duckdb"
    day = dt.date(2025, 3, 31)
    generator.write_duckdb(generator.generate(seed=3, users=150, start=dt.date(2025, 3, 1), end=day, dirty_rate=0.02), db)
    before = _fingerprint(db)

    moved = add_day.hold(db, day)
    held = _fingerprint(db)
    assert moved["raw_segment.tracks"] > 0 and moved["raw_segment.pages"] > 0
    for table, rows in moved.items():
        assert held[table][0] == before[table][0] - rows, table
    con = duckdb.connect(str(db), read_only=True)
    (left,) = con.sql(f"SELECT COUNT(*) FROM raw_segment.tracks WHERE CAST(received_at AS DATE) = DATE '{day}'").fetchone()
    con.close()
    assert left == 0

    added = add_day.release(db)
    assert added == moved
    assert _fingerprint(db) == before
