"""The `bigquery` gateway's configuration works as the README documents it.

- With `GROWTHMESH_STATE_PG_*` set, SQLMesh keeps its state in Postgres: a real Postgres
  server (the `pgserver` package's, started for the test on a Unix socket) receives
  SQLMesh's state tables through exactly the `state_connection` block of config.yaml, and
  reads back an empty state. BigQuery itself is never contacted.
- Without them, state falls back to the DuckDB file named by `GROWTHMESH_BQ_STATE_DUCKDB`.
- `GROWTHMESH_BQ_MAXIMUM_BYTES_BILLED` caps every query's bytes; unset, there is no cap.
- Loading the project on the local gateway needs no GCP credentials at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import environ, without_yaml_tests

ROOT = Path(__file__).resolve().parent.parent
ENV_KEYS = (
    "GROWTHMESH_STATE_PG_HOST",
    "GROWTHMESH_STATE_PG_PORT",
    "GROWTHMESH_STATE_PG_USER",
    "GROWTHMESH_STATE_PG_PASSWORD",
    "GROWTHMESH_STATE_PG_DATABASE",
    "GROWTHMESH_BQ_STATE_DUCKDB",
    "GROWTHMESH_BQ_MAXIMUM_BYTES_BILLED",
    "GROWTHMESH_BQ_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GROWTHMESH_DUCKDB",
)


def _env(**values: str):
    """Exactly `values` of the variables config.yaml reads set, the others unset."""
    return environ(**{**dict.fromkeys(ENV_KEYS), **values})


def _gateway(name: str):
    from sqlmesh.core.config import load_config_from_paths
    from sqlmesh.core.config.root import Config

    config = load_config_from_paths(Config, project_paths=[ROOT / "config.yaml"])
    return config.gateways[name]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server
    server.cleanup()


def test_state_goes_to_postgres_with_the_documented_variables(postgres, tmp_path):
    from sqlmesh import Context

    socket_dir = postgres.get_uri().split("host=")[1]
    with _env(
        GROWTHMESH_STATE_PG_HOST=socket_dir,
        GROWTHMESH_STATE_PG_USER="postgres",
        GROWTHMESH_STATE_PG_DATABASE="postgres",
        GROWTHMESH_BQ_PROJECT="growthmesh-config-test",
    ):
        gateway = _gateway("bigquery")
        assert gateway.state_connection.type_ == "postgres"
        assert (gateway.state_connection.host, gateway.state_connection.port) == (socket_dir, 5432)
        with without_yaml_tests():  # loading the project is all this needs
            context = Context(paths=ROOT, gateway="bigquery")
        try:
            context.state_sync.migrate()
            assert context.state_reader.get_environments() == []
        finally:
            context.close()
    tables = postgres.psql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'sqlmesh' ORDER BY 1;")
    for table in ("_environments", "_intervals", "_snapshots", "_versions"):
        assert table in tables, tables


def test_state_falls_back_to_a_duckdb_file_without_postgres(tmp_path):
    with _env(GROWTHMESH_BQ_STATE_DUCKDB=str(tmp_path / "state.duckdb")):
        state = _gateway("bigquery").state_connection
    assert state.type_ == "duckdb"
    assert state.database == str(tmp_path / "state.duckdb")


def test_maximum_bytes_billed_is_set_only_when_asked():
    with _env(GROWTHMESH_BQ_MAXIMUM_BYTES_BILLED="10000000000"):
        assert _gateway("bigquery").connection.maximum_bytes_billed == 10_000_000_000
    with _env():
        assert _gateway("bigquery").connection.maximum_bytes_billed is None


def test_local_gateway_needs_no_gcp_credentials(tmp_path):
    from sqlmesh import Context

    with _env(GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "does-not-exist.json"), GROWTHMESH_DUCKDB=str(tmp_path / "local.duckdb")):
        gateway = _gateway("bigquery")
        # the default method builds a client from a dummy token: no key file is read
        assert gateway.connection.method == "oauth-secrets"
        with without_yaml_tests():
            context = Context(paths=ROOT)
        try:
            assert context.engine_adapter.dialect == "duckdb"
        finally:
            context.close()


@pytest.mark.parametrize("password", ["", 'p"w: #1', "plain"])
def test_state_password_is_taken_verbatim(password):
    with _env(GROWTHMESH_STATE_PG_HOST="state-db.internal", GROWTHMESH_STATE_PG_PASSWORD=password):
        assert _gateway("bigquery").state_connection.password == password
