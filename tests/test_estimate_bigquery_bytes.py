"""scripts/estimate_bigquery_bytes.py: which columns and partitions a query is billed for,
and what they weigh, on hand-made tables whose sizes can be checked by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import sqlmesh  # noqa: F401  (SQLMesh extends sqlglot's dialects first)
import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("estimate_bigquery_bytes", ROOT / "scripts" / "estimate_bigquery_bytes.py")
est = importlib.util.module_from_spec(spec)
sys.modules["estimate_bigquery_bytes"] = est
spec.loader.exec_module(est)


class _Adapter:
    def __init__(self, con):
        self.con = con

    def fetchone(self, sql):
        return self.con.execute(sql).fetchone()


@pytest.fixture()
def warehouse():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA product")
    # events: 2 days; strings 'ab' (4 bytes billed), 'c' (3), NULL (0); dates 8 bytes each
    con.execute(
        "CREATE TABLE product.events AS SELECT * FROM (VALUES "
        "('ab', DATE '2025-01-01', 1.5), ('c', DATE '2025-01-02', NULL), (NULL, DATE '2025-01-02', 2.0)"
        ") AS t(user_id, event_date, amount)"
    )
    con.execute("CREATE TABLE product.users AS SELECT * FROM (VALUES ('ab'), ('xyz')) AS t(user_id)")
    types = lambda **kw: {k: exp.DataType.build(v, dialect="bigquery") for k, v in kw.items()}  # noqa: E731
    models = {
        "product.events": SimpleNamespace(
            kind=SimpleNamespace(name="INCREMENTAL_BY_TIME_RANGE"),
            columns_to_types=types(user_id="STRING", event_date="DATE", amount="FLOAT64"),
            partitioned_by=[exp.column("event_date")],
        ),
        "product.users": SimpleNamespace(
            kind=SimpleNamespace(name="FULL"), columns_to_types=types(user_id="STRING"), partitioned_by=[]
        ),
    }
    return SimpleNamespace(engine_adapter=_Adapter(con)), models


def _reads(sql):
    return est.table_reads(sqlglot.parse_one(sql, read="bigquery"))


def test_only_the_columns_a_query_names_are_read():
    reads = _reads("SELECT e.user_id FROM product.events AS e JOIN product.users AS u ON e.user_id = u.user_id")
    assert {name: set().union(*(cols for cols, _ in refs)) for name, refs in reads.items()} == {
        "product.events": {"user_id"},
        "product.users": {"user_id"},
    }


def test_a_filter_on_the_partition_column_prunes(warehouse):
    context, models = warehouse
    full = est.bytes_read(context, models, _reads("SELECT user_id, event_date FROM product.events AS e"), minimum=0)
    day2 = est.bytes_read(
        context, models, _reads("SELECT user_id, event_date FROM product.events AS e WHERE e.event_date >= '2025-01-02'"), minimum=0
    )
    assert full == (4 + 3 + 0) + 3 * 8
    assert day2 == (3 + 0) + 2 * 8


def test_a_filter_on_another_column_bills_every_partition(warehouse):
    context, models = warehouse
    sql = "SELECT user_id FROM product.events AS e WHERE e.user_id = 'c'"
    assert est.bytes_read(context, models, _reads(sql), minimum=0) == 4 + 3 + 0


def test_a_second_unfiltered_reference_bills_the_whole_table(warehouse):
    context, models = warehouse
    sql = (
        "SELECT a.amount FROM product.events AS a WHERE a.event_date >= '2025-01-02' "
        "UNION ALL SELECT b.amount FROM product.events AS b"
    )
    assert est.bytes_read(context, models, _reads(sql), minimum=0) == (8 + 0 + 8) + 3 * 8  # amount (a NULL bills nothing) and event_date, every row


def test_every_table_bills_at_least_the_minimum(warehouse):
    context, models = warehouse
    sql = "SELECT u.user_id FROM product.users AS u"
    assert est.bytes_read(context, models, _reads(sql), minimum=0) == 4 + 5
    assert est.bytes_read(context, models, _reads(sql)) == est.MIN_BYTES_PER_TABLE


def test_a_missing_database_is_one_clear_line(tmp_path, capsys):
    assert est.main(["--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make demo" in err[0]
