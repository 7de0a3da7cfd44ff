"""Build the growthmesh demo on local DuckDB and print a short summary.

What `make demo` runs: generate a year of demo data ending yesterday (UTC) into the local
DuckDB file, apply a prod plan (`sqlmesh plan --auto-apply --skip-tests`) that builds and
audits every model, then print rows per layer, the data's date range and the time taken.
The YAML unit tests are `make test`'s job, so the demo does not run them twice.

Safe to re-run: on the same day with the same arguments the data is kept and the plan
has nothing to do; on a later day (or with other arguments) the demo database is rebuilt
from scratch, so rows are never duplicated. The demo database holds nothing but demo data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "growthmesh.duckdb"

LAYERS = {
    "raw": ("raw_segment", "raw_stripe", "raw_ads", "raw_crm"),
    "seeds": ("seeds",),
    "staging": ("staging",),
    "marts": ("product", "acquisition", "revenue", "customers", "sales"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; defaults give the standard demo set."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000, help="demo users to generate (default 10000)")
    parser.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="last day of data, UTC (default: yesterday)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("GROWTHMESH_DUCKDB", DEFAULT_DB)),
                        help="DuckDB file (default data/growthmesh.duckdb, or $GROWTHMESH_DUCKDB)")
    return parser.parse_args(argv)


def _tool(name: str) -> str:
    """A console script of this virtualenv (sqlmesh), falling back to PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"demo: `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` failed "
                 f"(exit {result.returncode}); see the output above.")


def generate_if_needed(args: argparse.Namespace, db: Path, env: dict[str, str]) -> bool:
    """(Re)generate the demo data unless the database already holds this exact set."""
    end = args.end or dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=args.days - 1)
    wanted = {"seed": args.seed, "users": args.users, "start": start.isoformat(), "end": end.isoformat()}
    stamp = db.with_name(db.stem + ".demo_args.json")
    if db.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        print(f"Demo data for {start} .. {end} already in {db}; keeping it.")
        return False
    for path in (db, Path(str(db) + ".wal"), stamp):
        path.unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"Generating demo data: {args.users} users, {start} .. {end} -> {db}")
    _run([sys.executable, str(ROOT / "scripts" / "generate_data.py"), "--seed", str(args.seed),
          "--users", str(args.users), "--start", start.isoformat(), "--end", end.isoformat(),
          "--out", str(db)], env)
    stamp.write_text(json.dumps(wanted))
    return True


def summarize(db: Path) -> list[str]:
    """Rows per layer and model, the event date range and quarantine reasons."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    lines = []
    tables = con.sql(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT LIKE 'sqlmesh%' ORDER BY 1, 2"
    ).fetchall()
    for layer, schemas in LAYERS.items():
        rows = [(s, t, con.sql(f'SELECT COUNT(*) FROM "{s}"."{t}"').fetchone()[0])
                for s, t in tables if s in schemas]
        if not rows:
            continue
        total = sum(r[2] for r in rows)
        lines.append(f"{layer:<8} {len(rows):>3} tables {total:>12,} rows")
        if layer in ("staging", "marts"):
            lines += [f"           {s}.{t:<36} {n:>12,}" for s, t, n in rows]
    first, last = con.sql("SELECT MIN(event_date), MAX(event_date) FROM staging.stg_segment__tracks").fetchone()
    lines.append(f"events   {first} .. {last} (UTC days)")
    reasons = con.sql(
        "SELECT reject_reason, COUNT(*) FROM staging.stg_quarantine GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    lines.append("quarantined " + ", ".join(f"{r} {n:,}" for r, n in reasons))
    con.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    """Generate (if needed), plan prod with auto-apply, print the summary."""
    args = parse_args(argv)
    if args.users < 1 or args.days < 1:
        sys.exit("demo: --users and --days must be at least 1")
    started = time.monotonic()
    env = dict(os.environ, GROWTHMESH_DUCKDB=str(args.db))
    generate_if_needed(args, args.db, env)
    generated = time.monotonic()
    print("Building every model in prod: sqlmesh plan --auto-apply --skip-tests")
    _run([_tool("sqlmesh"), "plan", "--auto-apply", "--no-prompts", "--skip-tests"], env)
    built = time.monotonic()
    print("\n== growthmesh demo ==")
    for line in summarize(args.db):
        print(line)
    print(f"time     {built - started:.1f} s (data {generated - started:.1f} s, sqlmesh plan {built - generated:.1f} s)")
    print(f"Next: `make test`, or explore with `.venv/bin/sqlmesh ui` (database {args.db}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
