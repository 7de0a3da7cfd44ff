"""scripts/benchmark.py: its arguments, the figures it records and how it prints them.

The timings themselves are never asserted (speed is the benchmark's output, not a test);
what is tested is that every figure is measured, recorded under its documented key and
printed. The bare-DuckDB baseline is checked for building the same tables as SQLMesh in
tests/test_integration.py; the whole benchmark end to end at a tiny scale is `slow`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"events", "full_build_s", "raw_duckdb_s", "daily_run_1y_s", "daily_run_3y_s", "noop_plan_s",
        "noop_run_s", "peak_rss_mb", "db_bytes"}


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmark")


def _result(**overrides):
    result = {"events": 1_234_567, "full_build_s": 200.0, "raw_duckdb_s": 160.0, "daily_run_1y_s": 10.0,
              "daily_run_3y_s": 11.0, "noop_plan_s": 4.0, "noop_run_s": 5.0, "peak_rss_mb": 3500,
              "db_bytes": 2_500_000_000, "model_rows": 9_876_543,
              "slowest_models_sqlmesh": [["product.fct_events", 50.0]],
              "slowest_models_bare": [["product.fct_events", 40.0]]}
    result.update(overrides)
    return result


def test_events_argument_accepts_lists_and_rejects_nonsense(benchmark):
    assert benchmark._events_arg("1000000,10000000") == [1_000_000, 10_000_000]
    assert benchmark._events_arg("1e6, 2_000_000") == [1_000_000, 2_000_000]
    for bad in ("", "ten", "1000", "1000000,abc"):
        with pytest.raises(Exception):
            benchmark._events_arg(bad)


def test_the_table_shows_every_figure_and_the_ratios(benchmark):
    text = benchmark.table([_result(), _result(events=50_000, daily_run_3y_s=None)])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| events |")
    first = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert first == ["1,234,567", "200.0", "160.0", "1.25", "10.0", "11.0", "1.10", "5.0%", "4.0", "5.0",
                     "3,500", "2,500", "9,876,543"]
    second = [cell.strip() for cell in lines[3].strip("|").split("|")]
    assert second[5:7] == ["-", "-"]  # no three-year run: no figure and no ratio


def test_per_model_seconds_are_read_from_sqlmesh_progress_lines(benchmark):
    output = (
        "[1/1] staging.stg_quarantine                     [full refresh, audits passed 2]\n9.99s   \n"
        "[1/2] product.fct_events  [insert 2025-12-01 - \n2026-05-31, audits passed 4]      30.50s \n"
        "[2/2] product.fct_events  [insert 2026-06-01 - 2026-11-29, audits passed 4]   12.25s\n"
        "Model batches executed\n"
    )
    assert benchmark.model_seconds(output) == [("product.fct_events", 42.75), ("staging.stg_quarantine", 9.99)]
    assert benchmark.model_seconds("No changes to plan") == []


def test_measure_reports_a_child_s_memory_and_stops_on_failure(benchmark):
    grow = "x = bytearray(200 * 1024 * 1024); print('ok')"
    measured = benchmark.measure([sys.executable, "-c", grow], dict(os.environ), "allocate 200 MB")
    assert measured.output.strip() == "ok"
    assert measured.peak_rss_mb >= 200
    with pytest.raises(SystemExit, match="exit 3"):
        benchmark.measure([sys.executable, "-c", "import sys; sys.exit(3)"], dict(os.environ), "fail")


def test_json_holds_one_object_per_scale_with_every_key(benchmark, tmp_path, monkeypatch, capsys):
    calls = []

    def fake_scale(events, work, end, seed, skip_3y):
        calls.append((events, skip_3y))
        return _result(events=events)

    monkeypatch.setattr(benchmark, "bench_scale", fake_scale)
    out = tmp_path / "bench.json"
    assert benchmark.main(["--events", "20000,30000", "--json", str(out), "--end", "2026-01-31",
                           "--workdir", str(tmp_path / "work")]) == 0
    results = json.loads(out.read_text())
    assert [r["events"] for r in results] == [20_000, 30_000] and calls == [(20_000, False), (30_000, False)]
    assert all(KEYS <= set(r) for r in results)
    printed = capsys.readouterr().out
    assert "| 20,000 |" in printed and "| 30,000 |" in printed and "slowest models on bare DuckDB" in printed


def test_end_must_leave_a_morning_to_run_on(benchmark, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--events", "20000", "--end", "2999-01-01"])
    assert "--end must be before today" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_end_to_end_at_a_tiny_scale(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--events", "20000",
                           "--json", str(out), "--workdir", str(tmp_path / "work")],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = json.loads(out.read_text())
    assert KEYS <= set(result)
    assert result["events"] > 10_000 and result["events_3y"] > 2 * result["events"]
    for key in KEYS - {"events"}:
        assert result[key] > 0, key
    assert result["model_rows"] > result["events"]  # fct_events alone holds nearly every event
    assert "| events |" in proc.stdout and f"{result['events']:,}" in proc.stdout


def test_a_scale_the_machine_cannot_hold_is_refused_before_any_work(benchmark, capsys):
    gib = 2**30
    # the generator holds one shard of at most 200,000 users: 100 M events fit in 24 GB
    assert benchmark.resource_check([1_000_000, 10_000_000, 100_000_000], True, 24 * gib, 80 * gib) is None
    assert benchmark.resource_check([10_000_000], True, 8 * gib, 80 * gib) is None
    refusal = benchmark.resource_check([10_000_000], True, 3 * gib, 80 * gib)  # a shard needs ~4.4 GiB
    assert refusal.startswith("10,000,000 events needs about") and "to generate" in refusal
    # disk: a year's raw data and the bare run's copy, or the 3-year database
    assert benchmark.resource_check([10_000_000], False, 24 * gib, 25 * gib) is None
    refusal = benchmark.resource_check([10_000_000], False, 24 * gib, 10 * gib)
    assert "of disk (its 3-year database)" in refusal and "--skip-3y" in refusal
    assert benchmark.resource_check([10_000_000], True, 24 * gib, 10 * gib) is None
    refusal = benchmark.resource_check([100_000_000], True, 24 * gib, 40 * gib)
    assert "GB of disk" in refusal and "--workdir" in refusal and "--skip-3y" not in refusal
    with pytest.raises(SystemExit):
        benchmark.main(["--events", "100000000000", "--end", "2026-01-31"])
    assert "needs about" in capsys.readouterr().err
