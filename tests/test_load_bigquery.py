"""pytest for scripts/load_bigquery.py without BigQuery: the schema it derives from
external_models.yaml, the source checks, --dry-run, and every user error's one line.

Nothing here reaches Google. The CLI runs in subprocesses whose environment holds no
credentials, an empty gcloud config and NO_GCE_CHECK=true (google-auth would otherwise
probe the GCE metadata server), and the metadata host points at a closed loopback port
as a second guard. The HTTP error paths (403, unknown project) run against a tiny fake
BigQuery API on 127.0.0.1 that answers every request with the error. Loading itself, and
idempotence, are shown on the emulator in tests/test_bigquery_emulator.py.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "load_bigquery.py"


def _module(name: str, path: Path):
    assert path == ROOT / "scripts" / f"{name}.py", path
    return load_script(name)


lb = _module("load_bigquery", SCRIPT)
gd = _module("generate_data", ROOT / "scripts" / "generate_data.py")

SMALL = dict(seed=3, users=60, start="2025-01-01", end="2025-01-31", dirty_rate=0.05)


@pytest.fixture(scope="module")
def tables():
    return gd.generate(**SMALL)


@pytest.fixture(scope="module")
def parquet_dir(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("parquet")
    gd.write_parquet(tables, out)
    return out


@pytest.fixture(scope="module")
def duckdb_file(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("duckdb") / "raw.duckdb"
    gd.write_duckdb(tables, out)
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


@pytest.fixture
def no_credentials_env(tmp_path):
    """An environment with no Google credentials anywhere and no way to the network."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GROWTHMESH_", "GOOGLE_", "BIGQUERY_", "CLOUDSDK_", "GCE_"))}
    (tmp_path / "home").mkdir()
    env.update(
        HOME=str(tmp_path / "home"),
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),  # no application_default_credentials.json
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST=f"127.0.0.1:{_closed_port()}",
        GCE_METADATA_IP=f"127.0.0.1:{_closed_port()}",
    )
    return env


def _cli(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed run (asserting there is exactly one)."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("load_bigquery.py: error: "), lines[0]
    return lines[0]


# ------------------------------------------------------------------------- the contract
def test_contract_from_external_models_yaml_matches_every_generated_column(tables):
    """The loader's schema (from external_models.yaml) = the generator's tables, column
    for column, in order, with matching types; every BigQuery column NULLABLE."""
    contract = lb.load_contract()
    assert list(contract) == list(tables) == list(gd.CONTRACT)
    bq_to_arrow = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(), "BOOL": pa.bool_(),
                   "TIMESTAMP": pa.timestamp("us"), "DATE": pa.date32()}
    for name, tbl in tables.items():
        spec = contract[name]
        assert [(c.name, c.bq_type) for c in spec.columns] == gd.CONTRACT[name], name
        plain = tbl.cast(gd.arrow_schema(name))  # dictionary strings -> plain strings
        assert [(f.name, f.type) for f in plain.schema] == [(c.name, bq_to_arrow[c.bq_type]) for c in spec.columns]
        fields = spec.bq_schema()
        assert [(f.name, f.field_type, f.mode) for f in fields] == [(c.name, c.bq_type, "NULLABLE")
                                                                      for c in spec.columns]


def test_contract_reads_the_yaml_file_not_a_copy(tmp_path):
    entries = yaml.safe_load((ROOT / "external_models.yaml").read_text())
    entries[0]["columns"]["new_column"] = "INTEGER"  # an alias spelling
    path = tmp_path / "external_models.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    spec = lb.load_contract(path)[entries[0]["name"]]
    assert spec.columns[-1] == lb.Column("new_column", "INT64")
    entries[0]["columns"]["bad"] = "GEOGRAPHY"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    with pytest.raises(lb.LoadError, match="unsupported type 'GEOGRAPHY'"):
        lb.load_contract(path)


def test_layout_partitions_the_segment_tables_by_event_day_only():
    contract = lb.load_contract()
    partitioned = {n: s.layout.partition_field for n, s in contract.items() if s.layout.partition_field}
    assert partitioned == {"raw_segment.pages": "timestamp", "raw_segment.tracks": "timestamp",
                           "raw_segment.identifies": "timestamp"}
    for spec in contract.values():
        names = {c.name for c in spec.columns}
        assert set(spec.layout.clustering) <= names
        assert len(spec.layout.clustering) <= 4  # BigQuery's limit


def test_generator_parquet_is_uploaded_as_is_and_checks_clean(parquet_dir, tables):
    """The generator's Parquet already has the contract's exact types: no rewrite needed."""
    source = lb.open_source(parquet_dir)
    contract = lb.load_contract()
    assert isinstance(source, lb.ParquetSource)
    assert lb.check_source(source, contract) == {n: t.num_rows for n, t in tables.items()}
    for spec in contract.values():
        assert source.file_if_exact(spec) is not None, spec.name


def test_duckdb_source_is_cast_to_exactly_the_contract(duckdb_file, tables, tmp_path):
    source = lb.open_source(duckdb_file)
    contract = lb.load_contract()
    try:
        assert isinstance(source, lb.DuckDBSource)
        assert lb.check_source(source, contract) == {n: t.num_rows for n, t in tables.items()}
        for name, spec in contract.items():
            out = tmp_path / f"{name}.parquet"
            assert lb.write_contract_parquet(source, spec, out) == tables[name].num_rows
            written = pq.read_table(out)
            assert written.schema.equals(spec.arrow_schema()), name
            expected = tables[name].cast(spec.arrow_schema())
            assert sorted(map(repr, written.to_pylist())) == sorted(map(repr, expected.to_pylist())), name
    finally:
        source.close()


def test_cast_treats_naive_timestamps_as_utc_and_converts_zoned_ones():
    column = lb.Column("ts", "TIMESTAMP")
    naive = pa.array([dt.datetime(2025, 1, 1, 12, 0, 0, 123456)], pa.timestamp("ns"))
    zoned = pa.array([0], pa.timestamp("s", tz="America/New_York"))
    assert lb.cast_array(naive, column, "t").to_pylist() == [dt.datetime(2025, 1, 1, 12, 0, 0, 123456,
                                                                         tzinfo=dt.timezone.utc)]
    assert lb.cast_array(zoned, column, "t").to_pylist() == [dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)]
    with pytest.raises(lb.LoadError, match=r"^t\.n: cannot cast double to INT64: .*truncated"):
        lb.cast_array(pa.array([1.5]), lb.Column("n", "INT64"), "t")


# ------------------------------------------------------------------------- --help and --dry-run
def test_help_lists_the_flags_and_the_credentials_variables(no_credentials_env):
    proc = _cli(["--help"], no_credentials_env)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for flag in ("--from PATH", "--dry-run", "--tables", "--quiet"):
        assert flag in text
    for var in ("GROWTHMESH_BQ_PROJECT", "GROWTHMESH_BQ_LOCATION", "GROWTHMESH_BQ_METHOD",
                "GOOGLE_APPLICATION_CREDENTIALS", "BIGQUERY_EMULATOR_HOST"):
        assert var in text


_NO_GOOGLE = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    assert not e.code, e.code\n"
    "loaded = [m for m in sys.modules if m.startswith(('google.cloud', 'google.auth', 'requests'))]\n"
    "print('GOOGLE MODULES:', loaded)\n"
)


def _dry_run(source: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    """--dry-run in a process that reports whether any Google/HTTP module was even imported."""
    return subprocess.run([sys.executable, "-c", _NO_GOOGLE, str(SCRIPT), "--from", str(source), "--dry-run", *extra],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_dry_run_prints_every_table_rows_schema_and_layout_without_network(parquet_dir, tables,
                                                                           no_credentials_env):
    env = dict(no_credentials_env, BIGQUERY_EMULATOR_HOST=f"http://127.0.0.1:{_closed_port()}")
    proc = _dry_run(parquet_dir, env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "GOOGLE MODULES: []"  # no client, no credentials, no HTTP: no network call possible
    assert lines[0].startswith(f"dry run: would load 12 tables from parquet folder {parquet_dir}")
    contract = lb.load_contract()
    for name, tbl in tables.items():
        spec = contract[name]
        (row_line,) = [i for i, line in enumerate(lines) if line.startswith(f"<GROWTHMESH_BQ_PROJECT>.{name} ")]
        line = lines[row_line]
        assert f" {tbl.num_rows:,} rows " in line
        if name.startswith("raw_segment."):
            days = len(set(pc.cast(tbl["timestamp"], pa.date32()).to_pylist()))
            assert f"DAY partitions on timestamp, clustered by {', '.join(spec.layout.clustering)} " \
                   f"({days:,} partitions)" in line
        else:
            assert line.endswith("unpartitioned")
        assert lines[row_line + 1].strip() == ", ".join(f"{c.name} {c.bq_type}" for c in spec.columns)
    assert f"total  {sum(t.num_rows for t in tables.values()):,} rows" in lines


def test_dry_run_of_the_duckdb_file_reports_the_same_tables(parquet_dir, duckdb_file, no_credentials_env):
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="my-proj")
    from_parquet = _dry_run(parquet_dir, env)
    from_duckdb = _dry_run(duckdb_file, env)
    assert from_parquet.returncode == from_duckdb.returncode == 0, from_duckdb.stderr
    assert "from duckdb file" in from_duckdb.stdout.splitlines()[0]
    assert from_duckdb.stdout.splitlines()[1:] == from_parquet.stdout.splitlines()[1:]
    assert "my-proj.raw_stripe.charge " in from_duckdb.stdout
    assert from_duckdb.stdout.splitlines()[-1] == "GOOGLE MODULES: []"


def test_dry_run_of_selected_tables(parquet_dir, no_credentials_env):
    proc = _dry_run(parquet_dir, no_credentials_env, "--tables", "raw_ads.ad_spend", "raw_crm.account")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("dry run: would load 2 tables")
    assert "raw_segment.pages" not in proc.stdout


# ------------------------------------------------------------------------- source errors
@pytest.fixture
def broken_parquet(parquet_dir, tmp_path):
    """A copy of the Parquet folder to break."""
    import shutil

    out = tmp_path / "broken"
    shutil.copytree(parquet_dir, out)
    return out


def test_missing_and_extra_columns_fail_before_anything_is_sent(broken_parquet, no_credentials_env):
    pages = broken_parquet / "raw_segment" / "pages.parquet"
    pq.write_table(pq.read_table(pages).drop_columns(["title", "context_locale"]), pages)
    charge = broken_parquet / "raw_stripe" / "charge.parquet"
    tbl = pq.read_table(charge)
    pq.write_table(tbl.append_column("fraud_score", pa.array([0.5] * tbl.num_rows)), charge)
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p", GOOGLE_APPLICATION_CREDENTIALS="/nonexistent.json")
    for args in (["--dry-run"], []):  # the real load fails the same way, before credentials
        line = _one_line_error(_cli(["--from", str(broken_parquet), *args], env))
        assert "does not match the raw contract" in line
        assert "raw_segment.pages is missing column(s) title, context_locale" in line
        assert "raw_stripe.charge has column(s) not declared in external_models.yaml: fraud_score" in line


def test_missing_table_file(broken_parquet, no_credentials_env):
    (broken_parquet / "raw_crm" / "account.parquet").unlink()
    line = _one_line_error(_cli(["--from", str(broken_parquet), "--dry-run"], no_credentials_env))
    assert f"raw_crm.account is missing ({broken_parquet / 'raw_crm' / 'account.parquet'} not found)" in line


def test_column_of_the_wrong_type(broken_parquet, no_credentials_env):
    path = broken_parquet / "raw_ads" / "ad_spend.parquet"
    tbl = pq.read_table(path)
    i = tbl.column_names.index("spend")
    pq.write_table(tbl.set_column(i, "spend", pc.cast(tbl["spend"], pa.string())), path)
    line = _one_line_error(_cli(["--from", str(broken_parquet), "--dry-run"], no_credentials_env))
    assert "raw_ads.ad_spend.spend is string, which does not load as FLOAT64" in line


def test_missing_duckdb_schema(tmp_path, tables, no_credentials_env):
    db = tmp_path / "partial.duckdb"
    gd.write_duckdb({n: t for n, t in tables.items() if not n.startswith("raw_crm.")}, db)
    line = _one_line_error(_cli(["--from", str(db), "--dry-run"], no_credentials_env))
    assert f"raw_crm.account is missing ({db}:raw_crm.account not found)" in line
    assert "raw_crm.opportunity is missing" in line


def test_missing_source_path(tmp_path, no_credentials_env):
    line = _one_line_error(_cli(["--from", str(tmp_path / "nope"), "--dry-run"], no_credentials_env))
    assert line == f"load_bigquery.py: error: --from {tmp_path / 'nope'}: no such file or folder"


def test_source_file_that_is_not_duckdb(tmp_path, no_credentials_env):
    path = tmp_path / "data.csv"
    path.write_text("id,name\n1,a\n")
    line = _one_line_error(_cli(["--from", str(path), "--dry-run"], no_credentials_env))
    assert f"--from {path}: not a DuckDB file" in line


def test_unknown_table_selected(parquet_dir, no_credentials_env):
    line = _one_line_error(_cli(["--from", str(parquet_dir), "--dry-run", "--tables", "raw_stripe.refund"],
                                no_credentials_env))
    assert "--tables: raw_stripe.refund not in external_models.yaml" in line


def test_more_days_than_a_load_job_can_partition(tmp_path, tables, no_credentials_env):
    one = tables["raw_segment.pages"].cast(gd.arrow_schema("raw_segment.pages"))
    pages = pa.concat_tables([one] * (4100 // one.num_rows + 1)).slice(0, 4100)
    start = dt.datetime(2010, 1, 1)
    ts = pa.array([start + dt.timedelta(days=i) for i in range(pages.num_rows)], pa.timestamp("us"))
    pages = pages.set_column(pages.column_names.index("timestamp"), "timestamp", ts)
    gd.write_parquet({"raw_segment.pages": pages}, tmp_path)
    line = _one_line_error(_cli(["--from", str(tmp_path), "--dry-run", "--tables", "raw_segment.pages"],
                                no_credentials_env))
    assert "a load job writes at most 4,000 partitions: raw_segment.pages spans 4,100 days" in line


def test_missing_argument_is_one_line(no_credentials_env):
    proc = _cli([], no_credentials_env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "load_bigquery.py: error: the following arguments are required: --from"


# ------------------------------------------------------------------------- credential errors
def test_missing_project(parquet_dir, no_credentials_env):
    line = _one_line_error(_cli(["--from", str(parquet_dir)], no_credentials_env))
    assert line == ("load_bigquery.py: error: GROWTHMESH_BQ_PROJECT is not set: export the id of the "
                    "BigQuery project to load into")
    # config.yaml's placeholder counts as unset
    line = _one_line_error(_cli(["--from", str(parquet_dir)],
                                dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="growthmesh-unset")))
    assert "GROWTHMESH_BQ_PROJECT is not set" in line


def test_no_application_default_credentials(parquet_dir, no_credentials_env):
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p")
    for method in ("", "oauth"):
        line = _one_line_error(_cli(["--from", str(parquet_dir)], dict(env, GROWTHMESH_BQ_METHOD=method)))
        assert line == ("load_bigquery.py: error: no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service "
                        "account key file, or run `gcloud auth application-default login` "
                        "(GROWTHMESH_BQ_METHOD=oauth)")


def test_service_account_key_problems(parquet_dir, no_credentials_env, tmp_path):
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p", GROWTHMESH_BQ_METHOD="service-account")
    line = _one_line_error(_cli(["--from", str(parquet_dir)], env))
    assert "no credentials: GROWTHMESH_BQ_METHOD=service-account needs GOOGLE_APPLICATION_CREDENTIALS" in line
    line = _one_line_error(_cli(["--from", str(parquet_dir)],
                                dict(env, GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "key.json"))))
    assert line.endswith(f"no credentials: GOOGLE_APPLICATION_CREDENTIALS={tmp_path / 'key.json'} is not a file")
    (tmp_path / "key.json").write_text(json.dumps({"type": "authorized_user"}))
    line = _one_line_error(_cli(["--from", str(parquet_dir)],
                                dict(env, GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "key.json"))))
    assert f"no credentials: {tmp_path / 'key.json'} is not a service account key file" in line


def test_oauth_secrets_without_a_token_and_unknown_method(parquet_dir, no_credentials_env):
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p")
    line = _one_line_error(_cli(["--from", str(parquet_dir)], dict(env, GROWTHMESH_BQ_METHOD="oauth-secrets")))
    assert "GROWTHMESH_BQ_METHOD=oauth-secrets needs GROWTHMESH_BQ_TOKEN" in line
    line = _one_line_error(_cli(["--from", str(parquet_dir)], dict(env, GROWTHMESH_BQ_METHOD="kerberos")))
    assert "GROWTHMESH_BQ_METHOD=kerberos is not one of service-account, oauth, oauth-secrets" in line


def test_emulator_host_without_scheme(parquet_dir, no_credentials_env):
    env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p", BIGQUERY_EMULATOR_HOST="127.0.0.1:9050")
    line = _one_line_error(_cli(["--from", str(parquet_dir)], env))
    assert "BIGQUERY_EMULATOR_HOST=127.0.0.1:9050 needs a scheme" in line


# ------------------------------------------------------------------------- HTTP errors (fake API)
class _FakeAPI:
    """A BigQuery REST API on 127.0.0.1 that answers every request with one error."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        body = json.dumps({"error": {"code": status, "message": message, "status": reason,
                                     "errors": [{"message": message, "domain": "global", "reason": reason}]}})
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self) -> None:
                outer.requests.append(f"{self.command} {self.path.split('?')[0]}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "_FakeAPI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_permission_denied_is_one_line(parquet_dir, no_credentials_env):
    message = "Access Denied: Dataset p:raw_ads: Permission bigquery.datasets.get denied on dataset p:raw_ads"
    with _FakeAPI(403, message, "accessDenied") as api:
        env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="p", BIGQUERY_EMULATOR_HOST=api.url)
        line = _one_line_error(_cli(["--from", str(parquet_dir), "--quiet"], env))
    assert line == f"load_bigquery.py: error: permission denied on project p (403): {message}"
    assert api.requests == ["GET /bigquery/v2/projects/p/datasets/raw_ads"]  # stopped at the first refusal


def test_unknown_project_is_one_line(parquet_dir, no_credentials_env):
    with _FakeAPI(404, "Not found: Project nope", "notFound") as api:
        env = dict(no_credentials_env, GROWTHMESH_BQ_PROJECT="nope", BIGQUERY_EMULATOR_HOST=api.url)
        line = _one_line_error(_cli(["--from", str(parquet_dir), "--quiet"], env))
    assert line == ("load_bigquery.py: error: project nope not found, or not visible to these credentials (404): "
                    "Not found: Project nope")
    # dataset missing (404) -> create it -> the project is not there (404)
    assert api.requests == ["GET /bigquery/v2/projects/nope/datasets/raw_ads",
                            "POST /bigquery/v2/projects/nope/datasets"]


# ------------------------------------------------------------------------- table decisions
class _FakeClient:
    """Just enough of bigquery.Client for ensure_table / ensure_dataset."""

    project = "p"
    location = "US"

    def __init__(self, existing=None) -> None:
        self.tables = dict(existing or {})
        self.calls: list[str] = []

    def get_table(self, ref):
        from google.api_core.exceptions import NotFound

        self.calls.append(f"get {ref}")
        if ref not in self.tables:
            raise NotFound(f"Not found: Table {ref}")
        return self.tables[ref]

    def create_table(self, table):
        self.calls.append(f"create {table.project}.{table.dataset_id}.{table.table_id}")
        self.tables[f"{table.project}.{table.dataset_id}.{table.table_id}"] = table
        return table

    def delete_table(self, ref):
        self.calls.append(f"delete {ref}")
        del self.tables[ref]


def test_ensure_table_creates_keeps_or_recreates_by_layout():
    spec = lb.load_contract()["raw_segment.tracks"]
    client = _FakeClient()
    assert lb.ensure_table(client, spec) == "created"
    table = client.tables["p.raw_segment.tracks"]
    assert (table.time_partitioning.type_, table.time_partitioning.field) == ("DAY", "timestamp")
    assert table.clustering_fields == ["event", "user_id"]
    assert table.description == "One row per track (product) event as Segment's warehouse loader writes it."
    assert lb.ensure_table(client, spec) == "kept"  # what a rerun sees: nothing dropped

    from google.cloud import bigquery

    old = bigquery.Table("p.raw_segment.tracks", schema=spec.bq_schema())  # an older, unpartitioned layout
    client = _FakeClient({"p.raw_segment.tracks": old})
    assert lb.ensure_table(client, spec) == "recreated"
    assert client.calls[-2:] == ["delete p.raw_segment.tracks", "create p.raw_segment.tracks"]
    assert client.tables["p.raw_segment.tracks"].time_partitioning.field == "timestamp"

    wrong_type = [bigquery.SchemaField(f.name, "STRING" if f.name == "timestamp" else f.field_type)
                  for f in spec.bq_schema()]
    assert not lb.table_matches(bigquery.Table("p.raw_segment.tracks", schema=wrong_type), spec)
