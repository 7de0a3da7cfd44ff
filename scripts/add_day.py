"""Hold back one day of raw data, then add it: how a daily `sqlmesh run` is measured.

    python scripts/add_day.py hold    --db data/growthmesh.duckdb --day 2026-11-22
    sqlmesh plan --auto-apply                     # build history without that day
    python scripts/add_day.py release --db data/growthmesh.duckdb
    python scripts/add_day.py run                 # `sqlmesh run` as of the day after --day

`hold` moves every raw row that arrived on the day (Segment rows by `received_at`, Stripe
and CRM rows by their creation or update time, ad spend by its date) into `holdout_*`
schemas of the same file; `release` moves them back, as a loader would deliver a new day.
`run` calls SQLMesh's `run` with the execution time set to the start of the following day,
so the held-back day is the one new interval (the clock is not touched otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ARRIVAL_COLUMN = {
    "raw_segment.pages": "received_at",
    "raw_segment.tracks": "received_at",
    "raw_segment.identifies": "received_at",
    "raw_stripe.customer": "created",
    "raw_stripe.product": "created",
    "raw_stripe.price": "created",
    "raw_stripe.subscription_history": "updated_at",
    "raw_stripe.invoice": "created",
    "raw_stripe.charge": "created",
    "raw_ads.ad_spend": "date",
    "raw_crm.account": "created_date",
    "raw_crm.opportunity": "created_date",
}


def _holdout(table: str) -> str:
    schema, name = table.split(".")
    return f"holdout_{schema}.{name}"


def hold(db: Path, day: dt.date) -> dict[str, int]:
    """Move rows that arrived on `day` out of the raw tables; returns rows moved per table."""
    import duckdb

    con = duckdb.connect(str(db))
    moved = {}
    try:
        con.execute("BEGIN")
        for table, column in ARRIVAL_COLUMN.items():
            target = _holdout(table)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {target.split('.')[0]}")
            predicate = f"CAST({column} AS DATE) = DATE '{day.isoformat()}'"
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {table} WHERE {predicate}")
            moved[table] = con.execute(f"SELECT COUNT(*) FROM {target}").fetchone()[0]
            con.execute(f"DELETE FROM {table} WHERE {predicate}")
        con.execute("COMMIT")
    finally:
        con.close()
    return moved


def release(db: Path) -> dict[str, int]:
    """Append the held-back rows to the raw tables and drop the holdout schemas."""
    import duckdb

    con = duckdb.connect(str(db))
    added = {}
    try:
        con.execute("BEGIN")
        for table in ARRIVAL_COLUMN:
            source = _holdout(table)
            added[table] = con.execute(f"SELECT COUNT(*) FROM {source}").fetchone()[0]
            con.execute(f"INSERT INTO {table} SELECT * FROM {source}")
            con.execute(f"DROP TABLE {source}")
        for schema in {_holdout(t).split(".")[0] for t in ARRIVAL_COLUMN}:
            con.execute(f"DROP SCHEMA IF EXISTS {schema}")
        con.execute("COMMIT")
    finally:
        con.close()
    return added


def run_next_day(day: dt.date) -> tuple[bool, float]:
    """`sqlmesh run` with the execution time at the start of the day after `day`:
    (whether it succeeded, seconds taken)."""
    from sqlmesh import Context

    started = time.monotonic()
    context = Context(paths=Path(__file__).resolve().parent.parent)
    status = context.run(execution_time=(day + dt.timedelta(days=1)).isoformat())
    context.close()
    return not status.is_failure, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["hold", "release", "run"])
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("GROWTHMESH_DUCKDB", "data/growthmesh.duckdb")),
                        help="DuckDB file with the raw tables (default data/growthmesh.duckdb, or $GROWTHMESH_DUCKDB; "
                             "`run` always uses the project's connection, which reads $GROWTHMESH_DUCKDB too)")
    parser.add_argument("--day", type=dt.date.fromisoformat, help="UTC day to hold back (hold) or just added (run)")
    args = parser.parse_args(argv)
    if args.action in ("hold", "run") and args.day is None:
        parser.error(f"{args.action} needs --day YYYY-MM-DD")
    if args.action != "run" and not args.db.exists():
        sys.exit(f"add_day: {args.db} does not exist; generate data first (scripts/generate_data.py)")
    if args.action == "hold":
        for table, rows in hold(args.db, args.day).items():
            print(f"held back {rows:>10,} rows of {table}")
    elif args.action == "release":
        for table, rows in release(args.db).items():
            print(f"added     {rows:>10,} rows to {table}")
    else:
        ok, seconds = run_next_day(args.day)
        print(f"sqlmesh run for {args.day}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
