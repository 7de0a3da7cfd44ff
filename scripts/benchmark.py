#!/usr/bin/env python3
"""Benchmark growthmesh: full build, the same SQL on bare DuckDB, a daily run at two
history lengths, no-op commands, memory and file size.

    python scripts/benchmark.py                               # 1M and 10M events
    python scripts/benchmark.py --events 1000000 --json bench.json
    make bench                                                # the same as the first line

For each scale (`--events`, track + page events in one year of history) it generates data
into a scratch directory (default: a temporary one, removed afterwards) and measures, each
as the command a user runs, in a fresh process:

1. `full_build_s`: `sqlmesh plan --auto-apply` from an empty database (every model built
   and audited; `--skip-tests`, the YAML tests are `make test`'s), and `peak_rss_mb`, the
   largest resident memory of any measured command;
2. `raw_duckdb_s`: the same models' SQL with no framework: each model rendered by SQLMesh
   for the full range and run as `CREATE TABLE ... AS` in dependency order on a copy of
   the raw data (no audits, no state). `full_build_s / raw_duckdb_s` is SQLMesh's overhead;
3. `daily_run_1y_s` and `daily_run_3y_s`: one new day appended to the raw tables
   (scripts/add_day.py: its arrivals held back before the build, delivered after), then
   `sqlmesh run` as of the next morning, on one year of history and on three years with
   the same daily volume (three times the users over three times the days). Their ratio
   shows whether a daily run stays proportional to new data;
4. `noop_plan_s`, `noop_run_s`: `sqlmesh plan` with nothing changed and `sqlmesh run` with
   nothing due, the price of every command;
5. `db_bytes` and `model_rows`: the DuckDB file and the rows of every model after the run.

It prints one table (and the slowest models of the bare-DuckDB run, the profile to start
from); `--json PATH` also writes one object per scale. The data ends yesterday (UTC) unless
`--end` says otherwise; nothing else reads the clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
# Track + page events per signed-up user in one year of generated history (measured:
# 10.66 M events for 200,000 users); used to turn --events into --users.
EVENTS_PER_USER_YEAR = 53.3
# Resident memory the generator needs per track + page event of the shard it holds
# (measured: 3.3 GB for 10 M events in one shard, 4.6 GB peak writing two shards of 200,000
# users); it generates at most SHARD_USERS users at a time (scripts/generate_data.py).
GENERATOR_BYTES_PER_EVENT = 440
SHARD_USERS = 200_000
# the 3-year set at a scale holds about this many times its 1-year events (measured 3.5)
THREE_YEAR_EVENTS = 3.6
# Disk per event: the raw tables (measured 1.5 GB for 21.3 M events) and a built database
# after the daily run (4.3 GB at 10.0 M events); DuckDB spills to the same disk.
RAW_BYTES_PER_EVENT = 75
BUILT_BYTES_PER_EVENT = 430
DB_NAME = "growthmesh.duckdb"  # the catalog name the models are rendered with
MODEL_SCHEMAS = ("staging", "seeds", "product", "acquisition", "revenue", "customers", "sales", "intermediate")


def log(message: str) -> None:
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


class Measured:
    """Wall time and peak resident memory of one finished command."""

    def __init__(self, seconds: float, peak_rss_mb: float, output: str):
        self.seconds, self.peak_rss_mb, self.output = seconds, peak_rss_mb, output


def measure(cmd: list[str], env: dict[str, str], what: str) -> Measured:
    """Run `cmd` from the project root; wall seconds and the child's peak RSS (wait4)."""
    log(f"{what}: {' '.join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))}")
    out = tempfile.TemporaryFile(mode="w+")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    output = out.read()
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"benchmark: {what} failed (exit {proc.returncode}); its output is above")
    log(f"{what}: {seconds:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB")
    return Measured(seconds, usage.ru_maxrss / 1024, output)


# SQLMesh's progress line per evaluated batch: "[1/1] staging.stg_x  [insert ..., audits passed 3]  9.99s"
_BATCH_LINE = re.compile(r"\[\d+/\d+\]\s+([\w.]+)\s+\[[^\]]*\]\s+([\d.]+)s")


def model_seconds(output: str) -> list[tuple[str, float]]:
    """Per-model seconds (evaluation and audits, summed over batches) from a plan's output,
    slowest first."""
    totals: dict[str, float] = {}
    for name, seconds in _BATCH_LINE.findall(output):
        totals[name] = totals.get(name, 0.0) + float(seconds)
    return sorted(totals.items(), key=lambda item: -item[1])


def project_env(db: Path, start: dt.date, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("COLUMNS", "200")  # SQLMesh's progress lines unwrapped in the captured output
    env.update(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=start.isoformat(), GROWTHMESH_CACHE_DIR=str(cache))
    return env


def generate(db: Path, users: int, start: dt.date, end: dt.date, seed: int) -> None:
    """Generate the raw tables into `db`, in a child process (its memory is returned)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    measure([sys.executable, str(SCRIPTS / "generate_data.py"), "--seed", str(seed), "--users", str(users),
             "--start", start.isoformat(), "--end", end.isoformat(), "--out", str(db), "--quiet"],
            dict(os.environ), f"generate {users:,} users {start}..{end}")


def raw_events(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return sum(con.execute(f"SELECT COUNT(*) FROM raw_segment.{t}").fetchone()[0] for t in ("tracks", "pages"))
    finally:
        con.close()


def model_rows(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        views = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'growthmesh' "
            f"AND table_schema IN {MODEL_SCHEMAS}").fetchall()
        return sum(con.execute(f'SELECT COUNT(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in views)
    finally:
        con.close()


def bare_duckdb(db: Path, start: dt.date, last_day: dt.date) -> tuple[float, list[tuple[str, float]]]:
    """Every model's SQL, rendered for [start, last_day], run on bare DuckDB in DAG order.

    Seeds are loaded from their CSVs as SQLMesh would. Returns the total and per-model seconds.
    """
    import duckdb
    from sqlmesh import Context
    from sqlmesh.core.loader import SqlMeshLoader
    from sqlmesh.core.macros import RuntimeStage

    load_tests = SqlMeshLoader.load_model_tests
    SqlMeshLoader.load_model_tests = lambda self: []  # rendering needs no unit tests
    try:
        context = Context(paths=ROOT)
    finally:
        SqlMeshLoader.load_model_tests = load_tests
    settings = dict(context.config.gateways["local"].connection.connector_config)
    con = duckdb.connect(str(db))
    for key, value in settings.items():  # the local gateway's settings (TimeZone needs SET, not config)
        con.execute(f"SET {key} = '{value}'")
    execution_time = (last_day + dt.timedelta(days=1)).isoformat()
    timings: list[tuple[str, float]] = []
    try:
        for name in context.dag.sorted:
            model = context.get_model(name)
            if model is None or model.kind.is_external:  # a raw table
                continue
            catalog, schema, table = (part.strip('"') for part in name.split("."))
            target = f'"{schema}"."{table}"'
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            started = time.monotonic()
            if model.kind.is_seed:
                frame = next(iter(model.render_seed()))
                con.register("__seed", frame)
                columns = ", ".join(f'CAST("{c}" AS {t.sql(dialect="duckdb")}) AS "{c}"'
                                    for c, t in model.columns_to_types.items())
                con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {columns} FROM __seed")
                con.unregister("__seed")
            else:
                if model.depends_on_self:  # reads its previous contents (@this_model): none yet
                    columns = ", ".join(f'"{c}" {t.sql(dialect="duckdb")}' for c, t in model.columns_to_types.items())
                    con.execute(f"CREATE OR REPLACE TABLE {target} ({columns})")
                # rendered as for evaluation, so engine-specific macros render for DuckDB
                query = context.render(model, start=start.isoformat(), end=last_day.isoformat(),
                                       execution_time=execution_time, runtime_stage=RuntimeStage.EVALUATING)
                con.execute(f"CREATE OR REPLACE TABLE {target} AS {query.sql(dialect='duckdb')}")
            timings.append((f"{schema}.{table}", time.monotonic() - started))
    finally:
        con.close()
        context.close()
    return sum(s for _, s in timings), timings


def bench_scale(events: int, work: Path, end: dt.date, seed: int, skip_3y: bool) -> dict:
    """All figures for one scale."""
    users = max(50, round(events / EVENTS_PER_USER_YEAR))
    start_1y = end - dt.timedelta(days=364)
    hold_day = end
    result: dict = {"events_requested": events, "users": users, "start": start_1y.isoformat(), "end": end.isoformat()}
    cache = work / "cache"
    py = sys.executable
    sqlmesh = _tool("sqlmesh")
    as_of_hold_day = hold_day.isoformat()  # plan "now": the held day's interval is not due yet

    db = work / "1y" / DB_NAME
    generate(db, users, start_1y, end, seed)
    result["events"] = raw_events(db)
    env = project_env(db, start_1y, cache)
    measure([py, str(SCRIPTS / "add_day.py"), "hold", "--db", str(db), "--day", hold_day.isoformat()], env,
            "hold back the last day")
    raw_copy = work / "raw" / DB_NAME
    raw_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, raw_copy)

    # bare DuckDB first, its copy removed before the build: the disk holds one built database at a time
    log("bare DuckDB: every model's rendered SQL in DAG order")
    started = time.monotonic()
    # in a child process, so its memory and imports do not colour the parent's figures
    # rendered without state (an empty database), so models refer to each other by name
    render_env = project_env(work / "render" / DB_NAME, start_1y, cache)
    (work / "render").mkdir(exist_ok=True)
    raw = subprocess.run([py, __file__, "--_bare", str(raw_copy), start_1y.isoformat(),
                          (hold_day - dt.timedelta(days=1)).isoformat()],
                         cwd=ROOT, env=render_env, capture_output=True, text=True)
    if raw.returncode != 0:
        sys.stderr.write(raw.stderr[-4000:])
        raise SystemExit("benchmark: the bare-DuckDB run failed; its output is above")
    bare = json.loads(raw.stdout.strip().splitlines()[-1])
    log(f"bare DuckDB: {bare['total_s']:.1f} s of SQL ({time.monotonic() - started:.1f} s with start-up)")
    result["raw_duckdb_s"] = round(bare["total_s"], 2)
    result["slowest_models_bare"] = [[m, round(x, 2)] for m, x in sorted(bare["models"], key=lambda m: -m[1])[:10]]
    shutil.rmtree(raw_copy.parent)

    build = measure([sqlmesh, "plan", "--auto-apply", "--no-prompts", "--skip-tests",
                     "--execution-time", as_of_hold_day], env, "full build (1 year)")
    result["full_build_s"] = round(build.seconds, 2)
    result["slowest_models_sqlmesh"] = [[m, round(x, 2)] for m, x in model_seconds(build.output)[:10]]
    peak = build.peak_rss_mb

    measure([py, str(SCRIPTS / "add_day.py"), "release", "--db", str(db)], env, "deliver the held-back day")
    run = measure([py, str(SCRIPTS / "add_day.py"), "run", "--day", hold_day.isoformat()], env, "daily run (1 year)")
    result["daily_run_1y_s"] = round(run.seconds, 2)
    peak = max(peak, run.peak_rss_mb)

    noop_plan = measure([sqlmesh, "plan", "--no-prompts", "--skip-tests"], env, "no-change plan")
    if "No changes to plan" not in noop_plan.output:
        raise SystemExit(f"benchmark: the no-change plan found changes:\n{noop_plan.output[-2000:]}")
    result["noop_plan_s"] = round(noop_plan.seconds, 2)
    noop_run = measure([py, str(SCRIPTS / "add_day.py"), "run", "--day", hold_day.isoformat()], env, "no-op run")
    result["noop_run_s"] = round(noop_run.seconds, 2)
    result["peak_rss_mb"] = round(max(peak, noop_plan.peak_rss_mb, noop_run.peak_rss_mb))
    result["db_bytes"] = db.stat().st_size + (Path(str(db) + ".wal").stat().st_size if Path(str(db) + ".wal").exists() else 0)
    result["model_rows"] = model_rows(db)
    shutil.rmtree(db.parent)

    if skip_3y:
        result["daily_run_3y_s"] = None
        return result
    start_3y = end - dt.timedelta(days=3 * 365 - 1)
    db3 = work / "3y" / DB_NAME
    generate(db3, 3 * users, start_3y, end, seed)
    result["events_3y"] = raw_events(db3)
    env3 = project_env(db3, start_3y, cache)
    measure([py, str(SCRIPTS / "add_day.py"), "hold", "--db", str(db3), "--day", hold_day.isoformat()], env3,
            "hold back the last day (3 years)")
    build3 = measure([sqlmesh, "plan", "--auto-apply", "--no-prompts", "--skip-tests",
                      "--execution-time", as_of_hold_day], env3, "full build (3 years)")
    result["full_build_3y_s"] = round(build3.seconds, 2)
    measure([py, str(SCRIPTS / "add_day.py"), "release", "--db", str(db3)], env3, "deliver the held-back day (3 years)")
    run3 = measure([py, str(SCRIPTS / "add_day.py"), "run", "--day", hold_day.isoformat()], env3, "daily run (3 years)")
    result["daily_run_3y_s"] = round(run3.seconds, 2)
    result["peak_rss_mb"] = round(max(result["peak_rss_mb"], build3.peak_rss_mb, run3.peak_rss_mb))
    shutil.rmtree(db3.parent)
    return result


def resource_check(scales: list[int], skip_3y: bool, memory: int, disk: int) -> str | None:
    """Why a scale cannot run on this machine (None when all fit): the generator's memory
    for one shard, and the disk for the largest database the scale holds at once."""
    for events in scales:
        users = max(50, round(events / EVENTS_PER_USER_YEAR))
        per_user = EVENTS_PER_USER_YEAR * (THREE_YEAR_EVENTS / 3 if not skip_3y else 1)
        shard_events = min(users * (1 if skip_3y else 3), SHARD_USERS) * per_user
        need = shard_events * GENERATOR_BYTES_PER_EVENT
        if need > 0.9 * memory:
            return (f"{events:,} events needs about {need / 2**30:.0f} GB to generate and this machine has "
                    f"{memory / 2**30:.0f} GB; choose a smaller --events")
        # 1 year: the raw data plus the bare run's copy with its tables; 3 years: its build
        largest = max(events * (RAW_BYTES_PER_EVENT + BUILT_BYTES_PER_EVENT),
                      0 if skip_3y else events * THREE_YEAR_EVENTS * BUILT_BYTES_PER_EVENT)
        if largest * 1.2 > disk:
            return (f"{events:,} events needs about {largest * 1.2 / 2**30:.0f} GB of disk"
                    f"{'' if skip_3y else ' (its 3-year database)'} and the work directory has "
                    f"{disk / 2**30:.0f} GB free; choose a smaller --events, another --workdir"
                    f"{'' if skip_3y else ' or --skip-3y'}")
    return None


def _available_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def _ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def table(results: list[dict]) -> str:
    """The results as a Markdown table (also readable in a terminal)."""
    head = ["events", "full build s", "bare DuckDB s", "overhead ×", "daily run 1y s", "daily run 3y s", "3y / 1y",
            "run / build", "no-op plan s", "no-op run s", "peak RSS MB", "DB MB", "model rows"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        pct = f"{100 * r['daily_run_1y_s'] / r['full_build_s']:.1f}%"
        row = [f"{r['events']:,}", f"{r['full_build_s']:.1f}", f"{r['raw_duckdb_s']:.1f}",
               _ratio(r["full_build_s"], r["raw_duckdb_s"]), f"{r['daily_run_1y_s']:.1f}",
               "-" if r["daily_run_3y_s"] is None else f"{r['daily_run_3y_s']:.1f}",
               _ratio(r["daily_run_3y_s"], r["daily_run_1y_s"]), pct, f"{r['noop_plan_s']:.1f}",
               f"{r['noop_run_s']:.1f}", f"{r['peak_rss_mb']:,}", f"{r['db_bytes'] / 1e6:,.0f}",
               f"{r['model_rows']:,}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _events_arg(value: str) -> list[int]:
    try:
        scales = [int(float(v)) for v in value.replace("_", "").split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated event counts, got {value!r}") from None
    if not scales or min(scales) < 10_000:
        raise argparse.ArgumentTypeError("each scale must be at least 10000 events")
    return scales


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_bare"]:  # the child process of figure 2
        _, db, start, last_day = argv
        total, models = bare_duckdb(Path(db), dt.date.fromisoformat(start), dt.date.fromisoformat(last_day))
        print(json.dumps({"total_s": total, "models": models}))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=_events_arg, default=[1_000_000, 10_000_000],
                        help="comma-separated scales, track+page events per year (default 1000000,10000000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--workdir", type=Path, help="scratch directory (default: a temporary one, removed after)")
    parser.add_argument("--end", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="last day of the generated data (default: yesterday, UTC)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-3y", action="store_true", help="skip the three-year history (figure 3's second half)")
    args = parser.parse_args(argv)
    end = args.end or dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    if end >= dt.datetime.now(dt.timezone.utc).date():
        parser.error("--end must be before today (UTC): the daily run happens the morning after it")
    work_parent = args.workdir or Path(tempfile.gettempdir())
    while not work_parent.exists():  # the nearest existing folder tells the free space
        work_parent = work_parent.parent
    refusal = resource_check(args.events, args.skip_3y, _available_memory(), shutil.disk_usage(work_parent).free)
    if refusal:
        parser.error(refusal)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="growthmesh-bench-"))
    results = []
    try:
        for events in args.events:
            scale_dir = work / f"{events}"
            if scale_dir.exists():
                shutil.rmtree(scale_dir)
            log(f"scale {events:,} events into {scale_dir}")
            results.append(bench_scale(events, scale_dir, end, args.seed, args.skip_3y))
            shutil.rmtree(scale_dir, ignore_errors=True)
            if args.json:  # after each scale, so a long run keeps what it measured
                args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    for r in results:
        for key, what in (("slowest_models_sqlmesh", "in the full build (evaluation + audits)"),
                          ("slowest_models_bare", "on bare DuckDB")):
            slow = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r[key])
            print(f"\nslowest models {what} at {r['events']:,} events, s: {slow}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
