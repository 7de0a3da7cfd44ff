"""Scheduled runs: every model is on the daily schedule, `sqlmesh run` does each new day's
work exactly once, and the deploy files (cron, systemd, GitHub Actions) call commands and
Makefile targets that exist.

The run tests build prod on a tiny generated data set as of the morning of its last day,
with that day's arrivals held back (scripts/add_day.py), run again the same day, deliver
the day and run the next morning, with the clock pinned (time_machine) at each step as a
scheduler would find it. What each run did is read from SQLMesh state (the intervals of
each prod snapshot) and from a hook on the snapshot evaluator that records every model
query SQLMesh runs, with its interval.
"""

from __future__ import annotations

import configparser
import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import time_machine
import yaml
from conftest import copy_project, load_script

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
DAY = dt.date(2025, 2, 12)  # held back, then delivered: the one new day of the daily run (mid-month)
WORKFLOWS = ROOT / ".github" / "workflows"
CRON_FILE = ROOT / "deploy" / "cron" / "growthmesh.cron"
SERVICE_FILE = ROOT / "deploy" / "systemd" / "growthmesh-run.service"
TIMER_FILE = ROOT / "deploy" / "systemd" / "growthmesh-run.timer"
# the environment config.yaml reads for the bigquery gateway that is a credential
SECRET_ENV = {"GROWTHMESH_STATE_PG_PASSWORD", "GROWTHMESH_BQ_TOKEN"}


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc)


def _ms(day: dt.date) -> int:
    return int(_at(day, 0).timestamp() * 1000)


def _load(name: str):
    return load_script(name)


class _Env:
    """Point the project at one DuckDB file (and a private cache) for a block."""

    def __init__(self, project: Path, db: Path):
        self.values = {
            "GROWTHMESH_DUCKDB": str(db),
            "GROWTHMESH_START": START.isoformat(),
            "GROWTHMESH_CACHE_DIR": str(project / ".cache"),
        }

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _EvaluationRecorder:
    """Records (model, start, end) of every model query the snapshot evaluator runs."""

    def __init__(self, monkeypatch):
        from sqlmesh.core.snapshot.evaluator import SnapshotEvaluator
        from sqlmesh.utils.date import to_timestamp

        self.calls: list[tuple[str, int, int]] = []
        lock = threading.Lock()
        original = SnapshotEvaluator.evaluate

        def evaluate(evaluator, snapshot, *args, **kwargs):
            with lock:
                self.calls.append((snapshot.model.name, to_timestamp(kwargs["start"]), to_timestamp(kwargs["end"])))
            return original(evaluator, snapshot, *args, **kwargs)

        monkeypatch.setattr(SnapshotEvaluator, "evaluate", evaluate)

    def take(self) -> list[tuple[str, int, int]]:
        calls, self.calls = self.calls, []
        return calls


def _prod_intervals(context) -> dict[str, list[tuple[int, int]]]:
    env = context.state_reader.get_environment("prod")
    snapshots = context.state_reader.get_snapshots(env.snapshots).values()
    return {s.model.name: [tuple(i) for i in s.intervals] for s in snapshots if s.is_model and not s.is_external}


def _running_month(context) -> tuple:
    """The running (incomplete) month's row of the MRR bridge: (month_start, month_end)."""
    return tuple(context.engine_adapter.fetchall(
        "SELECT month_start, month_end FROM revenue.mrr_movements_monthly WHERE scope = 'all' AND NOT is_complete_month"
    ))


def _rows_on(context, day: dt.date) -> int:
    ((rows,),) = context.engine_adapter.fetchall(
        f"SELECT COUNT(*) FROM staging.stg_segment__tracks WHERE event_date = DATE '{day}'"
    )
    return rows


@pytest.fixture(scope="module")
def schedule(tmp_path_factory):
    from sqlmesh import Context

    generator, add_day = _load("generate_data"), _load("add_day")
    tmp = tmp_path_factory.mktemp("schedule")
    project = copy_project(tmp / "project")
    db = tmp / "growthmesh.duckdb"
    generator.write_duckdb(generator.generate(seed=5, users=200, start=START, end=DAY, dirty_rate=0.0), db)
    add_day.hold(db, DAY)
    monkeypatch = pytest.MonkeyPatch()
    recorder = _EvaluationRecorder(monkeypatch)
    out = {}
    try:
        with _Env(project, db):
            with time_machine.travel(_at(DAY, 6), tick=True):
                context = Context(paths=project)
                context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
                recorder.take()
                models = [m for m in context.models.values() if m.kind.name != "EXTERNAL"]
                out["models"] = {m.name: m for m in models}
                out["built"] = _prod_intervals(context)
                out["rows_before"] = _rows_on(context, DAY)
                out["running_month_before"] = _running_month(context)
            # the same day's scheduled run, as late as it gets
            with time_machine.travel(_at(DAY, 23, 59), tick=True):
                status = context.run()
                out["same_day"] = (status.is_failure, recorder.take(), _prod_intervals(context))
            context.close()  # let go of the DuckDB file while the loader writes to it

            add_day.release(db)  # the loader delivers DAY

            # the next morning's run (the project is unchanged: no need to load it again)
            with time_machine.travel(_at(DAY + dt.timedelta(days=1), 6), tick=True):
                status = context.run()
                out["next_day"] = (status.is_failure, recorder.take(), _prod_intervals(context))
                out["rows_after"] = _rows_on(context, DAY)
                out["running_month_after"] = _running_month(context)
                context.close()
        yield out
    finally:
        monkeypatch.undo()


# --- (a) every model's schedule is deliberate ---------------------------------------------


def test_every_model_runs_daily(schedule):
    from sqlmesh.core.node import IntervalUnit

    models = schedule["models"]
    assert len(models) == len(list((ROOT / "models").rglob("*.sql")))
    not_daily = {name: m.cron for name, m in models.items() if m.cron != "@daily"}
    assert not_daily == {}
    assert {m.interval_unit for m in models.values()} == {IntervalUnit.DAY}


def test_monthly_rollups_are_rebuilt_daily_so_the_running_month_stays_fresh(schedule):
    monthly = {name: m for name, m in schedule["models"].items() if "monthly" in name}
    assert len(monthly) >= 3, sorted(monthly)  # mrr_movements_monthly, customer_mrr_monthly, pipeline_monthly, ...
    for name, model in monthly.items():
        assert model.cron == "@daily", name
        # a monthly model keyed on month intervals would only refresh once the month is over
        assert model.kind.name in ("FULL", "INCREMENTAL_BY_TIME_RANGE"), name
        if model.kind.name == "INCREMENTAL_BY_TIME_RANGE":
            assert model.interval_unit.name == "DAY", name
    # the MRR bridge's running month moves forward with each day's run
    month = DAY.replace(day=1)
    assert schedule["running_month_before"] == ((month, DAY - dt.timedelta(days=1)),)
    assert schedule["running_month_after"] == ((month, DAY),)


# --- (b) sqlmesh run processes each new interval exactly once ------------------------------


def _incremental(schedule) -> dict[str, int]:
    """Models with intervals (incremental by time, and the CUSTOM `replace_keys` sessions) and
    their lookback (intervals re-read on every run)."""
    return {
        name: m.lookback
        for name, m in schedule["models"].items()
        if m.kind.name in ("INCREMENTAL_BY_TIME_RANGE", "CUSTOM")
    }


def test_the_build_covers_every_complete_day_before_the_held_back_one(schedule):
    built = schedule["built"]
    assert set(built) == set(schedule["models"])
    assert {name: iv for name, iv in built.items() if iv != [(_ms(START), _ms(DAY))]} == {}
    assert schedule["rows_before"] == 0  # DAY's arrivals were held back


def test_a_second_run_on_the_same_day_processes_nothing(schedule):
    failed, evaluated, intervals = schedule["same_day"]
    assert not failed
    assert evaluated == []
    assert intervals == schedule["built"]


def test_the_next_days_run_adds_exactly_one_interval_per_incremental_model(schedule):
    failed, evaluated, intervals = schedule["next_day"]
    assert not failed
    incremental = _incremental(schedule)
    assert len(incremental) >= 8, sorted(incremental)
    for name in incremental:
        before, after = schedule["built"][name], intervals[name]
        assert before == [(_ms(START), _ms(DAY))], name
        assert after == [(_ms(START), _ms(DAY + dt.timedelta(days=1)))], name
    # and the new day's data is there
    assert schedule["rows_after"] > 0


def test_the_next_days_run_evaluates_the_new_day_and_the_lookback_only(schedule):
    _, evaluated, _ = schedule["next_day"]
    by_model: dict[str, list[tuple[int, int]]] = {}
    for name, start, end in evaluated:
        by_model.setdefault(name, []).append((start, end))
    for name, lookback in _incremental(schedule).items():
        calls = sorted(by_model.pop(name))
        # contiguous batches from `lookback` days before the new day to its end
        assert calls[0][0] == _ms(DAY - dt.timedelta(days=lookback)), name
        assert calls[-1][1] == _ms(DAY + dt.timedelta(days=1)), name
        assert all(a[1] == b[0] for a, b in zip(calls, calls[1:])), name
    # every other model but the seeds is FULL (or a VIEW) and rebuilt once (seeds change only with a plan)
    full = {n for n, m in schedule["models"].items() if m.kind.name in ("FULL", "VIEW")}
    assert "staging.stg_quarantine" in full
    assert {n: len(c) for n, c in by_model.items()} == {n: 1 for n in full}


# --- (c) the deploy files are valid -----------------------------------------------------


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", makefile, re.M)} - {".PHONY"}


def _config_env_vars() -> set[str]:
    return set(re.findall(r"env_var\('([A-Z0-9_]+)'", (ROOT / "config.yaml").read_text()))


def _sqlmesh_args(command: str) -> list[list[str]]:
    """The arguments of every `sqlmesh` call in a shell command line, with shell and
    Actions expressions replaced by a plain word."""
    command = re.sub(r"\$\{\{[^}]*\}\}", "X", command)
    command = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "X", command)
    calls = []
    for segment in re.split(r"&&|\|\||;|\||[{}\n]", command):
        words = shlex.split(segment, comments=True)
        for i, word in enumerate(words):
            if word.endswith("/sqlmesh") or word == "sqlmesh":
                args = []
                for arg in words[i + 1:]:
                    if arg in (">", ">>", "2>&1") or arg.startswith((">", "2>")):
                        break
                    args.append(arg)
                calls.append(args)
                break
    return calls


def _assert_sqlmesh_cli_accepts(args: list[str]) -> str:
    """Parse `sqlmesh <args>` with the installed SQLMesh CLI without running it; returns the
    subcommand. Unknown commands or options raise click.UsageError."""
    from sqlmesh.cli.main import cli

    ctx = cli.make_context("sqlmesh", list(args))
    name, command, rest = cli.resolve_command(ctx, ctx._protected_args + ctx.args)
    command.make_context(name, rest, parent=ctx)
    return name


def _workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict) and doc.get("jobs"), name
    doc["on"] = doc.pop("on", None) or doc.pop(True)  # YAML 1.1 reads a bare `on` as True
    return doc


def _run_lines(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


@pytest.mark.parametrize("name", ["pr.yml", "daily.yml"])
def test_workflow_make_targets_exist(name):
    targets = _make_targets()
    used = [m.group(1) for run in _run_lines(_workflow(name)) for m in re.finditer(r"\bmake\s+([A-Za-z0-9_.-]+)", run)]
    assert used, f"{name} should install through the Makefile"
    assert set(used) <= targets, (set(used) - targets, targets)


@pytest.mark.parametrize("name", ["pr.yml", "daily.yml"])
def test_workflow_sqlmesh_calls_parse_and_credentials_come_from_secrets(name):
    doc = _workflow(name)
    calls = [args for run in _run_lines(doc) for args in _sqlmesh_args(run)]
    assert calls
    for args in calls:
        assert args[:2] == ["--gateway", "bigquery"], args
        _assert_sqlmesh_cli_accepts(args)
    known = _config_env_vars() | {"GOOGLE_APPLICATION_CREDENTIALS", "PR_ENVIRONMENT", "GCP_SA_KEY"}
    envs = [doc.get("env", {})] + [job.get("env", {}) for job in doc["jobs"].values()] + [
        step.get("env", {}) for job in doc["jobs"].values() for step in job["steps"]
    ]
    for env in envs:
        for key, value in env.items():
            assert key in known, f"{name}: {key} is not an environment variable config.yaml reads"
            if key.startswith("GROWTHMESH_STATE_PG_") or key in SECRET_ENV or key == "GCP_SA_KEY":
                assert re.fullmatch(r"\$\{\{\s*secrets\.[A-Z0-9_]+\s*\}\}", str(value)), (key, value)


def test_pr_workflow_tests_then_plans_a_pr_environment():
    doc = _workflow("pr.yml")
    assert "pull_request" in doc["on"]
    runs = _run_lines(doc)
    assert any(re.search(r"\bmake test\b", r) for r in runs)
    plans = [a for r in runs for a in _sqlmesh_args(r) if "plan" in a]
    assert plans and all(_assert_sqlmesh_cli_accepts(a) == "plan" for a in plans)
    (plan,) = plans
    assert "--no-prompts" in plan and "--auto-apply" in plan
    assert "pr_${{ github.event.pull_request.number }}" in doc["env"]["PR_ENVIRONMENT"]
    assert doc["jobs"]["plan"]["needs"] == "test"


def test_daily_workflow_runs_on_a_schedule_and_on_demand():
    doc = _workflow("daily.yml")
    assert "workflow_dispatch" in doc["on"]
    (schedule,) = doc["on"]["schedule"]
    _assert_cron_fields(schedule["cron"].split())
    commands = [_assert_sqlmesh_cli_accepts(a) for r in _run_lines(doc) for a in _sqlmesh_args(r)]
    assert commands == ["run"]


def _assert_cron_fields(fields: list[str]) -> None:
    assert len(fields) == 5, fields
    for field, (low, high) in zip(fields, [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]):
        for part in field.split(","):
            m = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
            assert m, field
            for number in (m.group(2), m.group(3)):
                assert number is None or low <= int(number) <= high, field


def test_cron_line_runs_sqlmesh_from_the_project_dir_with_a_lock_and_a_log():
    jobs = [
        line for line in CRON_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#") and not re.match(r"^[A-Z_]+=", line)
    ]
    (line,) = jobs
    fields = line.split(None, 6)
    _assert_cron_fields(fields[:5])
    user, command = fields[5], fields[6]
    assert re.fullmatch(r"[a-z_][a-z0-9_-]*", user)  # /etc/cron.d format: a user field
    project = re.match(r"cd (\S+) && ", command).group(1)
    (call,) = _sqlmesh_args(command.replace("\\%", "%"))
    assert _assert_sqlmesh_cli_accepts(call) == "run" and call[:2] == ["--gateway", "bigquery"]
    assert re.search(r"flock -n\b.* \.venv/bin/sqlmesh ", command)
    assert re.search(r"sqlmesh [^;]*>> logs/\S+ 2>&1", command)
    # the venv is where `make install` puts it
    assert re.search(r"^VENV\s*:=\s*\.venv$", (ROOT / "Makefile").read_text(), re.M)
    assert project.startswith("/")
    # an unescaped % ends a cron command
    assert "%" not in command.replace("\\%", "")
    # the shell line itself is valid bash
    subprocess.run(["bash", "-n", "-c", command.replace("\\%", "%")], check=True)


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_systemd_timer_starts_the_service_daily():
    timer = _unit(TIMER_FILE)
    assert timer["Timer"]["Unit"] == SERVICE_FILE.name
    assert timer["Timer"]["OnCalendar"].startswith("*-*-* ")  # every day
    assert timer["Timer"].getboolean("Persistent")
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_service_runs_sqlmesh_in_the_project_dir_with_a_lock():
    service = _unit(SERVICE_FILE)["Service"]
    assert service["Type"] == "oneshot"
    project = service["WorkingDirectory"]
    assert service["EnvironmentFile"].startswith("/")
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0] == "/usr/bin/flock" and exec_start[1] == "-n"
    assert exec_start[2].startswith(project + "/")  # the lock, shared with the cron line
    assert exec_start[3] == f"{project}/.venv/bin/sqlmesh"
    assert _assert_sqlmesh_cli_accepts(exec_start[4:]) == "run"
    assert exec_start[4:6] == ["--gateway", "bigquery"]
    cron_lock = re.search(r" flock -n(?: -E \d+)? (\S+) \.venv/bin/sqlmesh ", CRON_FILE.read_text()).group(1)
    assert exec_start[2] == f"{project}/{cron_lock}"


def test_systemd_analyze_accepts_the_units(tmp_path):
    on_calendar = _unit(TIMER_FILE)["Timer"]["OnCalendar"]
    # daily at a fixed UTC time, in systemd's calendar syntax
    assert re.fullmatch(r"\*-\*-\* (\d{2}):(\d{2})(:00)? UTC", on_calendar), on_calendar
    hour, minute = map(int, re.match(r"\*-\*-\* (\d{2}):(\d{2})", on_calendar).groups())
    assert 0 <= hour < 24 and 0 <= minute < 60
    if shutil.which("systemd-analyze") is None:  # systemd's own checker, where installed
        return
    for path in (SERVICE_FILE, TIMER_FILE):
        shutil.copyfile(path, tmp_path / path.name)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / TIMER_FILE.name), str(tmp_path / SERVICE_FILE.name)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(["systemd-analyze", "calendar", on_calendar], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
