"""Estimate the bytes BigQuery would bill to build growthmesh, and to run one day.

BigQuery's on-demand pricing bills the bytes a query reads: for every table it names, the
columns it references, over the partitions its filters keep (at least 10 MB per table).
This script measures that on a local DuckDB build (`make demo`, or any file built by the
local gateway): it renders each model's query for BigQuery, finds per source table the
columns referenced and the filters on the table's partition column, and sums those
columns' BigQuery sizes (STRING: 2 + UTF-8 bytes; INT64, FLOAT64, DATE, TIMESTAMP: 8;
BOOL: 1; NULL: 0) over the rows the filters keep, in DuckDB.

Two figures per model: the first build (every interval from the first day of data) and one
daily `sqlmesh run` (the last day; incremental models read the day plus their lookback
and context, FULL models everything again). Audits, SQLMesh's own metadata queries and
storage are not counted. Raw tables are taken as partitioned the way
`scripts/load_bigquery.py` loads them.

    .venv/bin/python scripts/estimate_bigquery_bytes.py                 # on data/growthmesh.duckdb
    .venv/bin/python scripts/estimate_bigquery_bytes.py --db /tmp/big/growthmesh.duckdb --top 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_BYTES_PER_TABLE = 10 * 1024 * 1024
FIXED_SIZES = {"INT64": 8, "FLOAT64": 8, "DATE": 8, "TIMESTAMP": 8, "DATETIME": 8, "BOOL": 1, "NUMERIC": 16}
# How scripts/load_bigquery.py partitions the raw tables (day of this column).
RAW_PARTITIONS = {
    "raw_segment.pages": "timestamp",
    "raw_segment.tracks": "timestamp",
    "raw_segment.identifies": "timestamp",
}


@dataclass
class Read:
    """What one query reads of one table: columns, and whether partition filters prune it."""

    columns: set[str] = field(default_factory=set)
    filters: list[t.Any] | None = None  # None: some reference reads every partition


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=str(ROOT / "data" / "growthmesh.duckdb"), help="a DuckDB file built by the local gateway (default: the demo's)")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD", help="the day a daily run processes (default: the last day of data)")
    parser.add_argument("--top", type=int, default=0, help="print only the N models that read most on a daily run (default: all)")
    parser.add_argument("--usd-per-tib", type=float, default=6.25, help="on-demand price per TiB read, for the cost column (default 6.25, BigQuery's US list price)")
    return parser.parse_args(argv)


def _partition_column(model) -> str | None:
    if model.kind.name == "EXTERNAL":
        return RAW_PARTITIONS.get(model.name)
    return model.partitioned_by[0].name if model.partitioned_by else None


def table_reads(query, dialect: str = "bigquery") -> dict[str, tuple[Read, list]]:
    """Per table named in `query` (as `schema.table`): the columns read and the WHERE
    conjuncts of each reference that mention that table alone (candidates for pruning)."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    reads: dict[str, list[tuple[set[str], list]]] = {}
    for scope in traverse_scope(query):
        where = scope.expression.args.get("where")
        conjuncts = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else ([where.this] if where is not None else [])
        # an unqualified column belongs to the scope's only source (rendered models qualify all)
        only = next(iter(scope.sources)) if len(scope.sources) == 1 else None

        def owner(column: exp.Column) -> str | None:
            return column.table or only

        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table):
                continue
            name = f"{source.db}.{source.name}"
            columns = {c.name for c in scope.columns if owner(c) == alias}
            own = [c for c in conjuncts if {owner(col) for col in c.find_all(exp.Column)} == {alias}]
            reads.setdefault(name, []).append((columns, own))
    return reads


def _size_sql(column: str, data_type: str) -> str:
    quoted = f'"{column}"'
    if data_type == "STRING":
        return f"COALESCE(STRLEN(CAST({quoted} AS VARCHAR)) + 2, 0)"
    return f"CASE WHEN {quoted} IS NULL THEN 0 ELSE {FIXED_SIZES.get(data_type, 8)} END"


def bytes_read(context, models_by_table: dict, reads: dict, minimum: int = MIN_BYTES_PER_TABLE) -> int:
    """Bytes billed for one query's reads, measured on the DuckDB build (`context` needs
    only an `engine_adapter` that can `fetchone`); each table bills at least `minimum`."""
    from sqlglot import exp

    total = 0
    for table, references in reads.items():
        model = models_by_table.get(table)
        if model is None:
            continue
        types = {k: v.sql(dialect="bigquery") for k, v in (model.columns_to_types or {}).items()}
        columns = sorted(set().union(*(cols for cols, _ in references)) & set(types))
        if not columns:
            total += minimum
            continue
        partition = _partition_column(model)
        # a reference prunes only through conjuncts on the partition column; one that does
        # not prune makes the whole table billed
        prunes = []
        for _, conjuncts in references:
            on_partition = [c for c in conjuncts if {col.name for col in c.find_all(exp.Column)} == {partition}]
            prunes.append(on_partition)
        where = "TRUE"
        if partition and all(prunes):
            alternatives = []
            for conjuncts in prunes:
                parts = []
                for c in conjuncts:
                    c = c.copy()
                    for col in c.find_all(exp.Column):
                        col.set("table", None)
                    parts.append(c.sql(dialect="duckdb"))
                alternatives.append("(" + " AND ".join(parts) + ")")
            where = " OR ".join(alternatives)
        size = " + ".join(_size_sql(c, types[c]) for c in columns)
        (measured,) = context.engine_adapter.fetchone(f"SELECT COALESCE(SUM({size}), 0) FROM {table} WHERE {where}")
        total += max(int(measured), minimum)
    return total


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db = Path(args.db)
    if not db.exists():
        print(f"error: {db} does not exist; build it first with `make demo` (or pass --db)", file=sys.stderr)
        return 2
    os.environ["GROWTHMESH_DUCKDB"] = str(db)
    from sqlmesh import Context

    context = Context(paths=ROOT)
    models = {m.name: m for m in context.models.values()}
    (last_day,) = context.engine_adapter.fetchone("SELECT MAX(activity_date) FROM product.fct_user_activity_daily")
    (first_day,) = context.engine_adapter.fetchone("SELECT MIN(event_date) FROM product.fct_events")
    if last_day is None:
        print(f"error: {db} has no built models; run `make demo` first", file=sys.stderr)
        return 2
    day = args.day or last_day
    next_morning = day + dt.timedelta(days=1)
    rows = []
    for model in sorted(models.values(), key=lambda m: m.name):
        if model.kind.name in ("EXTERNAL", "SEED"):
            continue
        full = context.render(model, start=first_day, end=day, execution_time=next_morning)
        daily = context.render(model, start=day, end=day, execution_time=next_morning)
        rows.append((
            model.name,
            bytes_read(context, models, table_reads(full)),
            bytes_read(context, models, table_reads(daily)),
        ))
    context.close()
    rows.sort(key=lambda r: -r[2])
    shown = rows[: args.top] if args.top else rows
    gib = 1024**3
    print(f"Estimated BigQuery bytes billed, from {db} ({first_day} to {day}):\n")
    print(f"{'model':45} {'first build':>12} {'daily run':>12}")
    for name, full_bytes, daily_bytes in shown:
        print(f"{name:45} {full_bytes / gib:>10.3f} GiB {daily_bytes / gib:>8.3f} GiB")
    full_total, daily_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'all ' + str(len(rows)) + ' models':45} {full_total / gib:>10.3f} GiB {daily_total / gib:>8.3f} GiB")
    print(f"\nAt ${args.usd_per_tib:.2f}/TiB on demand: first build ${full_total / 1024**4 * args.usd_per_tib:.4f}, "
          f"daily run ${daily_total / 1024**4 * args.usd_per_tib:.4f} (audits and storage not included).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
