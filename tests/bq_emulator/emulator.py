"""Set up and run the `bqemulator` BigQuery API emulator for tests, offline but for PyPI.

`bqemulator` cannot live in the project's virtualenv (it needs sqlglot 30.9-30.11 and
duckdb 2.x where SQLMesh pins sqlglot ~=30.8 and duckdb < 2), so it gets a virtualenv
of its own, built once per machine and reused:

    $GROWTHMESH_BQEMULATOR_VENV, else ${XDG_CACHE_HOME:-~/.cache}/growthmesh/bqemulator-<key>

where <key> hashes the pip requirements and the Python version, so changing either
builds a new one. A fresh clone (CI) reuses it; the first build takes about 80 s.
Creation is locked (two checkouts may build at once) and only a completed build is used.

At start the emulator loads DuckDB's `spatial` and `avro` extensions, which DuckDB
would download: they come from PyPI's `duckdb-extension-*` wheels instead, copied into
a HOME private to the venv (`<venv>/home/.duckdb/extensions/<version>/<platform>/`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BQEMULATOR_VERSION = "1.4.0"
DUCKDB_VERSION = "1.5.5"  # the emulator's DuckDB; the extension wheels must match it
REQUIREMENTS = [
    f"bqemulator=={BQEMULATOR_VERSION}",
    f"duckdb=={DUCKDB_VERSION}",
    f"duckdb-extension-spatial=={DUCKDB_VERSION}",
    f"duckdb-extension-avro=={DUCKDB_VERSION}",
    "numpy",
]
EXTENSIONS = ("spatial", "avro")
PROJECT = "growthmesh-emulator"


class EmulatorError(RuntimeError):
    """The emulator could not be installed or started (message says which and why)."""


def venv_dir() -> Path:
    """Where the emulator's virtualenv lives (see the module docstring)."""
    override = os.environ.get("GROWTHMESH_BQEMULATOR_VENV")
    if override:
        return Path(override)
    key = hashlib.sha256("\n".join([*REQUIREMENTS, sys.version.split()[0]]).encode()).hexdigest()[:10]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "growthmesh" / f"bqemulator-{BQEMULATOR_VERSION}-{key}"


def _run(cmd: list[str], what: str, **kwargs) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise EmulatorError(f"{what} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def _build(target: Path) -> None:
    """Build the venv at `target` (a fresh folder): pip install, then the extensions."""
    _run([sys.executable, "-m", "venv", str(target)], "creating the bqemulator venv", timeout=300)
    py = target / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
         "pip install " + " ".join(REQUIREMENTS), timeout=1200)
    # DuckDB looks for extensions in $HOME/.duckdb/extensions/<version>/<platform>/
    version, platform, sources = _run(
        [str(py), "-c",
         "import duckdb, importlib, pathlib\n"
         "print(duckdb.sql('PRAGMA version').fetchone()[0])\n"
         "print(duckdb.sql('PRAGMA platform').fetchone()[0])\n"
         f"for name in {EXTENSIONS!r}:\n"
         "    m = importlib.import_module('duckdb_extension_' + name)\n"
         "    print(next(pathlib.Path(m.__file__).parent.rglob(name + '.duckdb_extension')))\n"],
        "locating the DuckDB extensions", timeout=120,
    ).split("\n", 2)
    ext_dir = target / "home" / ".duckdb" / "extensions" / version.strip() / platform.strip()
    ext_dir.mkdir(parents=True)
    for src in sources.split():
        shutil.copy2(src, ext_dir / Path(src).name)
    (target / ".complete").write_text("\n".join(REQUIREMENTS) + "\n")


def ensure_venv() -> Path:
    """The emulator's venv, built if missing. Returns its folder. The build holds a lock
    (another checkout may be building the same one) and marks the folder complete only
    at its end; an unmarked folder (an interrupted build) is removed and built again."""
    final = venv_dir()
    if (final / ".complete").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / ".complete").is_file():  # else another process built it meanwhile
            shutil.rmtree(final, ignore_errors=True)
            try:
                _build(final)
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)
                raise
    return final


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process dies, even by SIGKILL
    (Linux prctl PR_SET_PDEATHSIG), so no emulator outlives its test run."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """A running emulator on 127.0.0.1 (REST and gRPC ports chosen free). Use as a
    context manager, or call start() / stop(). `host` is the BIGQUERY_EMULATOR_HOST value."""

    def __init__(self, venv: Path, log_path: Path, project: str = PROJECT) -> None:
        self.venv = venv
        self.log_path = log_path
        self.project = project
        self.rest_port = free_port()
        self.grpc_port = free_port()
        self.host = f"http://127.0.0.1:{self.rest_port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Emulator:
        """Start the emulator and wait until its REST API answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["HOME"] = str(self.venv / "home")  # where DuckDB finds the copied extensions
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(self.venv / "bin" / "bqemulator"), "start", "--rest-host", "127.0.0.1", "--rest-port",
             str(self.rest_port), "--grpc-host", "127.0.0.1", "--grpc-port", str(self.grpc_port),
             "--project", self.project, "--ephemeral", "--log-level", "warning"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        url = f"{self.host}/bigquery/v2/projects/{self.project}/datasets"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                raise EmulatorError(f"bqemulator exited with {self.proc.returncode}: "
                                    + self.log_path.read_text()[-2000:])
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise EmulatorError(f"bqemulator did not answer on {url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the emulator (SIGTERM to its process group, SIGKILL after 10 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
