"""Staging rules: why a raw row is rejected, written once for the staging models and the
quarantine model that both need them.

A raw table's rules are an ordered list of (reason, condition) pairs over its raw
columns; the first condition that holds names the reason. Staging keeps the rows for
which no rule holds (`@is_valid_raw_row`); `staging.stg_quarantine` keeps the others with
their reason (`@reject_reason`). Because both expand the same list, raw = staged +
duplicates + rejected holds by construction, and `staging.stg_raw_reconciliation` audits
it against the data.

Conditions are BigQuery SQL; `{start}` is the project start (variable `project_start`) and
`{tolerance}` the hours a timestamp may run ahead of `received_at`
(`late_event_tolerance_hours`), `{max_credit_amount}` the largest credible credits amount. JSON checks go through `@json_is_valid`, the one construct
the two engines spell differently.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from sqlglot import exp

from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

# Timestamps before this are a loader's rendering of an unparsable value (epoch zero).
_UNPARSABLE_BEFORE = "TIMESTAMP '2000-01-01 00:00:00'"

_SEGMENT_TIME_RULES: list[tuple[str, str]] = [
    ("unparsable_timestamp", f"timestamp IS NULL OR timestamp < {_UNPARSABLE_BEFORE}"),
    ("before_project_start", "timestamp < TIMESTAMP '{start}'"),
    (
        "future_timestamp",
        "timestamp > TIMESTAMP_ADD(received_at, INTERVAL {tolerance} HOUR)",
    ),
]

_KNOWN_CURRENCY = "UPPER(currency) IN (SELECT fx.currency FROM seeds.fx_rates AS fx)"

_STRIPE_RULES: list[tuple[str, str]] = [
    ("missing_id", "id IS NULL"),
    ("test_mode", "livemode IS NOT TRUE"),
]

REJECT_RULES: dict[str, list[tuple[str, str]]] = {
    "raw_segment.pages": [
        ("missing_id", "id IS NULL"),
        ("missing_identity", "anonymous_id IS NULL AND user_id IS NULL"),
        *_SEGMENT_TIME_RULES,
    ],
    "raw_segment.tracks": [
        ("missing_id", "id IS NULL"),
        ("missing_identity", "anonymous_id IS NULL AND user_id IS NULL"),
        *_SEGMENT_TIME_RULES,
        (
            "unknown_event",
            "event IS NULL OR event NOT IN (SELECT fc.event FROM seeds.feature_catalog AS fc)",
        ),
        ("malformed_properties", "properties IS NOT NULL AND NOT {properties_are_json}"),
        (
            "invalid_amount",
            "event IN ('credits_earned', 'credits_spent') AND COALESCE("
            "NOT (SAFE_CAST(JSON_VALUE(properties, '$.amount') AS FLOAT64)"
            " BETWEEN 0 AND {max_credit_amount}), TRUE)",
        ),
    ],
    "raw_segment.identifies": [
        ("missing_id", "id IS NULL"),
        ("missing_user_id", "user_id IS NULL"),
        *_SEGMENT_TIME_RULES,
    ],
    "raw_stripe.customer": [
        ("missing_id", "id IS NULL"),
        ("test_mode", "livemode IS NOT TRUE"),
        ("unknown_currency", f"currency IS NOT NULL AND NOT {_KNOWN_CURRENCY}"),
    ],
    "raw_stripe.product": [
        ("missing_id", "id IS NULL"),
    ],
    "raw_stripe.price": [
        ("missing_id", "id IS NULL"),
        ("unknown_currency", f"currency IS NULL OR NOT {_KNOWN_CURRENCY}"),
        (
            "unknown_interval",
            "recurring_interval IS NULL OR recurring_interval NOT IN ('day', 'week', 'month', 'year')"
            " OR COALESCE(recurring_interval_count, 0) < 1",
        ),
        ("invalid_amount", "unit_amount IS NULL OR unit_amount < 0"),
    ],
    "raw_stripe.subscription_history": [
        *_STRIPE_RULES,
        ("missing_timestamp", "updated_at IS NULL"),
    ],
    "raw_stripe.invoice": [
        *_STRIPE_RULES,
        ("unknown_currency", f"currency IS NULL OR NOT {_KNOWN_CURRENCY}"),
    ],
    "raw_stripe.charge": [
        *_STRIPE_RULES,
        ("unknown_currency", f"currency IS NULL OR NOT {_KNOWN_CURRENCY}"),
        (
            "invalid_amount",
            "amount IS NULL OR amount < 0 OR COALESCE(amount_refunded, 0) < 0"
            " OR COALESCE(amount_refunded, 0) > amount",
        ),
        ("missing_timestamp", "created IS NULL"),
    ],
    "raw_ads.ad_spend": [
        ("missing_id", "date IS NULL OR campaign_id IS NULL OR platform IS NULL"),
        ("unknown_currency", f"currency IS NULL OR NOT {_KNOWN_CURRENCY}"),
        (
            "invalid_amount",
            "spend IS NULL OR spend < 0 OR COALESCE(impressions, 0) < 0 OR COALESCE(clicks, 0) < 0",
        ),
    ],
    "raw_crm.account": [
        ("missing_id", "id IS NULL"),
    ],
    "raw_crm.opportunity": [
        ("missing_id", "id IS NULL"),
        ("unknown_currency", f"currency IS NOT NULL AND NOT {_KNOWN_CURRENCY}"),
    ],
}


def _rules(evaluator: MacroEvaluator, raw_table: str) -> list[tuple[str, exp.Expression]]:
    name = raw_table.strip("'\"").lower()
    if name not in REJECT_RULES:
        raise ValueError(f"no staging rules for raw table {name!r}; add them to macros/staging.py")
    params = {
        "start": evaluator.var("project_start", "2024-01-01"),
        "tolerance": int(evaluator.var("late_event_tolerance_hours", 24)),
        "max_credit_amount": float(evaluator.var("max_credit_amount", 1_000_000)),
        "properties_are_json": json_is_valid(evaluator, exp.column("properties")).sql("bigquery"),
    }
    return [
        (reason, evaluator.parse_one(condition.format(**params)))
        for reason, condition in REJECT_RULES[name]
    ]


def _name(value: t.Any) -> str:
    return value.name if isinstance(value, exp.Expression) else str(value)


@macro()
def reject_reason(evaluator: MacroEvaluator, raw_table: exp.Expression) -> exp.Expression:
    """The reason a row of `raw_table` (e.g. 'raw_segment.tracks') is rejected, or NULL.

    Expands to `CASE WHEN <rule 1> THEN '<reason 1>' ... END` over the raw columns.
    """
    case = exp.Case()
    for reason, condition in _rules(evaluator, _name(raw_table)):
        case = case.when(exp.paren(condition), exp.Literal.string(reason))
    return case


@macro()
def is_valid_raw_row(evaluator: MacroEvaluator, raw_table: exp.Expression) -> exp.Expression:
    """TRUE when no staging rule rejects the row: `@reject_reason(raw_table) IS NULL`."""
    return exp.Is(this=reject_reason(evaluator, raw_table), expression=exp.Null())


def _target_dialect(evaluator: MacroEvaluator) -> str:
    """The engine the rendered SQL runs on (the model dialect while models load)."""
    if evaluator.runtime_stage == "loading":
        return evaluator.dialect or "bigquery"
    try:
        return evaluator.engine_adapter.dialect
    except Exception:  # no adapter (e.g. rendering without a connection)
        return evaluator.dialect or "bigquery"


@macro()
def json_is_valid(evaluator: MacroEvaluator, value: exp.Expression) -> exp.Expression:
    """TRUE when `value` (non-NULL) is well-formed JSON text, FALSE when it is not.

    BigQuery: `SAFE.PARSE_JSON(value) IS NOT NULL`; DuckDB: `json_valid(value)`. No
    expression means this on both engines, so it is rendered for the engine that runs it.
    """
    if _target_dialect(evaluator) == "duckdb":
        return exp.Anonymous(this="json_valid", expressions=[value])
    parsed = exp.SafeFunc(this=exp.ParseJSON(this=value))
    return exp.Not(this=exp.Is(this=parsed, expression=exp.Null()))


@macro()
def normalize_email(evaluator: MacroEvaluator, email: exp.Expression) -> exp.Expression:
    """An email as a matching key: trimmed and lower-cased, NULL when empty.

    Used wherever emails are compared (identifies, Stripe customers), so both sides agree.
    """
    return evaluator.parse_one(f"NULLIF(LOWER(TRIM({email.sql('bigquery')})), '')")


# How each raw table is keyed and timed, and the staging model that keeps its valid rows.
# `key`: the columns staging deduplicates on; `time`: the row's own timestamp (reported
# with quarantined rows); `incremental`: the staging model's time column, when staging
# reads only processed intervals of `time` (valid rows after them are pending, not missing);
# `arrival`: when the loader delivered the row, for tables whose rejected rows
# `staging.stg_quarantine__segment` collects incrementally, by the day they arrived.
RAW_TABLES: dict[str, dict[str, t.Any]] = {
    "raw_segment.pages": {"key": ["id"], "time": "timestamp", "staging": "staging.stg_segment__pages", "incremental": "event_date", "arrival": "received_at"},
    "raw_segment.tracks": {"key": ["id"], "time": "timestamp", "staging": "staging.stg_segment__tracks", "incremental": "event_date", "arrival": "received_at"},
    "raw_segment.identifies": {"key": ["id"], "time": "timestamp", "staging": "staging.stg_segment__identifies", "incremental": "identify_date", "arrival": "received_at"},
    "raw_stripe.customer": {"key": ["id"], "time": "created", "staging": "staging.stg_stripe__customer"},
    "raw_stripe.product": {"key": ["id"], "time": "created", "staging": "staging.stg_stripe__product"},
    "raw_stripe.price": {"key": ["id"], "time": "created", "staging": "staging.stg_stripe__price"},
    "raw_stripe.subscription_history": {"key": ["id", "updated_at"], "time": "updated_at", "staging": "staging.stg_stripe__subscription_history"},
    "raw_stripe.invoice": {"key": ["id"], "time": "created", "staging": "staging.stg_stripe__invoice"},
    "raw_stripe.charge": {"key": ["id"], "time": "created", "staging": "staging.stg_stripe__charge"},
    "raw_ads.ad_spend": {"key": ["date", "platform", "campaign_id"], "time": "CAST(date AS TIMESTAMP)", "staging": "staging.stg_ads__ad_spend"},
    "raw_crm.account": {"key": ["id"], "time": "created_date", "staging": "staging.stg_crm__account"},
    "raw_crm.opportunity": {"key": ["id"], "time": "created_date", "staging": "staging.stg_crm__opportunity"},
}


def _key_sql(spec: dict[str, t.Any]) -> str:
    """The dedup key as one STRING (NULL parts kept distinct from empty strings)."""
    parts = [f"COALESCE(CAST({k} AS STRING), '<null>')" for k in spec["key"]]
    return parts[0] if len(parts) == 1 else "CONCAT(" + ", '|', ".join(parts) + ")"


def _arrival_sql(evaluator: MacroEvaluator, spec: dict[str, t.Any]) -> str:
    """When a row arrived, for the quarantine's incremental part: its `arrival` column, a
    row received before the project start (or never) counting as arriving at the start."""
    start, column = _project_start_ts(evaluator), spec["arrival"]
    return f"IF({column} IS NULL OR {column} < {start}, {start}, {column})"


def _project_start_ts(evaluator: MacroEvaluator) -> str:
    return f"TIMESTAMP '{evaluator.var('project_start', '2024-01-01')}'"


@macro()
def quarantined_rows(
    evaluator: MacroEvaluator,
    part: exp.Expression,
    start: t.Optional[exp.Expression] = None,
    end: t.Optional[exp.Expression] = None,
) -> exp.Expression:
    """One SELECT per raw table of the rows staging rejects, UNION ALL-ed: raw_table,
    raw_key, raw_timestamp, reject_reason.

    part 'arrivals': the tables with an `arrival` column (Segment), only rows that arrived
    between `start` and `end`, with `arrived_at` too: the body of the incremental
    `staging.stg_quarantine__segment`. part 'snapshots': every other table, whole (their rows
    change in place): the rest of `staging.stg_quarantine`."""
    which = _name(part).strip("'\"")
    if which not in ("arrivals", "snapshots"):
        raise ValueError(f"quarantined_rows: part must be 'arrivals' or 'snapshots', not {which!r}")
    if which == "arrivals" and (start is None or end is None):
        raise ValueError("quarantined_rows('arrivals', start, end): the arrival window is required")
    selects = []
    for name, spec in RAW_TABLES.items():
        if bool(spec.get("arrival")) != (which == "arrivals"):
            continue
        reason = reject_reason(evaluator, exp.Literal.string(name)).sql("bigquery")
        columns = (f"SELECT '{name}' AS raw_table, {_key_sql(spec)} AS raw_key, "
                   f"CAST({spec['time']} AS TIMESTAMP) AS raw_timestamp, {reason} AS reject_reason")
        where = f"({reason}) IS NOT NULL"
        if which == "arrivals":
            window = f"BETWEEN {start.sql('bigquery')} AND {end.sql('bigquery')}"
            column, first = spec["arrival"], _project_start_ts(evaluator)
            columns += f", {_arrival_sql(evaluator, spec)} AS arrived_at"
            # the same test as `arrived_at BETWEEN ...`, spelled so that a daily run's filter
            # is a plain range on the arrival column (its second half folds away)
            where += (f" AND ({column} {window} OR (({column} IS NULL OR {column} < {first})"
                      f" AND {first} {window}))")
        selects.append(f"{columns} FROM {name} WHERE {where}")
    return evaluator.parse_one(" UNION ALL ".join(selects))


@macro()
def raw_row_accounts(evaluator: MacroEvaluator, end_ts: exp.Expression) -> exp.Expression:
    """Per raw table: raw, rejected, duplicate, pending and staged row counts as of `end_ts`
    (@end_ts, the end of the interval being processed), UNION ALL-ed: the body of
    `staging.stg_raw_reconciliation`. For incremental staging, rows dated after that end
    are pending (raw) or not counted (staged).

    Segment tables (an `arrival` column) are counted without re-checking their history:
    rejected rows are those `staging.stg_quarantine__segment` collected up to that end,
    duplicates are the copies staging merged into each row (`raw_copies` - 1), and only the
    rows received after the end (or, for a valid row dated after it, less than
    `late_event_tolerance_hours` before it) are checked against the rules: a rejected row
    received later is pending, like a valid row dated later. The other tables are small:
    each row is checked, and a duplicate is a valid row repeating a key.

    The end is compared as a plain literal, so on DuckDB a range on the arrival column
    skips the row groups before it."""
    end_text = _name(end_ts).strip("'\"")
    end = f"'{end_text}'"
    tolerance = int(evaluator.var("late_event_tolerance_hours", 24))
    # a valid row is dated at most `tolerance` hours after it was received
    received_since = f"'{(dt.datetime.fromisoformat(end_text) - dt.timedelta(hours=tolerance)).isoformat(sep=' ')}'"
    selects = []
    for name, spec in RAW_TABLES.items():
        reason = reject_reason(evaluator, exp.Literal.string(name)).sql("bigquery")
        staged_filter = (
            f" WHERE {spec['incremental']} <= DATE({end})" if spec.get("incremental") else ""
        )
        if spec.get("arrival"):
            arrival = spec["arrival"]
            # a valid row dated after the end is pending only where staging is incremental
            valid_pending = f"r.reason IS NULL AND r.{spec['time']} > {end}" if spec.get("incremental") else "FALSE"
            selects.append(
                f"""SELECT
                  '{name}' AS raw_table,
                  '{spec['staging']}' AS staging_model,
                  (SELECT COUNT(*) FROM {name}) AS raw_rows,
                  (SELECT COUNT(*) FROM staging.stg_quarantine__segment AS q
                   WHERE q.raw_table = '{name}' AND q.arrival_date <= DATE({end})) AS rejected_rows,
                  (SELECT COALESCE(SUM(s.raw_copies), 0) - COUNT(*) FROM {spec['staging']} AS s{staged_filter})
                    AS duplicate_rows,
                  (SELECT COUNT(IF((r.reason IS NOT NULL AND r.{arrival} > {end}) OR ({valid_pending}), 1, NULL))
                   FROM (
                     SELECT {reason} AS reason, {arrival}, {spec['time']}
                     FROM {name}
                     WHERE {arrival} > {received_since}
                   ) AS r) AS pending_rows,
                  (SELECT COUNT(*) FROM {spec['staging']}{staged_filter}) AS staged_rows"""
            )
            continue
        pending = f"{spec['time']} > {end}" if spec.get("incremental") else "FALSE"
        # one pass over the raw table: each row's reason and pending flag computed once
        # (COUNT(IF(...)), not COUNTIF: 0, not NULL, on an empty table in both engines)
        selects.append(
            f"""SELECT
              '{name}' AS raw_table,
              '{spec['staging']}' AS staging_model,
              COUNT(*) AS raw_rows,
              COUNT(IF(r.reason IS NOT NULL, 1, NULL)) AS rejected_rows,
              COUNT(IF(r.reason IS NULL AND NOT r.pending, 1, NULL))
                - COUNT(DISTINCT IF(r.reason IS NULL AND NOT r.pending, r.raw_key, NULL)) AS duplicate_rows,
              COUNT(IF(r.reason IS NULL AND r.pending, 1, NULL)) AS pending_rows,
              (SELECT COUNT(*) FROM {spec['staging']}{staged_filter}) AS staged_rows
            FROM (
              SELECT {reason} AS reason, {_key_sql(spec)} AS raw_key, COALESCE({pending}, FALSE) AS pending
              FROM {name}
            ) AS r"""
        )
    return evaluator.parse_one(" UNION ALL ".join(selects))
