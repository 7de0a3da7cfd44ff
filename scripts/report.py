#!/usr/bin/env python3
"""Write growthmesh's growth report: one self-contained HTML file that opens offline.

    python scripts/report.py                                   # prod on local DuckDB -> report.html
    python scripts/report.py --env dev --out /tmp/dev.html     # preview a dev environment
    python scripts/report.py --gateway bigquery --env prod     # production on BigQuery
    make report                                                # the first line (REPORT_ARGS='...' for more)

It reads the marts through SQLMesh: the environment's views are resolved from SQLMesh state
(prod: `product.engagement_daily`; a dev environment `dev`: `product__dev.engagement_daily`)
and queried with the gateway's engine adapter, so the same command works on DuckDB and on
BigQuery, and on any environment a plan created. Sections, each from its mart:

1. acquisition funnel, visit -> signup -> activation -> paid with step rates, by channel
   (acquisition.funnel_conversion, monthly first-visit cohorts summed);
2. signup-cohort retention heatmaps, monthly and weekly (product.retention_cohorts);
3. growth accounting, new / retained / resurrected / -churned with the quick ratio, monthly
   and daily (product.growth_accounting);
4. DAU / WAU / MAU and stickiness (product.engagement_daily) and the L28 power-user
   histogram on the latest report date (product.power_user_curve);
5. MRR movements with ending MRR, NRR / GRR and the ARR of the latest complete month
   (revenue.mrr_movements_monthly, revenue.net_revenue_retention; company-wide scope);
6. channel economics over the whole range with an attribution-model switcher
   (acquisition.channel_performance, monthly rows summed, ratios recomputed);
7. health: score distribution, churn-risk counts and expansion candidates, ids only
   (customers.health_scores).

plotly.js is inlined once; every chart's figure is a JSON block the page renders. The page
records script errors in `<html data-report-errors>` and sets `<body data-charts-rendered>`
once every chart is drawn, which the browser test reads. An environment that does not exist
or a mart that is missing or empty ends the command with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import html
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

if t.TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    from sqlglot import exp
    from sqlmesh import Context
    from sqlmesh.core.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
# the model each report query reads
MARTS = {
    "funnel": "acquisition.funnel_conversion",
    "retention": "product.retention_cohorts",
    "growth": "product.growth_accounting",
    "engagement": "product.engagement_daily",
    "power_users": "product.power_user_curve",
    "mrr": "revenue.mrr_movements_monthly",
    "nrr": "revenue.net_revenue_retention",
    "channels": "acquisition.channel_performance",
    "health": "customers.health_scores",
}
HEALTH_BIN_WIDTH = 10  # health score histogram bins: 0-10, ..., 90-100 (100 falls in the last)
MAX_EXPANSION_ROWS = 500  # the candidates list shows at most this many ids
RISK_LEVELS = ("low", "medium", "high")

# Okabe-Ito: distinguishable with every common colour-vision deficiency
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
SKY, GREY, BLACK = "#56B4E9", "#8C8C8C", "#222222"
RISK_COLOURS = {"low": GREEN, "medium": ORANGE, "high": VERMILLION}


class ReportError(Exception):
    """A problem the user can fix (no environment, missing or empty mart); one line."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _mart_name(snapshot: t.Any) -> str:
    """`schema.table` of a snapshot's view, the way MARTS names it."""
    return f"{snapshot.qualified_view_name.schema_name}.{snapshot.qualified_view_name.table}".lower()


# --------------------------------------------------------------------------- reading

def resolve_marts(context: Context, env: str) -> tuple[Environment, dict[str, exp.Table]]:
    """The environment from SQLMesh state and, for each mart, where to read it in that environment.

    The names come from the environment's own snapshots (what its last plan put there), not
    from the local model files, so a dev environment shows what was planned into it. A mart
    the environment promoted is read through its view (`product.x` in prod,
    `product__dev.x` in `dev`). A dev environment planned without `--include-unmodified` has
    views only for what changed; an unchanged mart is then read through prod's view when prod
    holds the same version, else from the version's physical table.
    """
    from sqlglot import exp

    try:
        environment = context.state_reader.get_environment(env)
        known = ", ".join(sorted(e.name for e in context.state_reader.get_environments_summary())) or "none"
    except Exception as error:  # unreachable warehouse or state database, a locked DuckDB file
        raise ReportError(f"cannot read SQLMesh state: {_first_line(error)}") from error
    if environment is None:
        raise ReportError(f"environment '{env}' does not exist in SQLMesh state (environments: {known}); "
                          f"create it with `sqlmesh plan {env}`")
    dialect = context.engine_adapter.dialect
    snapshots = {_mart_name(s): s for s in environment.snapshots if s.is_model}
    promoted = environment.promoted_snapshot_ids
    promoted_ids = None if promoted is None else set(promoted)
    prod: Environment | None = None
    prod_ids: set[t.Any] = set()
    if promoted_ids is not None:  # a dev environment with views for some models only
        prod = context.state_reader.get_environment("prod")
        prod_ids = {s.snapshot_id for s in prod.promoted_snapshots} if prod else set()
    tables: dict[str, exp.Table] = {}
    for key, model in MARTS.items():
        snapshot = snapshots.get(model)
        if snapshot is None:
            raise ReportError(f"mart {model} is not in environment '{env}'; plan it with `sqlmesh plan {env}`")
        if promoted_ids is None or snapshot.snapshot_id in promoted_ids:
            tables[key] = snapshot.qualified_view_name.table_for_environment(environment.naming_info, dialect=dialect)
        elif prod is not None and snapshot.snapshot_id in prod_ids:
            tables[key] = snapshot.qualified_view_name.table_for_environment(prod.naming_info, dialect=dialect)
        else:
            tables[key] = exp.to_table(snapshot.table_name(), dialect=dialect)
    return environment, tables


def mart_queries(tables: dict[str, exp.Table]) -> dict[str, exp.Select]:
    """The report's queries, as sqlglot expressions the engine adapter renders for its dialect.

    Small marts are read as rows and summed in pandas; the user-grain health scores are
    counted in the warehouse (one row per score bin and churn risk, and the candidates).
    """
    from sqlglot import exp

    def latest(table: exp.Table, column: str) -> exp.Expression:
        """`column = (SELECT MAX(column) FROM table)`"""
        return exp.column(column).eq(exp.select(exp.func("MAX", exp.column(column))).from_(table.copy()).subquery())

    def select(key: str, *columns: str) -> exp.Select:
        return exp.select(*columns).from_(tables[key].copy())

    health_bin = exp.func(
        "LEAST",
        exp.cast(exp.func("FLOOR", exp.column("health_score") / exp.Literal.number(HEALTH_BIN_WIDTH)), "INT64"),
        exp.Literal.number(100 // HEALTH_BIN_WIDTH - 1),
    )
    models = ATTRIBUTION_MODELS
    return {
        "funnel": select("funnel", "cohort_start", "channel", "visitors", "signups", "activated", "paid",
                         "is_window_complete").where("cohort_grain = 'month'"),
        "retention": select("retention", "cohort_grain", "cohort_start", "period_number", "cohort_size",
                            "active_users", "retention_rate")
        .where("cohort_type = 'signup'").where("cohort_grain IN ('month', 'week')"),
        "growth": select("growth", "period_grain", "period_start", "new_users", "retained_users",
                         "resurrected_users", "churned_users", "quick_ratio", "is_complete_period")
        .where("period_grain IN ('month', 'day')"),
        "engagement": select("engagement", "activity_date", "dau", "wau", "mau", "dau_wau", "dau_mau", "wau_mau"),
        "power_users": select("power_users", "report_date", "active_days_l28", "users", "l28_users",
                              "share_of_l28_users").where(latest(tables["power_users"], "report_date")),
        "mrr": select("mrr", "month_start", "is_complete_month", "starting_mrr_usd", "new_mrr_usd",
                      "expansion_mrr_usd", "contraction_mrr_usd", "churned_mrr_usd", "reactivation_mrr_usd",
                      "ending_mrr_usd", "arr_usd", "paying_customers").where("scope = 'all'"),
        "nrr": select("nrr", "month_start", "nrr_1m", "grr_1m", "nrr_12m", "grr_12m").where("cohort = 'all'"),
        "channels": select(
            "channels", "period_start", "channel", "spend_usd", "new_visitors",
            *(f"{measure}_{m}" for m in models
              for measure in ("signups", "paid_conversions", "new_mrr_usd", "first_month_revenue_usd")),
        ).where("period_grain = 'month'"),
        "health": exp.select(
            "as_of_date",
            health_bin.as_("score_bin"),
            "churn_risk_category",
            exp.func("COUNT", exp.Star()).as_("users"),
            exp.func("SUM", exp.func("IF", exp.column("is_expansion_candidate"), 1, 0)).as_("expansion_candidates"),
        ).from_(tables["health"].copy()).where(latest(tables["health"], "as_of_date"))
        .group_by("as_of_date", "score_bin", "churn_risk_category"),
        # ids only: never an email or a name
        "expansion": select("health", "user_id", "customer_id", "health_score", "current_plan_tier")
        .where(latest(tables["health"], "as_of_date")).where("is_expansion_candidate")
        .order_by("health_score DESC", "user_id").limit(MAX_EXPANSION_ROWS),
    }


@dataclass
class ReportData:
    """Everything the report shows: one frame per query of `mart_queries`, and the header."""

    env: str
    gateway: str
    built_at: dt.datetime | None
    generated_at: dt.datetime
    frames: dict[str, pd.DataFrame]
    variables: dict[str, t.Any]  # the project's config.yaml variables, for the captions' thresholds

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.frames[key]


DATE_COLUMNS = ("cohort_start", "period_start", "as_of_date", "activity_date", "report_date", "month_start")


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes from every engine: dates as datetime64, nullable numbers as float."""
    import pandas as pd

    frame = frame.copy()
    frame.columns = [str(c).lower() for c in frame.columns]
    for column in frame.columns:
        if column in DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column].astype("string"))
        elif column.startswith("is_"):
            frame[column] = frame[column].astype("boolean").fillna(False).astype(bool)
        elif column in ("channel", "cohort_grain", "period_grain", "churn_risk_category", "user_id",
                        "customer_id", "current_plan_tier"):
            frame[column] = frame[column].astype("string")
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def environment_built_at(context: Context, environment: Environment) -> dt.datetime | None:
    """When the environment's data last changed, from SQLMesh state: the later of its
    finalisation (the last plan) and the last alteration of its marts' tables (a `sqlmesh
    run` refreshes those without a plan). None when state holds neither."""
    marts = [s for s in environment.snapshots if _mart_name(s) in MARTS.values()]
    stamps = [environment.finalized_ts or 0]
    for snapshot in context.state_reader.get_snapshots([s.snapshot_id for s in marts]).values():
        stamps += [snapshot.last_altered_ts or 0, snapshot.dev_last_altered_ts or 0]
    latest = max(stamps)
    return dt.datetime.fromtimestamp(latest / 1000, dt.timezone.utc) if latest else None


def read_report_data(context: Context, env: str = "prod", gateway: str | None = None,
                     generated_at: dt.datetime | None = None) -> ReportData:
    """Query every mart of environment `env` through `context` (raises ReportError)."""
    from tqdm import tqdm

    environment, tables = resolve_marts(context, env)
    frames: dict[str, pd.DataFrame] = {}
    queries = mart_queries(tables)
    for key, query in tqdm(queries.items(), desc="report: reading marts", unit="query", disable=None,
                           leave=False):
        try:
            frame = context.engine_adapter.fetchdf(query)
        except Exception as error:  # the engine's own message, on one line
            mart = MARTS["health"] if key == "expansion" else MARTS[key]
            raise ReportError(f"reading {mart} in environment '{env}' failed: "
                              f"{_first_line(error)}") from error
        if frame.empty and key != "expansion":  # no candidates is a result, not a missing mart
            raise ReportError(f"mart {MARTS[key]} in environment '{env}' has no rows; build it with "
                              f"`sqlmesh plan {env}` (or `make demo`)")
        frames[key] = normalise(frame)
    return ReportData(
        env=env,
        gateway=gateway or context.selected_gateway,
        built_at=environment_built_at(context, environment),
        generated_at=generated_at or dt.datetime.now(dt.timezone.utc),
        frames=frames,
        variables=dict(context.config.variables),
    )


# --------------------------------------------------------------------------- summaries

def _missing(value: t.Any) -> bool:
    """None, NaN or pandas' NA."""
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None on a zero or missing denominator (the marts' SAFE_DIVIDE)."""
    return None if _missing(denominator) or not denominator else float(numerator) / float(denominator)


def attribution_label(model: str, variables: dict[str, t.Any]) -> str:
    """The attribution model's name for the switcher, with its parameters from config.yaml."""
    share = variables.get("attribution_position_first_share")
    half_life = variables.get("attribution_time_decay_half_life_days")
    labels = {
        "first_touch": "First touch",
        "last_touch": "Last touch",
        "linear": "Linear",
        "position_based": "Position-based" + (f" ({share * 100:.0f}/{100 - 200 * share:.0f}/{share * 100:.0f})"
                                              if isinstance(share, (int, float)) else ""),
        "time_decay": "Time decay" + (f" ({half_life}-day half-life)" if half_life is not None else ""),
    }
    return labels[model]


def funnel_by_channel(funnel: pd.DataFrame) -> pd.DataFrame:
    """Visitors, signups, activated and paid per first-visit channel over every monthly
    cohort, with the step rates recomputed from the sums; the `all` row first."""
    totals = funnel.groupby("channel", as_index=False)[["visitors", "signups", "activated", "paid"]].sum()
    totals["visit_to_signup_rate"] = [_ratio(s, v) for s, v in zip(totals.signups, totals.visitors)]
    totals["signup_to_activation_rate"] = [_ratio(a, s) for a, s in zip(totals.activated, totals.signups)]
    totals["activation_to_paid_rate"] = [_ratio(p, a) for p, a in zip(totals.paid, totals.activated)]
    totals["visit_to_paid_rate"] = [_ratio(p, v) for p, v in zip(totals.paid, totals.visitors)]
    totals["_order"] = [(c != "all", -v) for c, v in zip(totals.channel, totals.visitors)]
    return totals.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def channel_table(channels: pd.DataFrame, model: str) -> pd.DataFrame:
    """One row per channel over the whole range under attribution `model`: monthly rows
    summed, then the mart's ratios recomputed on the sums (CAC = spend / paid conversions,
    ROAS = first-month revenue / spend, payback months = spend / new MRR; None without a
    denominator, and for a channel without spend), busiest spend first, and a `total` row
    last (blended: all spend over every channel's conversions)."""
    import pandas as pd

    columns = {
        "spend_usd": "spend_usd",
        "new_visitors": "new_visitors",
        f"signups_{model}": "signups",
        f"paid_conversions_{model}": "paid_conversions",
        f"new_mrr_usd_{model}": "new_mrr_usd",
        f"first_month_revenue_usd_{model}": "first_month_revenue_usd",
    }
    frame = channels[["channel", *columns]].rename(columns=columns)
    table = frame.groupby("channel", as_index=False).sum(numeric_only=True)
    table = table.sort_values(["spend_usd", "paid_conversions", "channel"], ascending=[False, False, True])
    total = table.sum(numeric_only=True).to_frame().T
    total.insert(0, "channel", "total")
    table = pd.concat([table, total], ignore_index=True)
    spent = table.spend_usd > 0
    table["cac_usd"] = [_ratio(s, p) if has_spend else None
                        for s, p, has_spend in zip(table.spend_usd, table.paid_conversions, spent)]
    table["roas"] = [_ratio(r, s) for r, s in zip(table.first_month_revenue_usd, table.spend_usd)]
    table["payback_months"] = [_ratio(s, m) if has_spend else None
                               for s, m, has_spend in zip(table.spend_usd, table.new_mrr_usd, spent)]
    return table.astype({"cac_usd": object, "roas": object, "payback_months": object}).reset_index(drop=True)


def headline(data: ReportData) -> dict[str, t.Any]:
    """The header's figures: data range, ARR of the latest complete month, and so on."""
    engagement = through_last_activity(data["engagement"].sort_values("activity_date"))
    mrr = data["mrr"].sort_values("month_start")
    complete = mrr[mrr.is_complete_month]
    arr_row = (complete if not complete.empty else mrr).iloc[-1]
    # NRR of the same month as the ARR (a running month's NRR compares a partial month)
    nrr = data["nrr"].sort_values("month_start").dropna(subset=["nrr_1m"])
    nrr = nrr[nrr.month_start <= arr_row.month_start]
    last_day = engagement.iloc[-1]
    return {
        "first_day": engagement.activity_date.iloc[0].date(),
        "last_day": last_day.activity_date.date(),
        "arr_usd": float(arr_row.arr_usd),
        "arr_month": arr_row.month_start.date(),
        "arr_month_complete": bool(arr_row.is_complete_month),
        "ending_mrr_usd": float(arr_row.ending_mrr_usd),
        "paying_customers": int(arr_row.paying_customers),
        "nrr_1m": float(nrr.nrr_1m.iloc[-1]) if not nrr.empty else None,
        "grr_1m": float(nrr.grr_1m.iloc[-1]) if not nrr.empty else None,
        "nrr_month": nrr.month_start.iloc[-1].date() if not nrr.empty else None,
        "dau_mau": float(last_day.dau_mau) if last_day.dau_mau == last_day.dau_mau else None,
        "mau": int(last_day.mau),
    }


# --------------------------------------------------------------------------- charts

def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: t.Any) -> go.Figure:
    """The report's common look: a short title with a subtitle for units and caveats, the
    legend in one row under them, light grid."""
    settings: dict[str, t.Any] = {
        "template": "plotly_white",
        "title": {"text": title, "subtitle": {"text": subtitle, "font": {"size": 12, "color": "#5f6368"}},
                  "x": 0.01, "xanchor": "left", "y": 0.98, "yanchor": "top", "yref": "container",
                  "font": {"size": 16}},
        "xaxis_title": x_title,
        "yaxis_title": y_title,
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12, "color": BLACK},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
        "margin": {"l": 70, "r": 30, "t": 110, "b": 60},
        "height": 420,
        "hovermode": "x unified",
    }
    fig.update_layout(**{**settings, **extra})
    return fig


def _dates(series: pd.Series) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in series]


def _values(series: pd.Series) -> list[float | None]:
    return [None if v != v else float(v) for v in series]


def funnel_figure(by_channel: pd.DataFrame) -> go.Figure:
    """One funnel per channel (a menu picks it; `all` shown first), step rates as text."""
    import plotly.graph_objects as go

    fig = go.Figure()
    steps = ["Visit", "Signup", "Activation", "Paid"]
    for i, row in by_channel.iterrows():
        fig.add_trace(go.Funnel(
            name=row.channel,
            y=steps,
            x=[int(row.visitors), int(row.signups), int(row.activated), int(row.paid)],
            texttemplate="%{value:,} users<br>%{percentPrevious:.1%} of previous step",
            hovertemplate="%{y}: %{value:,} users<br>%{percentPrevious:.2%} of previous step, "
                          "%{percentInitial:.2%} of visitors<extra>" + html.escape(str(row.channel)) + "</extra>",
            marker={"color": [BLUE, SKY, GREEN, ORANGE]},
            connector={"line": {"color": GREY, "width": 1}},
            visible=i == 0,
        ))
    buttons = [
        {"label": f"Channel: {row.channel}", "method": "update",
         "args": [{"visible": [j == i for j in range(len(by_channel))]}]}
        for i, row in by_channel.iterrows()
    ]
    _layout(fig, "Acquisition funnel (users)", "Visitors by first-visit channel; % of the previous step",
            "Users", "Funnel step", hovermode="closest", showlegend=False)
    fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.02,
                                    "yanchor": "bottom", "showactive": True, "pad": {"l": 0, "t": 0}}])
    return fig


def funnel_rates_figure(by_channel: pd.DataFrame) -> go.Figure:
    """Grouped bars: each step's conversion rate, per channel."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rates = [("visit_to_signup_rate", "Visit → signup", BLUE),
             ("signup_to_activation_rate", "Signup → activation", GREEN),
             ("activation_to_paid_rate", "Activation → paid", ORANGE),
             ("visit_to_paid_rate", "Visit → paid", VERMILLION)]
    for column, label, colour in rates:
        fig.add_trace(go.Bar(name=label, x=list(by_channel.channel), y=_values(by_channel[column]),
                             marker_color=colour, hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>"))
    _layout(fig, "Step conversion rates by channel (%)", "Each step's users / the previous step's; visit → paid "
            "overall", "First-visit channel", "Conversion rate (%)", barmode="group", hovermode="closest")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def retention_figure(retention: pd.DataFrame, grain: str) -> go.Figure:
    """Signup-cohort retention triangle: cohort rows, period-number columns, % active."""
    import plotly.graph_objects as go

    frame = retention[retention.cohort_grain == grain]
    fmt = "%Y-%m" if grain == "month" else "%Y-%m-%d"
    z = frame.pivot(index="cohort_start", columns="period_number", values="retention_rate").sort_index()
    sizes = frame.groupby("cohort_start").cohort_size.max().reindex(z.index)
    active = frame.pivot(index="cohort_start", columns="period_number", values="active_users").reindex(z.index)
    labels = [f"{d.strftime(fmt)} (n={int(n):,})" for d, n in zip(z.index, sizes)]
    later = frame[frame.period_number > 0].retention_rate
    zmax = float(later.max()) if not later.empty and later.max() > 0 else 1.0
    unit = "Months" if grain == "month" else "Weeks"
    fig = go.Figure(go.Heatmap(
        z=[[None if v != v else float(v) for v in row] for row in z.to_numpy()],
        x=[int(c) for c in z.columns],
        y=labels,
        customdata=[[None if v != v else int(v) for v in row] for row in active.to_numpy()],
        colorscale="Blues",
        zmin=0,
        zmax=zmax,
        colorbar={"title": {"text": "Retained"}, "tickformat": ".0%"},
        hovertemplate="cohort %{y}<br>" + unit.lower()[:-1] + " %{x}: %{z:.1%} retained (%{customdata:,} users)"
                      "<extra></extra>",
        texttemplate="%{z:.0%}" if grain == "month" else None,
        textfont={"size": 10},
        xgap=1,
        ygap=1,
    ))
    _layout(fig, f"Signup-cohort retention, {'monthly' if grain == 'month' else 'weekly'} (% of the cohort)",
            f"Share of each signup cohort active in the {grain} N {grain}s after signup; colour scale capped at the "
            f"best {grain} ≥ 1", f"{unit} since signup",
            f"Signup cohort ({'month' if grain == 'month' else 'ISO week'}, size)",
            hovermode="closest", height=max(380, 24 * len(labels) + 140) if grain == "month" else 760)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(dtick=1 if grain == "month" else 2)
    return fig


def growth_figure(growth: pd.DataFrame, grain: str) -> go.Figure:
    """Stacked new, retained, resurrected and -churned users with the quick ratio line."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = growth[growth.period_grain == grain].sort_values("period_start")
    x = _dates(frame.period_start)
    opacity = [1.0 if complete else 0.45 for complete in frame.is_complete_period]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for column, label, colour, sign in (("new_users", "New", BLUE, 1), ("retained_users", "Retained", SKY, 1),
                                        ("resurrected_users", "Resurrected", GREEN, 1),
                                        ("churned_users", "Churned (−)", VERMILLION, -1)):
        fig.add_trace(go.Bar(name=label, x=x, y=[sign * v for v in _values(frame[column])], marker_color=colour,
                             marker_opacity=opacity, hovertemplate="%{y:,} users<extra>" + label + "</extra>"),
                      secondary_y=False)
    fig.add_trace(go.Scatter(name="Quick ratio (right axis)", x=x, y=_values(frame.quick_ratio),
                             mode="lines+markers" if grain == "month" else "lines",
                             line={"color": BLACK, "width": 2 if grain == "month" else 1.2},
                             hovertemplate="%{y:.2f}<extra>quick ratio</extra>"), secondary_y=True)
    period = "month" if grain == "month" else "day"
    subtitle = f"Active users by kind, churned below zero; a faded bar is a {period} still running"
    if grain == "day" and len(x) > 90:
        subtitle += "; the last 90 days shown (double-click for all)"
    _layout(fig, f"Growth accounting, {'monthly' if grain == 'month' else 'daily'} (users)", subtitle,
            period.capitalize(), "Users", barmode="relative", bargap=0.15 if grain == "month" else 0.05)
    fig.update_yaxes(title_text="Quick ratio (new + resurrected) / churned", secondary_y=True,
                     rangemode="tozero", showgrid=False, tickmode="auto", zeroline=False)
    if grain == "day" and len(x) > 90:
        fig.update_xaxes(range=[x[-90], x[-1]], autorange=False)
    return fig


def engagement_figure(engagement: pd.DataFrame) -> go.Figure:
    """DAU, WAU (L7) and MAU (L28) lines."""
    import plotly.graph_objects as go

    frame = engagement.sort_values("activity_date")
    x = _dates(frame.activity_date)
    fig = go.Figure()
    for column, label, colour in (("mau", "MAU (L28)", BLUE), ("wau", "WAU (L7)", ORANGE), ("dau", "DAU", GREEN)):
        fig.add_trace(go.Scatter(name=label, x=x, y=_values(frame[column]), mode="lines",
                                 line={"color": colour, "width": 2}, hovertemplate="%{y:,} users<extra>" + label
                                 + "</extra>"))
    _layout(fig, "DAU, WAU and MAU (users)", "Distinct active users on the day, in the last 7 and the last 28 days",
            "Day", "Active users")
    fig.update_yaxes(rangemode="tozero")
    return fig


def stickiness_figure(engagement: pd.DataFrame) -> go.Figure:
    """DAU/MAU, DAU/WAU and WAU/MAU lines, in %."""
    import plotly.graph_objects as go

    frame = engagement.sort_values("activity_date")
    x = _dates(frame.activity_date)
    fig = go.Figure()
    for column, label, colour in (("dau_mau", "DAU / MAU", BLUE), ("dau_wau", "DAU / WAU", ORANGE),
                                  ("wau_mau", "WAU / MAU", GREEN)):
        fig.add_trace(go.Scatter(name=label, x=x, y=_values(frame[column]), mode="lines",
                                 line={"color": colour, "width": 2},
                                 hovertemplate="%{y:.1%}<extra>" + label + "</extra>"))
    _layout(fig, "Stickiness (%)", "Actives of the shorter window / actives of the longer", "Day", "Ratio (%)")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def power_user_figure(power: pd.DataFrame) -> go.Figure:
    """Users by active days among the last 28, on the latest report date."""
    import plotly.graph_objects as go

    frame = power.sort_values("active_days_l28")
    day = frame.report_date.iloc[0].strftime("%Y-%m-%d")
    fig = go.Figure(go.Bar(
        x=[int(v) for v in frame.active_days_l28], y=_values(frame.users), marker_color=BLUE,
        customdata=_values(frame.share_of_l28_users),
        hovertemplate="active %{x} of 28 days: %{y:,} users (%{customdata:.1%} of L28 actives)<extra></extra>",
    ))
    _layout(fig, f"L28 power-user curve on {day} (users)",
            f"The {int(frame.l28_users.iloc[0]):,} users active in the 28 days ending {day}, by days active",
            "Days active in the last 28", "Users", hovermode="closest", showlegend=False)
    fig.update_xaxes(dtick=1, range=[0.5, 28.5])
    return fig


def mrr_figure(mrr: pd.DataFrame) -> go.Figure:
    """Ending MRR (top) over the stacked MRR movements of each month (bottom), in USD."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = mrr.sort_values("month_start")
    x = [d.strftime("%Y-%m") for d in frame.month_start]
    opacity = [1.0 if complete else 0.45 for complete in frame.is_complete_month]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.38, 0.62], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(name="Ending MRR", x=x, y=_values(frame.ending_mrr_usd), mode="lines+markers",
                             line={"color": BLACK, "width": 2}, fill="tozeroy", fillcolor="rgba(0,114,178,0.10)",
                             hovertemplate="$%{y:,.2f}<extra>ending MRR</extra>"), row=1, col=1)
    for column, label, colour, sign in (("new_mrr_usd", "New", BLUE, 1), ("expansion_mrr_usd", "Expansion", GREEN, 1),
                                        ("reactivation_mrr_usd", "Reactivation", SKY, 1),
                                        ("contraction_mrr_usd", "Contraction (−)", ORANGE, -1),
                                        ("churned_mrr_usd", "Churned (−)", VERMILLION, -1)):
        fig.add_trace(go.Bar(name=label, x=x, y=[None if v is None else sign * v for v in _values(frame[column])],
                             marker_color=colour, marker_opacity=opacity,
                             hovertemplate="$%{y:,.2f}<extra>" + label + "</extra>"), row=2, col=1)
    _layout(fig, "MRR movements and ending MRR (USD)",
            "Company-wide, per month; a faded bar is the month still running", "Month", "", barmode="relative")
    fig.update_yaxes(title_text="Ending MRR (USD)", tickprefix="$", tickformat=",.0f", rangemode="tozero",
                     row=1, col=1)
    fig.update_yaxes(title_text="Movement (USD)", tickprefix="$", tickformat=",.0f", row=2, col=1)
    fig.update_xaxes(type="category", title_text="", row=1, col=1)
    fig.update_xaxes(type="category", title_text="Month", row=2, col=1)
    fig.update_layout(height=480)
    return fig


def nrr_figure(nrr: pd.DataFrame) -> go.Figure:
    """Net and gross revenue retention over 1 month (and 12 where the data reaches)."""
    import plotly.graph_objects as go

    frame = nrr.sort_values("month_start")
    x = [d.strftime("%Y-%m") for d in frame.month_start]
    fig = go.Figure()
    lines = [("nrr_1m", "NRR, 1 month", BLUE, "solid"), ("grr_1m", "GRR, 1 month", ORANGE, "solid"),
             ("nrr_12m", "NRR, 12 months", BLUE, "dot"), ("grr_12m", "GRR, 12 months", ORANGE, "dot")]
    for column, label, colour, dash in lines:
        if frame[column].notna().any():
            fig.add_trace(go.Scatter(name=label, x=x, y=_values(frame[column]), mode="lines+markers",
                                     line={"color": colour, "width": 2, "dash": dash},
                                     hovertemplate="%{y:.1%}<extra>" + label + "</extra>"))
    fig.add_hline(y=1, line={"color": GREY, "width": 1, "dash": "dash"})
    _layout(fig, "NRR and GRR (%)", "MRR now of the customers paying in the base month / their MRR then",
            "Month", "Revenue retention (%)", height=480)
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category")
    return fig


def health_figure(health: pd.DataFrame) -> go.Figure:
    """Users by health score band, stacked by churn risk."""
    import plotly.graph_objects as go

    bins = list(range(100 // HEALTH_BIN_WIDTH))
    labels = [f"{b * HEALTH_BIN_WIDTH}–{(b + 1) * HEALTH_BIN_WIDTH}" for b in bins]
    fig = go.Figure()
    for risk in RISK_LEVELS:
        counts = health[health.churn_risk_category == risk].groupby("score_bin").users.sum()
        fig.add_trace(go.Bar(name=f"{risk} churn risk", x=labels, y=[float(counts.get(b, 0)) for b in bins],
                             marker_color=RISK_COLOURS[risk],
                             hovertemplate="score %{x}: %{y:,} users<extra>" + risk + " risk</extra>"))
    day = health.as_of_date.iloc[0].strftime("%Y-%m-%d")
    _layout(fig, "Health score distribution (users)", f"Users per 10-point band on {day}, by churn risk",
            "Health score (0–100)", "Users", barmode="stack", hovermode="closest")
    return fig


def churn_risk_figure(health: pd.DataFrame, variables: dict[str, t.Any]) -> go.Figure:
    """Users per churn-risk category (its thresholds from config.yaml's variables)."""
    import plotly.graph_objects as go

    counts = health.groupby("churn_risk_category").users.sum()
    fig = go.Figure(go.Bar(x=list(RISK_LEVELS), y=[float(counts.get(r, 0)) for r in RISK_LEVELS],
                           marker_color=[RISK_COLOURS[r] for r in RISK_LEVELS],
                           text=[f"{int(counts.get(r, 0)):,}" for r in RISK_LEVELS], textposition="outside",
                           cliponaxis=False, hovertemplate="%{x}: %{y:,} users<extra></extra>"))
    high, medium = variables.get("churn_risk_inactive_days", "?"), variables.get("churn_risk_medium_days", "?")
    _layout(fig, "Churn risk (users)", f"High: {high} or more days inactive; medium: {medium} or more; else low",
            "Churn-risk category", "Users", hovermode="closest", showlegend=False)
    return fig


def through_last_activity(engagement: pd.DataFrame) -> pd.DataFrame:
    """engagement_daily up to its last day with any active user: the mart is gap-free to the
    end of the processed interval, so a day with no data yet has a row of zeros."""
    active = engagement[engagement.dau > 0]
    return engagement if active.empty else engagement[engagement.activity_date <= active.activity_date.max()]


def build_figures(data: ReportData) -> dict[str, go.Figure]:
    """Every chart of the report, by the id of its element, in page order."""
    by_channel = funnel_by_channel(data["funnel"])
    engagement = through_last_activity(data["engagement"])
    return {
        "chart-funnel": funnel_figure(by_channel),
        "chart-funnel-rates": funnel_rates_figure(by_channel[by_channel.channel != "all"]),
        "chart-retention-monthly": retention_figure(data["retention"], "month"),
        "chart-retention-weekly": retention_figure(data["retention"], "week"),
        "chart-growth-monthly": growth_figure(data["growth"], "month"),
        "chart-growth-daily": growth_figure(data["growth"], "day"),
        "chart-engagement": engagement_figure(engagement),
        "chart-stickiness": stickiness_figure(engagement),
        "chart-power-users": power_user_figure(data["power_users"]),
        "chart-mrr": mrr_figure(data["mrr"]),
        "chart-nrr": nrr_figure(data["nrr"]),
        "chart-health-scores": health_figure(data["health"]),
        "chart-churn-risk": churn_risk_figure(data["health"], data.variables),
    }


# --------------------------------------------------------------------------- HTML

def _fixed(value: float, decimals: int, thousands: bool = True) -> str:
    """`value` with `decimals` places, halves rounded up. The value is first rounded to 6 places,
    so float noise from summing in a different order (DuckDB and BigQuery do) cannot flip a half
    either way: 18.95 shows as 19.0 whether the engine summed it to 18.949999999 or 18.950000001."""
    exact = decimal.Decimal(repr(round(float(value), 6)))
    shown = exact.quantize(decimal.Decimal(1).scaleb(-decimals), rounding=decimal.ROUND_HALF_UP)
    shown = shown.copy_abs() if shown.is_zero() else shown  # no "-0.0"
    return f"{shown:,f}" if thousands else f"{shown:f}"


def _usd(value: float | None, decimals: int = 0) -> str:
    if _missing(value):
        return "—"
    shown = _fixed(value, decimals)
    return "-$" + shown[1:] if shown.startswith("-") else "$" + shown


def _usd_short(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return _usd(value / size, 2) + suffix
    return _usd(value, 2)


def _pct(value: float | None, decimals: int = 1) -> str:
    return "—" if _missing(value) else f"{_fixed(value * 100, decimals, thousands=False)}%"


def _num(value: float | None, decimals: int = 0, suffix: str = "") -> str:
    return "—" if _missing(value) else f"{_fixed(value, decimals)}{suffix}"


def _cell(value: float | None, text: str) -> str:
    """A numeric table cell carrying its exact value for machines (data-value)."""
    raw = "" if _missing(value) else repr(float(value))
    return f'<td class="num" data-value="{raw}">{html.escape(text)}</td>'


def _figure_block(element_id: str, fig: go.Figure) -> str:
    # "<" escaped so no string in the JSON can close the script element
    payload = fig.to_json(validate=False, pretty=False).replace("<", "\\u003c")
    return (f'<div class="chart" id="{element_id}"></div>\n'
            f'<script type="application/json" class="figure-data" data-target="{element_id}">{payload}</script>')


def _funnel_table(by_channel: pd.DataFrame) -> str:
    rows = []
    for _, r in by_channel.iterrows():
        channel = html.escape(str(r.channel))
        rows.append(
            f'<tr data-channel="{channel}"><th scope="row">{channel}</th>'
            + _cell(r.visitors, _num(r.visitors)) + _cell(r.signups, _num(r.signups))
            + _cell(r.activated, _num(r.activated)) + _cell(r.paid, _num(r.paid))
            + _cell(r.visit_to_signup_rate, _pct(r.visit_to_signup_rate))
            + _cell(r.signup_to_activation_rate, _pct(r.signup_to_activation_rate))
            + _cell(r.activation_to_paid_rate, _pct(r.activation_to_paid_rate))
            + _cell(r.visit_to_paid_rate, _pct(r.visit_to_paid_rate, 2)) + "</tr>")
    return ('<table class="data" id="funnel-table"><thead><tr><th>Channel</th><th>Visitors</th><th>Signups</th>'
            '<th>Activated</th><th>Paid</th><th>Visit → signup</th><th>Signup → activation</th>'
            '<th>Activation → paid</th><th>Visit → paid</th></tr></thead><tbody>' + "".join(rows)
            + "</tbody></table>")


def _channel_tables(channels: pd.DataFrame, variables: dict[str, t.Any]) -> str:
    labels = {m: html.escape(attribution_label(m, variables)) for m in ATTRIBUTION_MODELS}
    options = "".join(f'<option value="{m}">{labels[m]}</option>' for m in ATTRIBUTION_MODELS)
    parts = ['<label class="switcher">Attribution model <select id="attribution-model">' + options
             + "</select></label>"]
    for i, model in enumerate(ATTRIBUTION_MODELS):
        rows = []
        for _, r in channel_table(channels, model).iterrows():
            channel = html.escape(str(r.channel))
            css = ' class="total"' if r.channel == "total" else ""
            name = "total (blended)" if r.channel == "total" else channel
            rows.append(
                f'<tr data-channel="{channel}"{css}><th scope="row">{name}</th>'
                + _cell(r.spend_usd, _usd(r.spend_usd)) + _cell(r.new_visitors, _num(r.new_visitors))
                + _cell(r.signups, _num(r.signups, 1)) + _cell(r.paid_conversions, _num(r.paid_conversions, 1))
                + _cell(r.new_mrr_usd, _usd(r.new_mrr_usd)) + _cell(r.first_month_revenue_usd,
                                                                   _usd(r.first_month_revenue_usd))
                + _cell(r.cac_usd, _usd(r.cac_usd)) + _cell(r.roas, _num(r.roas, 2, "×"))
                + _cell(r.payback_months, _num(r.payback_months, 1))
                + "</tr>")
        hidden = "" if i == 0 else " hidden"
        parts.append(
            f'<table class="data channel-table" data-model="{model}"{hidden}><caption>'
            f"{labels[model]} attribution</caption><thead><tr><th>Channel</th>"
            "<th>Spend (USD)</th><th>New visitors</th><th>Signups</th><th>Paid conversions</th>"
            "<th>New MRR (USD)</th><th>First-month revenue (USD)</th><th>CAC (USD)</th><th>ROAS</th>"
            "<th>Payback (months)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "\n".join(parts)


def _expansion_table(expansion: pd.DataFrame) -> str:
    if expansion.empty:
        return '<p class="empty" id="expansion-empty">No expansion candidates on this day.</p>'
    rows = "".join(
        f'<tr><td><code>{html.escape(str(r.user_id))}</code></td>'
        f'<td><code>{"—" if _missing(r.customer_id) else html.escape(str(r.customer_id))}</code></td>'
        f"<td>{html.escape(str(r.current_plan_tier))}</td>" + _cell(r.health_score, _num(r.health_score, 1))
        + "</tr>"
        for r in expansion.itertuples())
    more = (f"<p class='note'>Showing the first {MAX_EXPANSION_ROWS}.</p>"
            if len(expansion) >= MAX_EXPANSION_ROWS else "")
    return ('<table class="data" id="expansion-table"><thead><tr><th>User id</th><th>Customer id</th><th>Plan tier</th>'
            "<th>Health score</th></tr></thead><tbody>" + rows + "</tbody></table>" + more)


def _kpi(key: str, label: str, value: float | None, text: str, note: str = "") -> str:
    raw = "" if value is None else repr(float(value))
    note_html = f'<span class="kpi-note">{html.escape(note)}</span>' if note else ""
    return (f'<div class="kpi" data-kpi="{key}" data-value="{raw}"><span class="kpi-label">{html.escape(label)}</span>'
            f'<span class="kpi-value">{html.escape(text)}</span>{note_html}</div>')


_STYLE = """
:root { --ink: #222; --muted: #5f6368; --line: #e3e5e8; --bg: #f6f7f9; --card: #fff; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
header { background: #12263f; color: #fff; padding: 20px 32px 16px; }
header h1 { margin: 0 0 6px; font-size: 24px; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; font-size: 13px; }
header dt { color: #b8c4d6; } header dd { margin: 0; font-weight: 600; }
header .meta div { display: flex; gap: 6px; }
nav { position: sticky; top: 0; z-index: 10; background: #fff; border-bottom: 1px solid var(--line);
      padding: 8px 32px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
main { max-width: 1280px; margin: 0 auto; padding: 12px 24px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 18px 0;
          padding: 16px 20px; }
section h2 { margin: 0 0 4px; font-size: 19px; }
p.source { margin: 0 0 10px; color: var(--muted); font-size: 12.5px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
.chart { width: 100%; min-height: 380px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 12px; }
.kpi { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; background: #fbfcfd; }
.kpi-label { display: block; color: var(--muted); font-size: 12px; }
.kpi-value { display: block; font-size: 22px; font-weight: 650; }
.kpi-note { display: block; color: var(--muted); font-size: 11.5px; }
table.data { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
table.data caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; }
table.data thead th { background: #f0f2f5; font-weight: 600; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tr.total { font-weight: 650; background: #fafafa; }
.switcher { display: inline-block; margin: 6px 0; font-weight: 600; }
.switcher select { margin-left: 6px; font: inherit; padding: 2px 6px; }
.note, .empty { color: var(--muted); font-size: 12.5px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 12px; }
"""

# Before anything else: every script error, unhandled rejection and console.error lands in
# <html data-report-errors> (a JSON list), so a headless browser can see them in the DOM.
_ERROR_RECORDER = """
(function () {
  var errors = [];
  function record(message) {
    errors.push(String(message));
    document.documentElement.setAttribute("data-report-errors", JSON.stringify(errors));
  }
  document.documentElement.setAttribute("data-report-errors", "[]");
  window.addEventListener("error", function (e) { record(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) {
    record("unhandled rejection: " + ((e.reason && e.reason.message) || e.reason));
  });
  var original = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
"""

# Draw every figure; then mark <body data-charts-rendered="N">. Switch channel tables.
_RENDER = """
(function () {
  var config = {responsive: true, displaylogo: false,
                modeBarButtons: [["toImage", "zoom2d", "pan2d", "resetScale2d"]]};
  var blocks = document.querySelectorAll('script.figure-data');
  var drawn = [];
  blocks.forEach(function (block) {
    var figure = JSON.parse(block.textContent);
    drawn.push(Plotly.newPlot(block.getAttribute("data-target"), figure.data, figure.layout, config));
  });
  Promise.all(drawn).then(function () {
    document.body.setAttribute("data-charts-rendered", String(drawn.length));
  });
  var select = document.getElementById("attribution-model");
  select.addEventListener("change", function () {
    document.querySelectorAll("table.channel-table").forEach(function (table) {
      table.hidden = table.getAttribute("data-model") !== select.value;
    });
  });
})();
"""


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (plotly.js inlined; no network at all)."""
    from plotly.offline import get_plotlyjs

    figures = build_figures(data)
    blocks = {key: _figure_block(key, fig) for key, fig in figures.items()}
    top = headline(data)
    by_channel = funnel_by_channel(data["funnel"])
    built = data.built_at.strftime("%Y-%m-%d %H:%M UTC") if data.built_at else "unknown"
    generated = data.generated_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    env = html.escape(data.env)
    arr_note = f"{'end of' if top['arr_month_complete'] else 'running month'} {top['arr_month']:%Y-%m}"
    open_windows = int((~data["funnel"].is_window_complete).sum())
    health_day = data["health"].as_of_date.iloc[0].strftime("%Y-%m-%d")
    expansion_total = int(data["health"].expansion_candidates.sum())
    power_day = data["power_users"].report_date.iloc[0].strftime("%Y-%m-%d")

    def section(element_id: str, title: str, source: str, body: str) -> str:
        return (f'<section id="{element_id}"><h2>{html.escape(title)}</h2><p class="source">{source}</p>\n'
                f"{body}\n</section>")

    sections = [
        section("funnel", "Acquisition funnel",
                "Visit → signup → activation → paid, ordered within each visitor's "
                f"{data.variables.get('conversion_window_days', '?')}-day window; monthly first-visit cohorts of "
                "<code>acquisition.funnel_conversion</code> summed per channel, rates recomputed on the sums."
                + (f" {open_windows} cohort rows still have open windows and can gain conversions."
                   if open_windows else ""),
                f'<div class="grid">{blocks["chart-funnel"]}{blocks["chart-funnel-rates"]}</div>'
                + _funnel_table(by_channel)),
        section("retention", "Signup-cohort retention",
                "Share of each signup cohort active N periods later (period 0 = the signup period); "
                "<code>product.retention_cohorts</code>, cohort type <code>signup</code>. Only complete periods.",
                blocks["chart-retention-monthly"] + blocks["chart-retention-weekly"]),
        section("growth-accounting", "Growth accounting",
                "Active users split into new, retained and resurrected, with churned below zero and the quick ratio "
                "on the right axis; <code>product.growth_accounting</code>.",
                blocks["chart-growth-monthly"] + blocks["chart-growth-daily"]),
        section("engagement", "Engagement",
                "DAU, WAU (L7) and MAU (L28) with stickiness from <code>product.engagement_daily</code>; the L28 "
                f"histogram on {power_day} from <code>product.power_user_curve</code>.",
                f'<div class="grid">{blocks["chart-engagement"]}{blocks["chart-stickiness"]}</div>'
                + blocks["chart-power-users"]),
        section("revenue", "Revenue: MRR, NRR and GRR",
                "Company-wide MRR bridge from <code>revenue.mrr_movements_monthly</code> (scope <code>all</code>) and "
                "retention of the customers paying in the base month from <code>revenue.net_revenue_retention</code> "
                "(cohort <code>all</code>). ARR = 12 × ending MRR of the latest complete month.",
                '<div class="kpis">'
                + _kpi("arr_usd", "ARR", top["arr_usd"], _usd_short(top["arr_usd"]), arr_note)
                + _kpi("ending_mrr_usd", "Ending MRR", top["ending_mrr_usd"], _usd(top["ending_mrr_usd"]), arr_note)
                + _kpi("paying_customers", "Paying customers", top["paying_customers"],
                       _num(top["paying_customers"]), arr_note)
                + _kpi("nrr_1m", "NRR (1 month)", top["nrr_1m"], _pct(top["nrr_1m"]),
                       f"{top['nrr_month']:%Y-%m}" if top["nrr_month"] else "")
                + _kpi("grr_1m", "GRR (1 month)", top["grr_1m"], _pct(top["grr_1m"]),
                       f"{top['nrr_month']:%Y-%m}" if top["nrr_month"] else "")
                + "</div>" + f'<div class="grid">{blocks["chart-mrr"]}{blocks["chart-nrr"]}</div>'),
        section("channels", "Channel economics",
                "Monthly rows of <code>acquisition.channel_performance</code> summed per channel over the whole range; "
                "CAC = spend / paid conversions, ROAS = first-month revenue / spend, payback = spend / new MRR "
                "(months); — for a channel without spend or a zero denominator. Conversions are credited by the "
                "chosen "
                "attribution model; the total row is blended (all spend over all conversions).",
                _channel_tables(data["channels"], data.variables)),
        section("health", "Customer health",
                f"Scores as of {health_day} from <code>customers.health_scores</code>: engagement, feature breadth, "
                "recency and payment, weighted; churn risk by inactive days. Expansion candidates (starter tier, broad "
                f"and frequent use): {expansion_total:,}, listed by id only.",
                f'<div class="grid">{blocks["chart-health-scores"]}{blocks["chart-churn-risk"]}</div>'
                + "<h3>Expansion candidates</h3>" + _expansion_table(data["expansion"])),
    ]
    nav = "".join(f'<a href="#{i}">{label}</a>' for i, label in (
        ("funnel", "Funnel"), ("retention", "Retention"), ("growth-accounting", "Growth accounting"),
        ("engagement", "Engagement"), ("revenue", "Revenue"), ("channels", "Channels"), ("health", "Health")))
    header = (
        f'<header><h1>growthmesh growth report</h1><dl class="meta">'
        f'<div><dt>Data</dt><dd id="meta-range">{top["first_day"]} – {top["last_day"]}</dd></div>'
        f'<div><dt>Environment</dt><dd id="meta-env">{env}</dd></div>'
        f'<div><dt>Gateway</dt><dd id="meta-gateway">{html.escape(data.gateway)}</dd></div>'
        f'<div><dt>Environment built</dt><dd id="meta-built">{built}</dd></div>'
        f'<div><dt>Report generated</dt><dd id="meta-generated">{generated}</dd></div>'
        f'<div><dt>ARR</dt><dd>{_usd_short(top["arr_usd"])}</dd></div>'
        f'<div><dt>MAU (L28)</dt><dd>{_num(top["mau"])}</dd></div>'
        f'<div><dt>DAU / MAU</dt><dd>{_pct(top["dau_mau"])}</dd></div>'
        "</dl></header>")
    return "\n".join([
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>growthmesh growth report — {env}</title>",
        f"<script>{_ERROR_RECORDER}</script>",
        f"<style>{_STYLE}</style>",
        f'<script id="plotlyjs">{get_plotlyjs()}</script>',
        "</head>",
        "<body>",
        header,
        f"<nav>{nav}</nav>",
        "<main>",
        *sections,
        "</main>",
        f"<footer>growthmesh · environment {env} · generated {generated}</footer>",
        f"<script>{_RENDER}</script>",
        "</body>",
        "</html>",
        "",
    ])


def build_report(context: Context, env: str = "prod", gateway: str | None = None,
                 generated_at: dt.datetime | None = None) -> str:
    """The report of environment `env` read through `context`, as one HTML document.

    Raises ReportError when the environment does not exist or a mart is missing or empty.
    """
    return render_html(read_report_data(context, env, gateway, generated_at))


# --------------------------------------------------------------------------- CLI

def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default="local", help="SQLMesh gateway to read from: local (DuckDB, the default) "
                        "or bigquery")
    parser.add_argument("--env", default="prod", help="SQLMesh environment: prod (default) or a dev environment's name")
    parser.add_argument("--out", type=Path, default=Path("report.html"),
                        help="HTML file to write (default report.html)")
    return parser.parse_args(argv)


def _missing_duckdb_file(context: Context, gateway: str) -> str | None:
    """What is wrong when a DuckDB file the gateway would read (its warehouse or its state)
    does not exist: connecting would create an empty one. None when all are there."""
    config = context.config.get_gateway(gateway)
    for role, connection in (("database", config.connection), ("state database", config.state_connection)):
        database = getattr(connection, "database", None)
        if getattr(connection, "type_", None) == "duckdb" and database and database != ":memory:":
            if not Path(database).exists():
                hint = "build it with `make demo` (or point GROWTHMESH_DUCKDB at one)" if role == "database" \
                    else "plan the gateway first"
                return f"gateway {gateway}'s {role} {database} does not exist; {hint}"
    return None


def main(argv: t.Sequence[str] | None = None) -> int:
    """Write the report; 0 on success, 2 with one line on stderr for a problem the user can fix."""
    args = parse_args(argv)
    from sqlmesh import Context

    try:
        # the environment's snapshots say what to read: the local model files need not load
        context = Context(paths=ROOT, gateway=args.gateway, load=False)
    except Exception as error:
        print(f"report: error: cannot open gateway '{args.gateway}': {_first_line(error)}", file=sys.stderr)
        return 2
    try:
        missing = _missing_duckdb_file(context, args.gateway)
        if missing is not None:
            raise ReportError(missing)
        document = build_report(context, args.env, args.gateway)
    except ReportError as error:
        print(f"report: error: {error}", file=sys.stderr)
        return 2
    finally:
        context.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(document, encoding="utf-8")
    print(f"report: wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB; environment {args.env}, "
          f"gateway {args.gateway})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
