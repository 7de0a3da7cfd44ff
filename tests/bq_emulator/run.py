#!/usr/bin/env python3
"""Run a command with the emulator shims (shims.py) installed, in this process.

    python tests/bq_emulator/run.py sqlmesh [SQLMESH ARGS...]      # SQLMesh's own CLI entry point
    python tests/bq_emulator/run.py script PATH [ARGS...]          # a Python script, as __main__

Test-only: used by tests/test_bigquery_emulator.py with BIGQUERY_EMULATOR_HOST set.
On exit it prints one line `bq-emulator-shims: {...}` to stderr with how often each
shim rewrote something, so the test can show they were needed.
"""

from __future__ import annotations

import atexit
import json
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shims  # noqa: E402


def _report() -> None:
    sys.stderr.write(f"bq-emulator-shims: {json.dumps(dict(shims.STATS), sort_keys=True)}\n")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("sqlmesh", "script"):
        sys.exit("usage: run.py sqlmesh ARGS... | run.py script PATH ARGS...")
    shims.apply()
    atexit.register(_report)
    if sys.argv[1] == "sqlmesh":
        from sqlmesh.cli.main import cli

        sys.argv = ["sqlmesh", *sys.argv[2:]]
        cli()  # click: exits with the command's status
    else:
        path = sys.argv[2]
        sys.argv = [path, *sys.argv[3:]]
        runpy.run_path(path, run_name="__main__")


if __name__ == "__main__":
    main()
