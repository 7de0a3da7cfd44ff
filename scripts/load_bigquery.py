#!/usr/bin/env python3
"""Load growthmesh's raw contract into BigQuery: datasets raw_segment, raw_stripe, raw_ads
and raw_crm, one table per table of `external_models.yaml`.

The source (`--from PATH`) is either the generator's Parquet folder
(`<PATH>/<schema>/<table>.parquet`, `scripts/generate_data.py --out DIR`) or a DuckDB file
holding the raw_* schemas (`generate_data.py --out FILE.duckdb`, or your own). Which one is
detected from the path.

What lands in BigQuery is exactly the contract:
- every table's schema is built from `external_models.yaml` (the single source of truth),
  every column NULLABLE (raw data has dirty rows: a NULL id or timestamp is quarantined by
  staging, never refused at load time); the source data is cast to it, and a source table
  missing a declared column or carrying an undeclared one is an error, before anything is
  sent;
- the three Segment tables (the only ones that grow with traffic) are partitioned by DAY
  on their event `timestamp` (staging reads them by `timestamp` range, so each
  incremental run scans only its days) and clustered by the columns staging and analysts
  filter on; the Stripe, ads and CRM tables are small (one row per customer, price,
  invoice, campaign-day...) and read whole by FULL staging models, so they are neither
  partitioned nor clustered (BigQuery advises against partitions far below 1 GB);
- loads are WRITE_TRUNCATE load jobs: a rerun replaces each table's rows, so loading the
  same source twice gives the same tables. A table whose schema, partitioning or clustering
  differs from the contract (an older layout) is dropped and recreated first, because
  BigQuery refuses to change partitioning in a load.

Credentials come only from the environment, the same variables as config.yaml's
`bigquery` gateway: GROWTHMESH_BQ_PROJECT (required), GROWTHMESH_BQ_LOCATION (default US),
GROWTHMESH_BQ_METHOD (`service-account` with GOOGLE_APPLICATION_CREDENTIALS = a key file,
`oauth` = Application Default Credentials, `oauth-secrets` with GROWTHMESH_BQ_TOKEN;
unset: the key file when GOOGLE_APPLICATION_CREDENTIALS is set, else ADC). With
BIGQUERY_EMULATOR_HOST set (e.g. http://127.0.0.1:9050) the client talks to that emulator
with anonymous credentials.

Usage:
    python scripts/load_bigquery.py --from data/parquet --dry-run      # what would load; no network
    GROWTHMESH_BQ_PROJECT=my-proj GROWTHMESH_BQ_METHOD=oauth \\
        python scripts/load_bigquery.py --from data/growthmesh.duckdb
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:  # imported lazily: --dry-run and --help never load the Google client
    from google.cloud import bigquery

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_FILE = PROJECT_ROOT / "external_models.yaml"
PROG = "load_bigquery.py"

# Contract type (as written in external_models.yaml) -> (BigQuery type, Arrow type to cast to).
# Timestamps are UTC-adjusted so a Parquet load types them TIMESTAMP (a naive one would be DATETIME).
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "STRING": ("STRING", pa.string()),
    "INT64": ("INT64", pa.int64()),
    "FLOAT64": ("FLOAT64", pa.float64()),
    "BOOL": ("BOOL", pa.bool_()),
    "TIMESTAMP": ("TIMESTAMP", pa.timestamp("us", tz="UTC")),
    "DATE": ("DATE", pa.date32()),
    "DATETIME": ("DATETIME", pa.timestamp("us")),
    "NUMERIC": ("NUMERIC", pa.decimal128(38, 9)),
    "BYTES": ("BYTES", pa.binary()),
}
TYPE_ALIASES = {"INTEGER": "INT64", "INT": "INT64", "BIGINT": "INT64", "FLOAT": "FLOAT64",
                "BOOLEAN": "BOOL", "VARCHAR": "STRING", "TEXT": "STRING"}


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one raw table is laid out in BigQuery: DAY partitions on a column, clustering."""

    partition_field: str | None = None
    clustering: tuple[str, ...] = ()

    def describe(self) -> str:
        """One human line: 'DAY partitions on timestamp, clustered by a, b' or 'unpartitioned'."""
        parts = [f"DAY partitions on {self.partition_field}" if self.partition_field else "unpartitioned"]
        if self.clustering:
            parts.append("clustered by " + ", ".join(self.clustering))
        return ", ".join(parts)


# The layout choice (module docstring): Segment tables partitioned by event day and
# clustered on what staging's deduplication and analysts' look-ups filter on; the rest
# are small and read whole. Every table not named here is unpartitioned.
LAYOUTS: dict[str, Layout] = {
    "raw_segment.pages": Layout("timestamp", ("anonymous_id", "user_id")),
    "raw_segment.tracks": Layout("timestamp", ("event", "user_id")),
    "raw_segment.identifies": Layout("timestamp", ("user_id", "anonymous_id")),
}
# One load job may write at most 4,000 partitions (BigQuery quota).
MAX_PARTITIONS_PER_LOAD = 4000

RAW_DATASETS = ("raw_segment", "raw_stripe", "raw_ads", "raw_crm")
EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
PLACEHOLDER_PROJECT = "growthmesh-unset"  # config.yaml's default when the variable is unset
BATCH_ROWS = 131_072
FIRST_CALL_DEADLINE_S = 60.0


class LoadError(Exception):
    """A problem the user can fix; main() prints it as one line and exits non-zero."""


# --------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Column:
    """A contract column: name and BigQuery type."""

    name: str
    bq_type: str

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type the source data is cast to before loading."""
        return TYPES[self.bq_type][1]


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """A contract table: `schema.table`, its columns in declared order, description, layout."""

    name: str
    columns: tuple[Column, ...]
    description: str = ""
    layout: Layout = Layout()

    @property
    def dataset(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema the source is cast to (all fields nullable)."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    def bq_schema(self) -> list[bigquery.SchemaField]:
        """The BigQuery schema: the declared types, every column NULLABLE."""
        from google.cloud import bigquery

        return [bigquery.SchemaField(c.name, c.bq_type, mode="NULLABLE") for c in self.columns]


def normalise_type(raw: str) -> str:
    """A contract type spelled the BigQuery way ('INTEGER' -> 'INT64'); LoadError if unknown."""
    t = str(raw).strip().upper()
    t = TYPE_ALIASES.get(t, t)
    if t not in TYPES:
        raise LoadError(f"unsupported type {raw!r} (supported: {', '.join(TYPES)})")
    return t


def load_contract(path: Path = CONTRACT_FILE) -> dict[str, TableSpec]:
    """Read external_models.yaml into {"raw_segment.pages": TableSpec, ...}, file order."""
    import yaml

    try:
        entries = yaml.safe_load(path.read_text())
    except OSError as e:
        raise LoadError(f"cannot read the contract {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise LoadError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(entries, list):
        raise LoadError(f"{path}: expected a list of external models")
    specs: dict[str, TableSpec] = {}
    for entry in entries:
        name = str(entry.get("name", "")).replace("`", "").replace('"', "")
        if name.count(".") != 1 or not isinstance(entry.get("columns"), dict) or not entry["columns"]:
            raise LoadError(f"{path}: every entry needs a `schema.table` name and typed columns (got {name!r})")
        try:
            columns = tuple(Column(str(c), normalise_type(t)) for c, t in entry["columns"].items())
        except LoadError as e:
            raise LoadError(f"{path}: {name}: {e}") from None
        layout = LAYOUTS.get(name, Layout())
        names = {c.name for c in columns}
        for col in filter(None, (layout.partition_field, *layout.clustering)):
            if col not in names:  # the layout table above drifted from the contract
                raise LoadError(f"{path}: {name} has no column {col!r} to partition or cluster on")
        specs[name] = TableSpec(name, columns, str(entry.get("description", "") or ""), layout)
    unknown = sorted({s.dataset for s in specs.values()} - set(RAW_DATASETS))
    if unknown:
        raise LoadError(f"{path}: schemas {', '.join(unknown)} are not raw datasets ({', '.join(RAW_DATASETS)})")
    return specs


# --------------------------------------------------------------------------------------
# Sources: a Parquet folder or a DuckDB file
# --------------------------------------------------------------------------------------
class Source:
    """Where the raw tables come from. Subclasses: ParquetSource, DuckDBSource."""

    kind = "?"

    def __init__(self, path: Path) -> None:
        self.path = path

    def location(self, spec: TableSpec) -> str:
        """Where `spec`'s rows are read from, for messages."""
        raise NotImplementedError

    def has_table(self, spec: TableSpec) -> bool:
        raise NotImplementedError

    def arrow_schema(self, spec: TableSpec) -> pa.Schema:
        """The source table's own schema (column names and Arrow types)."""
        raise NotImplementedError

    def num_rows(self, spec: TableSpec) -> int:
        raise NotImplementedError

    def batches(self, spec: TableSpec, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The table's rows, `columns` in that order, in record batches."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the source (the DuckDB connection)."""


class ParquetSource(Source):
    """The generator's Parquet folder: `<path>/<schema>/<table>.parquet`."""

    kind = "parquet folder"

    def _file(self, spec: TableSpec) -> Path:
        return self.path / spec.dataset / f"{spec.table}.parquet"

    def _open(self, spec: TableSpec) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self._file(spec))
        except (OSError, pa.ArrowException) as e:
            raise LoadError(f"cannot read {self._file(spec)}: {str(e).splitlines()[0]}") from None

    def location(self, spec: TableSpec) -> str:
        return str(self._file(spec))

    def has_table(self, spec: TableSpec) -> bool:
        return self._file(spec).is_file()

    def arrow_schema(self, spec: TableSpec) -> pa.Schema:
        return self._open(spec).schema_arrow

    def num_rows(self, spec: TableSpec) -> int:
        return self._open(spec).metadata.num_rows

    def batches(self, spec: TableSpec, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        yield from self._open(spec).iter_batches(batch_size=BATCH_ROWS, columns=list(columns))

    def file_if_exact(self, spec: TableSpec) -> Path | None:
        """The Parquet file itself when it already has the contract's exact column order
        and types, so it can be uploaded as it is; else None (it gets rewritten)."""
        schema = self.arrow_schema(spec)
        target = spec.arrow_schema()
        if schema.names == target.names and all(a.type == b.type for a, b in zip(schema, target)):
            return self._file(spec)
        return None


class DuckDBSource(Source):
    """A DuckDB file holding the raw_* schemas (opened read-only)."""

    kind = "duckdb file"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        import duckdb

        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as e:
            raise LoadError(f"cannot open {path} as a DuckDB file: {str(e).splitlines()[0]}") from None
        self.con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ columns render in UTC
        rows = self.con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
        self._tables = {f"{s}.{t}" for s, t in rows}

    @staticmethod
    def _ident(spec: TableSpec) -> str:
        return f'"{spec.dataset}"."{spec.table}"'

    def location(self, spec: TableSpec) -> str:
        return f"{self.path}:{spec.name}"

    def has_table(self, spec: TableSpec) -> bool:
        return spec.name in self._tables

    def arrow_schema(self, spec: TableSpec) -> pa.Schema:
        return self.con.execute(f"SELECT * FROM {self._ident(spec)} LIMIT 0").to_arrow_table().schema

    def num_rows(self, spec: TableSpec) -> int:
        return int(self.con.execute(f"SELECT COUNT(*) FROM {self._ident(spec)}").fetchone()[0])

    def batches(self, spec: TableSpec, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
        reader = self.con.execute(f"SELECT {cols} FROM {self._ident(spec)}").to_arrow_reader(BATCH_ROWS)
        yield from reader

    def close(self) -> None:
        self.con.close()


def open_source(path: Path) -> Source:
    """The Source at `path`: a folder is a Parquet folder, a file must be a DuckDB database."""
    if not path.exists():
        raise LoadError(f"--from {path}: no such file or folder")
    if path.is_dir():
        return ParquetSource(path)
    with path.open("rb") as f:
        header = f.read(16)
    if header[8:12] != b"DUCK":  # DuckDB's magic bytes
        raise LoadError(f"--from {path}: not a DuckDB file (expected a .duckdb file or a Parquet folder "
                        "<schema>/<table>.parquet)")
    return DuckDBSource(path)


def compatible(source: pa.DataType, bq_type: str) -> bool:
    """Whether a source column of Arrow type `source` can be cast to the contract type
    without reinterpreting it (an integer for INT64, any timestamp for TIMESTAMP, ...).
    Values that still do not fit (an integer overflow) fail the cast at load time."""
    if pa.types.is_dictionary(source):
        source = source.value_type
    if pa.types.is_null(source):  # an all-NULL column (e.g. an empty table from DuckDB)
        return True
    checks = {
        "STRING": pa.types.is_string(source) or pa.types.is_large_string(source),
        "INT64": pa.types.is_integer(source),
        "FLOAT64": pa.types.is_floating(source) or pa.types.is_integer(source) or pa.types.is_decimal(source),
        "NUMERIC": pa.types.is_decimal(source) or pa.types.is_integer(source),
        "BOOL": pa.types.is_boolean(source),
        "TIMESTAMP": pa.types.is_timestamp(source),
        "DATETIME": pa.types.is_timestamp(source),
        "DATE": pa.types.is_date(source),
        "BYTES": pa.types.is_binary(source) or pa.types.is_large_binary(source),
    }
    return checks[bq_type]


def check_source(source: Source, specs: dict[str, TableSpec]) -> dict[str, int]:
    """Check every contract table is in `source` with exactly the declared columns (any
    order) of types that cast to the declared ones. Returns {table: rows}. LoadError
    naming every problem found."""
    problems: list[str] = []
    rows: dict[str, int] = {}
    for name, spec in specs.items():
        if not source.has_table(spec):
            problems.append(f"{name} is missing ({source.location(spec)} not found)")
            continue
        have = source.arrow_schema(spec).names
        want = [c.name for c in spec.columns]
        missing = [c for c in want if c not in have]
        extra = [c for c in have if c not in want]
        if len(set(have)) != len(have):
            problems.append(f"{name} has duplicate column names")
        if missing:
            problems.append(f"{name} is missing column(s) {', '.join(missing)}")
        if extra:
            problems.append(f"{name} has column(s) not declared in external_models.yaml: {', '.join(extra)}")
        if not (missing or extra):
            types = dict(zip(have, source.arrow_schema(spec).types))
            for col in spec.columns:
                if not compatible(types[col.name], col.bq_type):
                    problems.append(f"{name}.{col.name} is {types[col.name]}, which does not load as {col.bq_type}")
            rows[name] = source.num_rows(spec)
    if problems:
        raise LoadError(f"source {source.path} does not match the raw contract: " + "; ".join(problems))
    return rows


def cast_array(array: pa.Array, column: Column, table: str) -> pa.Array:
    """One source column cast to its contract type. Naive timestamps mean UTC (the
    contract's rule); zoned ones are converted to UTC; finer units are truncated to
    BigQuery's microseconds. LoadError naming the column when a value does not fit."""
    target = column.arrow_type
    try:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_timestamp(array.type) and pa.types.is_timestamp(target):
            array = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False)  # ns -> us
            if target.tz is None and array.type.tz is not None:  # DATETIME: the UTC wall clock
                array = pc.local_timestamp(array.cast(pa.timestamp("us", tz="UTC")))
        return array.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise LoadError(f"{table}.{column.name}: cannot cast {array.type} to {column.bq_type}: "
                        f"{str(e).splitlines()[0]}") from None


def cast_batch(batch: pa.RecordBatch, spec: TableSpec) -> pa.RecordBatch:
    """`batch` (columns in contract order) cast to the contract's Arrow schema."""
    arrays = [cast_array(array, col, spec.name) for col, array in zip(spec.columns, batch.columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=spec.arrow_schema())


def partition_days(source: Source, spec: TableSpec) -> int:
    """How many DAY partitions loading `spec` writes: distinct UTC days of its partition
    column (NULLs count as one); 0 for an unpartitioned table."""
    field = spec.layout.partition_field
    if not field:
        return 0
    column = next(c for c in spec.columns if c.name == field)
    days: set = set()
    for batch in source.batches(spec, [field]):
        values = cast_array(batch.column(0), column, spec.name)
        if pa.types.is_timestamp(values.type):
            values = values.cast(pa.timestamp("us", tz="UTC")).cast(pa.date32())  # the UTC day
        days.update(pc.unique(values).to_pylist())
    return len(days)


def write_contract_parquet(source: Source, spec: TableSpec, out: Path) -> int:
    """Write `spec`'s source rows, in contract order and types, to the Parquet file `out`
    (streamed in batches; memory stays flat). Returns the number of rows written."""
    names = [c.name for c in spec.columns]
    rows = 0
    with pq.ParquetWriter(out, spec.arrow_schema(), compression="zstd", store_schema=False) as writer:
        for batch in source.batches(spec, names):
            writer.write_batch(cast_batch(batch, spec))
            rows += batch.num_rows
    return rows


# --------------------------------------------------------------------------------------
# BigQuery
# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Target:
    """Where and how to connect, from the environment."""

    project: str
    location: str
    method: str  # emulator | service-account | oauth | oauth-secrets
    keyfile: str = ""
    emulator_host: str = ""


def target_from_env(env: dict[str, str] | os._Environ = os.environ) -> Target:
    """The connection settings from the environment variables config.yaml's bigquery
    gateway reads; LoadError for a missing project or incomplete credentials settings."""
    project = env.get("GROWTHMESH_BQ_PROJECT", "").strip()
    if not project or project == PLACEHOLDER_PROJECT:
        raise LoadError("GROWTHMESH_BQ_PROJECT is not set: export the id of the BigQuery project to load into")
    location = env.get("GROWTHMESH_BQ_LOCATION", "").strip() or "US"
    emulator = env.get(EMULATOR_ENV, "").strip()
    if emulator:
        if not emulator.startswith(("http://", "https://")):
            raise LoadError(f"{EMULATOR_ENV}={emulator} needs a scheme, e.g. http://127.0.0.1:9050")
        return Target(project, location, "emulator", emulator_host=emulator)
    keyfile = env.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    method = env.get("GROWTHMESH_BQ_METHOD", "").strip() or ("service-account" if keyfile else "oauth")
    if method not in ("service-account", "oauth", "oauth-secrets"):
        raise LoadError(f"GROWTHMESH_BQ_METHOD={method} is not one of service-account, oauth, oauth-secrets")
    if method == "service-account":
        if not keyfile:
            raise LoadError("no credentials: GROWTHMESH_BQ_METHOD=service-account needs GOOGLE_APPLICATION_CREDENTIALS "
                            "set to a service account key file")
        if not Path(keyfile).is_file():
            raise LoadError(f"no credentials: GOOGLE_APPLICATION_CREDENTIALS={keyfile} is not a file")
    if method == "oauth-secrets" and env.get("GROWTHMESH_BQ_TOKEN", "unset").strip() in ("", "unset"):
        raise LoadError("no credentials: GROWTHMESH_BQ_METHOD=oauth-secrets needs GROWTHMESH_BQ_TOKEN "
                        "(an OAuth access token)")
    return Target(project, location, method, keyfile=keyfile)


SCOPES = ("https://www.googleapis.com/auth/bigquery",)


def make_client(target: Target, env: dict[str, str] | os._Environ = os.environ) -> bigquery.Client:
    """A BigQuery client for `target`. Builds credentials without any network call
    (tokens are fetched on the first request); LoadError when none can be found."""
    import google.auth
    import google.auth.exceptions
    from google.cloud import bigquery

    try:
        if target.method == "emulator":
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        elif target.method == "service-account":
            from google.oauth2 import service_account

            try:
                credentials = service_account.Credentials.from_service_account_file(target.keyfile, scopes=SCOPES)
            except (ValueError, KeyError, OSError) as e:
                raise LoadError(f"no credentials: {target.keyfile} is not a service account key file "
                                f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        elif target.method == "oauth-secrets":
            from google.oauth2.credentials import Credentials

            credentials = Credentials(token=env.get("GROWTHMESH_BQ_TOKEN", "").strip())
        else:
            credentials, _ = google.auth.default(scopes=SCOPES)
    except google.auth.exceptions.DefaultCredentialsError:
        raise LoadError("no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, "
                        "or run `gcloud auth application-default login` (GROWTHMESH_BQ_METHOD=oauth)") from None
    return bigquery.Client(project=target.project, credentials=credentials, location=target.location)


def table_matches(table: bigquery.Table, spec: TableSpec) -> bool:
    """Whether an existing BigQuery table already has the contract's schema and layout."""
    schema = [(f.name, f.field_type, f.mode or "NULLABLE") for f in table.schema]
    want = [(c.name, c.bq_type, "NULLABLE") for c in spec.columns]
    aliases = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
    schema = [(n, aliases.get(t, t), m) for n, t, m in schema]
    partitioning = table.time_partitioning
    have_part = (partitioning.type_, partitioning.field) if partitioning else None
    want_part = ("DAY", spec.layout.partition_field) if spec.layout.partition_field else None
    return (schema == want and have_part == want_part
            and tuple(table.clustering_fields or ()) == spec.layout.clustering)


def new_table(client: bigquery.Client, spec: TableSpec) -> bigquery.Table:
    """The contract table as a BigQuery Table object (not yet created)."""
    from google.cloud import bigquery

    table = bigquery.Table(f"{client.project}.{spec.dataset}.{spec.table}", schema=spec.bq_schema())
    if spec.layout.partition_field:
        table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                            field=spec.layout.partition_field)
    table.clustering_fields = list(spec.layout.clustering) or None
    table.description = spec.description or None
    return table


def ensure_dataset(client: bigquery.Client, dataset: str) -> None:
    """Create `dataset` in the client's location if missing; LoadError if it exists in
    another location (a load job there would fail with a confusing 404). The first call
    of a run, so its retries are bounded: an unreachable endpoint fails in a minute."""
    from google.api_core.exceptions import Conflict, NotFound
    from google.cloud import bigquery

    ref = f"{client.project}.{dataset}"
    retry = bigquery.DEFAULT_RETRY.with_deadline(FIRST_CALL_DEADLINE_S)
    try:
        existing = client.get_dataset(ref, retry=retry)
    except NotFound:
        ds = bigquery.Dataset(ref)
        ds.location = client.location
        ds.description = "growthmesh raw data, loaded by scripts/load_bigquery.py"
        try:
            client.create_dataset(ds, retry=retry)
        except Conflict:  # created meanwhile by another loader
            pass
        return
    if existing.location and client.location and existing.location.upper() != client.location.upper():
        raise LoadError(f"dataset {ref} is in location {existing.location}, not GROWTHMESH_BQ_LOCATION="
                        f"{client.location}")


def ensure_table(client: bigquery.Client, spec: TableSpec) -> str:
    """Make the table exist with exactly the contract's schema and layout. Returns what
    was done: 'kept', 'created' or 'recreated' (a table with another layout is dropped:
    the load replaces all its rows anyway, and BigQuery cannot change partitioning)."""
    from google.api_core.exceptions import NotFound

    ref = f"{client.project}.{spec.dataset}.{spec.table}"
    try:
        existing = client.get_table(ref)
    except NotFound:
        client.create_table(new_table(client, spec))
        return "created"
    if table_matches(existing, spec):
        return "kept"
    client.delete_table(ref)
    client.create_table(new_table(client, spec))
    return "recreated"


def load_file(client: bigquery.Client, spec: TableSpec, path: Path,
              progress: Callable[[int], Any] | None = None) -> bigquery.LoadJob:
    """Load the Parquet file at `path` into the contract table (WRITE_TRUNCATE) and wait."""
    from google.cloud import bigquery
    from tqdm.utils import CallbackIOWrapper

    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        schema=spec.bq_schema(),
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        labels={"app": "growthmesh", "step": "load_raw"},
    )
    if spec.layout.partition_field:
        config.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                             field=spec.layout.partition_field)
    if spec.layout.clustering:
        config.clustering_fields = list(spec.layout.clustering)
    size = path.stat().st_size
    with path.open("rb") as f:
        stream = CallbackIOWrapper(progress, f, "read") if progress else f
        job = client.load_table_from_file(stream, f"{client.project}.{spec.dataset}.{spec.table}",
                                          job_config=config, size=size, rewind=True,
                                          job_id_prefix=f"growthmesh_load_{spec.dataset}_{spec.table}_")
    job.result()
    return job


def one_line(error: BaseException) -> str:
    """An API error's message: its first line, without the `GET https://...: ` prefix the
    client puts before what the server said."""
    message = str(getattr(error, "message", None) or error or type(error).__name__)
    message = re.sub(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ", "", message.strip())
    return " ".join(message.split("\n")[0].split())


def explain(error: BaseException, target: Target) -> str:
    """The one-line message for an error from Google's client or auth library, or from
    the HTTP transport under them."""
    import google.auth.exceptions
    import requests
    from google.api_core import exceptions as api

    where = f"project {target.project}"
    if isinstance(error, api.Forbidden):
        return f"permission denied on {where} (403): {one_line(error)}"
    if isinstance(error, api.NotFound):
        text = one_line(error)
        if re.search(r"\bProject\b", text):
            return f"{where} not found, or not visible to these credentials (404): {text}"
        return f"not found (404): {text}"
    if isinstance(error, api.Unauthorized):
        return f"credentials rejected (401): {one_line(error)}"
    if isinstance(error, google.auth.exceptions.RefreshError):
        return f"credentials rejected: {one_line(error)}"
    if isinstance(error, (google.auth.exceptions.TransportError, requests.exceptions.ConnectionError,
                          ConnectionError, api.RetryError)):
        host = target.emulator_host or "bigquery.googleapis.com"
        cause = getattr(error, "cause", None)
        return f"cannot reach BigQuery at {host}: {one_line(cause or error)}"
    if isinstance(error, api.GoogleAPICallError):
        code = getattr(error, "code", None)
        return f"BigQuery error{f' ({int(code)})' if code else ''}: {one_line(error)}"
    return f"{type(error).__name__}: {one_line(error)}"


def remote_errors() -> tuple[type[BaseException], ...]:
    """The exception classes `explain` turns into one line (imported lazily)."""
    import google.auth.exceptions
    import requests
    from google.api_core.exceptions import GoogleAPIError

    return (GoogleAPIError, google.auth.exceptions.GoogleAuthError, requests.exceptions.RequestException,
            ConnectionError)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = _Parser(
        prog=PROG,
        description="Load growthmesh's raw tables (external_models.yaml) into BigQuery datasets "
                    "raw_segment, raw_stripe, raw_ads, raw_crm: exact declared schemas, Segment tables "
                    "partitioned by day, WRITE_TRUNCATE (a rerun gives the same tables).",
        epilog="Credentials only from the environment: GROWTHMESH_BQ_PROJECT, GROWTHMESH_BQ_LOCATION (default US), "
               "GROWTHMESH_BQ_METHOD (service-account | oauth | oauth-secrets), GOOGLE_APPLICATION_CREDENTIALS "
               "(key file) or Application Default Credentials; BIGQUERY_EMULATOR_HOST for a local emulator.",
    )
    p.add_argument("--from", dest="source", required=True, metavar="PATH",
                   help="a Parquet folder <PATH>/<schema>/<table>.parquet (generate_data.py --out DIR) "
                        "or a DuckDB file with the raw_* schemas")
    p.add_argument("--tables", nargs="+", metavar="SCHEMA.TABLE",
                   help="load only these contract tables (default: all twelve)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the source and print what would be loaded (table, rows, schema, partitioning); "
                        "no network call, no credentials needed")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    return p


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return code


def describe_plan(specs: dict[str, TableSpec], rows: dict[str, int], partitions: dict[str, int],
                  source: Source, project: str) -> str:
    """The dry-run report: per table the destination, rows, layout and schema."""
    lines = [f"dry run: would load {len(specs)} tables from {source.kind} {source.path} "
             f"into project {project} (WRITE_TRUNCATE)"]
    for name, spec in specs.items():
        layout = spec.layout.describe()
        if spec.layout.partition_field:
            layout += f" ({partitions[name]:,} partitions)"
        lines.append(f"{project}.{name}  {rows[name]:,} rows  {layout}")
        lines.append("    " + ", ".join(f"{c.name} {c.bq_type}" for c in spec.columns))
    lines.append(f"total  {sum(rows.values()):,} rows")
    return "\n".join(lines)


def run(args: argparse.Namespace, env: dict[str, str] | os._Environ = os.environ) -> int:
    """Do what the parsed arguments say; raises LoadError for problems the user can fix."""
    from tqdm import tqdm

    specs = load_contract()
    if args.tables:
        unknown = [t for t in args.tables if t not in specs]
        if unknown:
            raise LoadError(f"--tables: {', '.join(unknown)} not in external_models.yaml "
                            f"(known: {', '.join(specs)})")
        specs = {name: specs[name] for name in specs if name in args.tables}
    source = open_source(Path(args.source))
    try:
        rows = check_source(source, specs)  # everything checked before anything is sent
        partitions = {n: partition_days(source, s) for n, s in specs.items() if s.layout.partition_field}
        too_many = {n: p for n, p in partitions.items() if p > MAX_PARTITIONS_PER_LOAD}
        if too_many:
            raise LoadError("a load job writes at most 4,000 partitions: " + ", ".join(
                f"{n} spans {p:,} days" for n, p in too_many.items()))
        if args.dry_run:
            project = env.get("GROWTHMESH_BQ_PROJECT", "").strip() or "<GROWTHMESH_BQ_PROJECT>"
            print(describe_plan(specs, rows, partitions, source, project))
            return 0

        target = target_from_env(env)
        client = make_client(target, env)
        t0 = time.perf_counter()
        done: list[tuple[str, int, str]] = []
        bar = tqdm(total=sum(rows.values()), unit="row", unit_scale=True, file=sys.stderr,
                   disable=args.quiet, leave=False, desc="loading")
        try:
            with tempfile.TemporaryDirectory(prefix="growthmesh-load-") as tmp:
                try:
                    for dataset in sorted({s.dataset for s in specs.values()}):
                        ensure_dataset(client, dataset)
                    for name, spec in specs.items():
                        bar.set_postfix_str(name, refresh=True)
                        action = ensure_table(client, spec)
                        path = source.file_if_exact(spec) if isinstance(source, ParquetSource) else None
                        if path is None:
                            path = Path(tmp) / f"{name}.parquet"
                            write_contract_parquet(source, spec, path)
                        with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, file=sys.stderr,
                                  disable=args.quiet, leave=False, desc=f"  upload {name}") as upload:
                            job = load_file(client, spec, path, upload.update)
                        if path.parent == Path(tmp):
                            path.unlink()
                        loaded = int(job.output_rows or 0)
                        if loaded != rows[name]:
                            raise LoadError(f"{name}: the load job wrote {loaded:,} rows, the source has "
                                            f"{rows[name]:,}")
                        bar.update(rows[name])
                        done.append((name, loaded, action))
                except LoadError:
                    raise
                except remote_errors() as e:
                    raise LoadError(explain(e, target)) from None
        finally:
            bar.close()
        width = max(len(n) for n, _, _ in done)
        for name, loaded, action in done:
            print(f"{target.project}.{name:<{width}}  {loaded:>12,} rows  {specs[name].layout.describe()}"
                  f"{'' if action == 'kept' else f' (table {action})'}")
        print(f"total {sum(n for _, n, _ in done):,} rows into {len(done)} tables of project {target.project} "
              f"in {time.perf_counter() - t0:.1f} s")
        return 0
    finally:
        source.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn every user-fixable problem into one line."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except LoadError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
