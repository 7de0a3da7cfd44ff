"""The growth report in a real browser: headless Chromium opens the HTML file offline, every
chart is drawn (an SVG in its element), no script error or console.error is recorded, and a
screenshot is written.

The report is rendered from small hand-made frames shaped like the marts (three months of
a made-up business), so this test needs no SQLMesh build and takes seconds;
tests/test_integration.py builds the report from a real build and checks its numbers.
`make test` installs Chromium first (scripts/ensure_chromium.sh).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import struct
import subprocess

import pandas as pd
import pytest
from conftest import load_script

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MONTHS = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
DAYS = pd.date_range("2025-01-01", "2025-03-31", freq="D")
CHANNELS = ["paid_search", "organic_search", "direct"]


def _funnel() -> pd.DataFrame:
    rows = []
    for month in MONTHS:
        for i, channel in enumerate(CHANNELS):
            visitors = 400 - 100 * i
            rows.append((month, channel, visitors, visitors // 10, visitors // 16, visitors // 80, month < MONTHS[-1]))
    frame = pd.DataFrame(rows, columns=["cohort_start", "channel", "visitors", "signups", "activated", "paid",
                                        "is_window_complete"])
    total = frame.groupby("cohort_start", as_index=False).agg(
        visitors=("visitors", "sum"), signups=("signups", "sum"), activated=("activated", "sum"),
        paid=("paid", "sum"), is_window_complete=("is_window_complete", "all")).assign(channel="all")
    return pd.concat([frame, total], ignore_index=True).astype({"visitors": float, "signups": float,
                                                                "activated": float, "paid": float})


def _retention() -> pd.DataFrame:
    rows = []
    for grain, starts in (("month", MONTHS), ("week", pd.date_range("2024-12-30", periods=12, freq="7D"))):
        for c, start in enumerate(starts):
            size = 100 + 10 * c
            for period in range(len(starts) - c):
                rate = 1.0 if period == 0 else 0.5 / period
                rows.append((grain, start, period, float(size), float(round(size * rate)), round(size * rate) / size))
    return pd.DataFrame(rows, columns=["cohort_grain", "cohort_start", "period_number", "cohort_size", "active_users",
                                       "retention_rate"])


def _growth() -> pd.DataFrame:
    frames = []
    for grain, starts in (("month", MONTHS), ("day", DAYS)):
        n = len(starts)
        scale = 100.0 if grain == "month" else 10.0
        frame = pd.DataFrame({"period_grain": grain, "period_start": starts,
                              "new_users": [scale * 1.0] * n,
                              "retained_users": [scale * (0.5 + i / n) for i in range(n)],
                              "resurrected_users": [scale * 0.2] * n, "churned_users": [0.0] + [scale * 0.4] * (n - 1)})
        frame["quick_ratio"] = [None] + [3.0] * (n - 1)
        frame["is_complete_period"] = [True] * (n - 1) + [False]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).astype({"quick_ratio": float})


def _engagement() -> pd.DataFrame:
    n = len(DAYS)
    dau = [20.0 + (i % 7) * 3 for i in range(n)]
    frame = pd.DataFrame({"activity_date": DAYS, "dau": dau, "wau": [80.0 + i for i in range(n)],
                          "mau": [200.0 + 2 * i for i in range(n)]})
    frame["dau_wau"], frame["dau_mau"], frame["wau_mau"] = (frame.dau / frame.wau, frame.dau / frame.mau,
                                                           frame.wau / frame.mau)
    return frame


def _power_users() -> pd.DataFrame:
    users = [float(max(0, 60 - 4 * d)) for d in range(1, 29)]
    total = sum(users)
    return pd.DataFrame({"report_date": DAYS[-1], "active_days_l28": [float(d) for d in range(1, 29)], "users": users,
                         "l28_users": total, "share_of_l28_users": [u / total for u in users]})


def _mrr() -> pd.DataFrame:
    frame = pd.DataFrame({"month_start": MONTHS, "is_complete_month": [True, True, False],
                          "starting_mrr_usd": [0.0, 1000.0, 1700.0], "new_mrr_usd": [1000.0, 800.0, 600.0],
                          "expansion_mrr_usd": [0.0, 100.0, 150.0], "contraction_mrr_usd": [0.0, 50.0, 20.0],
                          "churned_mrr_usd": [0.0, 150.0, 100.0], "reactivation_mrr_usd": [0.0, 0.0, 20.0]})
    frame["ending_mrr_usd"] = (frame.starting_mrr_usd + frame.new_mrr_usd + frame.expansion_mrr_usd
                               + frame.reactivation_mrr_usd - frame.contraction_mrr_usd - frame.churned_mrr_usd)
    frame["arr_usd"] = 12 * frame.ending_mrr_usd
    frame["paying_customers"] = [10.0, 16.0, 21.0]
    return frame


def _nrr() -> pd.DataFrame:
    return pd.DataFrame({"month_start": MONTHS[1:], "nrr_1m": [0.9, 1.03], "grr_1m": [0.8, 0.93],
                         "nrr_12m": [float("nan")] * 2, "grr_12m": [float("nan")] * 2})


def _channels(report) -> pd.DataFrame:
    rows = []
    for month in MONTHS:
        for channel, spend in (("paid_search", 500.0), ("organic_search", 0.0), ("direct", 0.0)):
            row = {"period_start": month, "channel": channel, "spend_usd": spend, "new_visitors": 100.0}
            for m in report.ATTRIBUTION_MODELS:
                row |= {f"signups_{m}": 10.0, f"paid_conversions_{m}": 2.0, f"new_mrr_usd_{m}": 120.0,
                        f"first_month_revenue_usd_{m}": 150.0}
            rows.append(row)
    return pd.DataFrame(rows)


def _health() -> pd.DataFrame:
    rows = [(DAYS[-1], b, risk, float(5 + b * (3 - i)), float(b == 8 and risk == "low"))
            for b in range(10) for i, risk in enumerate(("low", "medium", "high"))]
    return pd.DataFrame(rows, columns=["as_of_date", "score_bin", "churn_risk_category", "users",
                                       "expansion_candidates"])


def sample_data(report):
    """A ReportData shaped like the marts' query results (see report.mart_queries)."""
    frames = {
        "funnel": _funnel(), "retention": _retention(), "growth": _growth(), "engagement": _engagement(),
        "power_users": _power_users(), "mrr": _mrr(), "nrr": _nrr(), "channels": _channels(report),
        "health": _health(),
        "expansion": pd.DataFrame({"user_id": ["u_0000042"], "customer_id": ["cus_0000042"],
                                   "health_score": [83.5], "current_plan_tier": ["starter"]}),
    }
    variables = {"conversion_window_days": 30, "churn_risk_inactive_days": 14, "churn_risk_medium_days": 7,
                 "attribution_position_first_share": 0.4, "attribution_time_decay_half_life_days": 7}
    return report.ReportData(env="prod", gateway="local", built_at=dt.datetime(2025, 4, 1, 6, tzinfo=dt.timezone.utc),
                             generated_at=dt.datetime(2025, 4, 1, 7, tzinfo=dt.timezone.utc),
                             frames={k: report.normalise(v) for k, v in frames.items()}, variables=variables)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not on PATH: run scripts/ensure_chromium.sh (make test does) or install Debian's "
                    "chromium package")
    return path


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    report = load_script("report")
    data = sample_data(report)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report.render_html(data), encoding="utf-8")
    return path, list(report.build_figures(data))


def _run_chromium(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True)


def test_every_chart_renders_without_errors(chromium, report_file, tmp_path):
    path, chart_ids = report_file
    dom = _run_chromium(chromium, tmp_path, "--dump-dom", path.as_uri()).stdout

    errors = re.search(r'<html[^>]*\sdata-report-errors="([^"]*)"', dom)
    assert errors is not None, "the error recorder did not run"
    assert json.loads(errors.group(1).replace("&quot;", '"')) == []
    rendered = re.search(r'<body[^>]*\sdata-charts-rendered="(\d+)"', dom)
    assert rendered is not None, "the charts never finished drawing"
    assert int(rendered.group(1)) == len(chart_ids) == 13
    for chart_id in chart_ids:
        start = dom.index(f'id="{chart_id}"')
        end = dom.index(f'data-target="{chart_id}"', start)  # the chart's own figure block follows it
        drawn = dom[start:end]
        assert 'class="main-svg"' in drawn, f"{chart_id} has no rendered SVG"
        # a drawn trace: plotly's <g class="trace bars|scatter ..."> or a heatmap's <g class="hm">
        assert re.search(r'class="(trace [^"]+|hm)"', drawn), f"{chart_id} drew no trace"
    # the attribution switcher: five tables, one shown
    assert len(re.findall(r'<table class="data channel-table"', dom)) == 5
    assert len(re.findall(r'<table class="data channel-table" data-model="\w+" hidden', dom)) == 4


def test_screenshot_is_written(chromium, report_file, tmp_path):
    path, _ = report_file
    shot = tmp_path / "report.png"
    _run_chromium(chromium, tmp_path, "--hide-scrollbars", "--window-size=1280,1800", f"--screenshot={shot}",
                  path.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (1280, 1800)
    assert len(data) > 50_000, "a near-empty screenshot: the page did not draw"
