"""Bad input never vanishes, and never changes a mart (README "Bad input never vanishes").

One small clean data set (scripts/generate_data.py, dirty_rate=0: nothing to reject) is
built for prod and every model's prod view is fingerprinted. Then hand-made bad rows of
every class the generator makes and every reason the README documents are added to the
raw tables, each derived from a real clean row so that, were it staged, it would count (a
copy of a real track under a new id with its JSON cut short, a copy of a real charge in
'btc', a real price re-synced with a negative amount, ...), plus duplicates of a real row
of every raw table. Every raw table is restated and the views are fingerprinted again.

Then, per class: the row is in staging.stg_quarantine under its documented reason (a
duplicate is counted as a duplicate instead, never quarantined); nothing else is; every
mart and intermediate model, and every staging model but the quarantine and the
reconciliation log, is identical to the clean build; and staging.stg_raw_reconciliation
balances for every raw table (raw = staged + duplicates + rejected + pending), each count
checked against the tables themselves and against the rows added.

The slow test at the end is the control: valid twins of the same rows do change marts of
every mart schema, so "unchanged" is a comparison that can fail.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest
import time_machine
from conftest import environ, fingerprint, load_script, view_fingerprints, without_yaml_tests

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)
END = dt.date(2025, 2, 28)
MORNING_AFTER = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.timezone.utc)
SEED, USERS = 5, 300

# The raw contract's keys and "own timestamp" per table, as the quarantine reports them
# (stg_quarantine: raw_key = the id, or the composite key joined by '|', '<null>' for a
# missing part; raw_timestamp = the row's own timestamp).
KEY_COLUMNS = {
    "raw_segment.pages": ("id",),
    "raw_segment.tracks": ("id",),
    "raw_segment.identifies": ("id",),
    "raw_stripe.customer": ("id",),
    "raw_stripe.product": ("id",),
    "raw_stripe.price": ("id",),
    "raw_stripe.subscription_history": ("id", "updated_at"),
    "raw_stripe.invoice": ("id",),
    "raw_stripe.charge": ("id",),
    "raw_ads.ad_spend": ("date", "platform", "campaign_id"),
    "raw_crm.account": ("id",),
    "raw_crm.opportunity": ("id",),
}
TIME_COLUMN = {
    "raw_segment.pages": "timestamp",
    "raw_segment.tracks": "timestamp",
    "raw_segment.identifies": "timestamp",
    "raw_stripe.customer": "created",
    "raw_stripe.product": "created",
    "raw_stripe.price": "created",
    "raw_stripe.subscription_history": "updated_at",
    "raw_stripe.invoice": "created",
    "raw_stripe.charge": "created",
    "raw_ads.ad_spend": "date",
    "raw_crm.account": "created_date",
    "raw_crm.opportunity": "created_date",
}
# Excluded from "unchanged": the quarantine and the reconciliation log exist to change.
CHANGING_MODELS = {"staging.stg_quarantine", "staging.stg_quarantine__segment", "staging.stg_raw_reconciliation"}
# Segment staging: raw_copies counts the copies merged into a row, so a duplicate changes it
# by design; every other column must stay as it was (and raw_copies is checked on its own).
MERGED_COPIES = {
    "raw_segment.pages": ("staging.stg_segment__pages", "page_view_id"),
    "raw_segment.tracks": ("staging.stg_segment__tracks", "event_id"),
    "raw_segment.identifies": ("staging.stg_segment__identifies", "identify_id"),
}
MART_SCHEMAS = {"product", "acquisition", "revenue", "customers", "sales", "intermediate"}
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
MAX_FLIPS = 0  # one-cent float flips tolerated per comparison: none since channel_performance sums exactly (@exact_sum)

NEW = object()  # a change to a fresh id: "bad-<class slug>-<n>", so the row would be new
EPOCH = dt.datetime(1970, 1, 1)  # the generator's (and loaders') unparsable timestamp
BEFORE_START = dt.datetime(2024, 12, 31, 12, 0, 0)
DAYS = dt.timedelta(days=1)
REAL_USER = "u_0000001"  # identifies re-link a real anonymous_id to this real user


def _props(**values: Any) -> Callable[[dict], str]:
    """properties of the source track with keys set (None: removed), as JSON text."""

    def change(row: dict) -> str:
        props = json.loads(row["properties"])
        for key, value in values.items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        return json.dumps(props)

    return change


def _later(column: str, delta: dt.timedelta) -> Callable[[dict], Any]:
    return lambda row: row[column] + delta


@dataclass(frozen=True)
class BadClass:
    """One class of bad input: rows of `table` derived from the first clean row matching
    `pick` (ordered by the table's key), one per dict of column changes."""

    name: str
    table: str
    reason: str | None  # None: a duplicate, counted as such and never quarantined
    pick: str
    rows: tuple[dict[str, Any], ...]


_TRACK = (
    "user_id IS NOT NULL AND anonymous_id IS NOT NULL AND event = 'report_created' "
    "AND timestamp BETWEEN TIMESTAMP '2025-01-05' AND TIMESTAMP '2025-01-25'"
)
_PAGE = "anonymous_id IS NOT NULL AND timestamp BETWEEN TIMESTAMP '2025-01-05' AND TIMESTAMP '2025-01-25'"
_IDENTIFY = (
    f"anonymous_id IS NOT NULL AND user_id <> '{REAL_USER}' "
    "AND timestamp BETWEEN TIMESTAMP '2025-01-05' AND TIMESTAMP '2025-01-25'"
)
_CHARGE = "status = 'succeeded' AND amount > 0 AND livemode"
_CUSTOMER = "livemode AND metadata LIKE '%user_id%'"
_PRICE = "id IN (SELECT price_id FROM raw_stripe.subscription_history WHERE status = 'active')"
_VERSION = "status = 'active' AND livemode"
_RELINK = {"id": NEW, "user_id": REAL_USER, "timestamp": _later("timestamp", -dt.timedelta(hours=1))}
# the largest valid credits amount (config.yaml variables: max_credit_amount)
_MAX_CREDITS = int(re.search(r"^\s*max_credit_amount:\s*(\d+)", (ROOT / "config.yaml").read_text(), re.M).group(1))

BAD_CLASSES: tuple[BadClass, ...] = (
    # --- raw_segment.tracks ---
    BadClass("tracks duplicate delivery", "raw_segment.tracks", None, _TRACK,
             ({"received_at": _later("received_at", dt.timedelta(hours=1))},)),
    BadClass("tracks exact duplicate", "raw_segment.tracks", None, _TRACK, ({},)),
    BadClass("tracks id NULL", "raw_segment.tracks", "missing_id", _TRACK, ({"id": None},)),
    BadClass("tracks user_id and anonymous_id NULL", "raw_segment.tracks", "missing_identity", _TRACK,
             ({"id": NEW, "user_id": None, "anonymous_id": None},)),
    BadClass("tracks unparsable timestamp", "raw_segment.tracks", "unparsable_timestamp", _TRACK,
             ({"id": NEW, "timestamp": EPOCH}, {"id": NEW, "timestamp": None})),
    BadClass("tracks before the project start", "raw_segment.tracks", "before_project_start", _TRACK,
             ({"id": NEW, "timestamp": BEFORE_START, "sent_at": BEFORE_START,
               "received_at": BEFORE_START + dt.timedelta(seconds=5)},)),
    BadClass("tracks future timestamp", "raw_segment.tracks", "future_timestamp", _TRACK,
             ({"id": NEW, "timestamp": _later("received_at", 30 * DAYS)},)),
    BadClass("tracks unknown event", "raw_segment.tracks", "unknown_event", _TRACK,
             tuple({"id": NEW, "event": e, "event_text": e}
                   for e in ("test_event_debug", "Unknown Event", "button_clicked_v0", None))),
    BadClass("tracks malformed JSON properties", "raw_segment.tracks", "malformed_properties", _TRACK,
             ({"id": NEW, "properties": lambda r: r["properties"][:-1]},
              {"id": NEW, "properties": "feature=reports"})),
    BadClass("tracks credits amount a string", "raw_segment.tracks", "invalid_amount",
             "event = 'credits_earned' AND user_id IS NOT NULL",
             tuple({"id": NEW, "properties": _props(amount=a)} for a in ("ten", "N/A", "12,50", "lots"))),
    BadClass("tracks credits amount negative", "raw_segment.tracks", "invalid_amount",
             "event = 'credits_earned' AND user_id IS NOT NULL",
             ({"id": NEW, "properties": _props(amount=-5)}, {"id": NEW, "properties": _props(amount=-0.5)})),
    BadClass("tracks credits spent negative", "raw_segment.tracks", "invalid_amount",
             "event = 'credits_spent' AND user_id IS NOT NULL", ({"id": NEW, "properties": _props(amount=-10)},)),
    BadClass("tracks credits amount absurd", "raw_segment.tracks", "invalid_amount",
             "event = 'credits_earned' AND user_id IS NOT NULL",
             ({"id": NEW, "properties": _props(amount=1_500_000_000)},
              {"id": NEW, "properties": _props(amount=_MAX_CREDITS + 1)})),
    BadClass("tracks credits amount missing", "raw_segment.tracks", "invalid_amount",
             "event = 'credits_earned' AND user_id IS NOT NULL", ({"id": NEW, "properties": _props(amount=None)},)),
    BadClass("tracks first broken rule wins", "raw_segment.tracks", "missing_id", _TRACK,
             ({"id": None, "timestamp": EPOCH, "event": "test_event_debug"},)),
    # --- raw_segment.pages ---
    BadClass("pages duplicate delivery", "raw_segment.pages", None, _PAGE,
             ({"received_at": _later("received_at", dt.timedelta(hours=6))},)),
    BadClass("pages id NULL", "raw_segment.pages", "missing_id", _PAGE, ({"id": None},)),
    BadClass("pages user_id and anonymous_id NULL", "raw_segment.pages", "missing_identity", _PAGE,
             ({"id": NEW, "user_id": None, "anonymous_id": None},)),
    BadClass("pages unparsable timestamp", "raw_segment.pages", "unparsable_timestamp", _PAGE,
             ({"id": NEW, "timestamp": EPOCH}, {"id": NEW, "timestamp": None})),
    BadClass("pages before the project start", "raw_segment.pages", "before_project_start", _PAGE,
             ({"id": NEW, "timestamp": BEFORE_START, "received_at": BEFORE_START + dt.timedelta(seconds=5)},)),
    BadClass("pages future timestamp", "raw_segment.pages", "future_timestamp", _PAGE,
             ({"id": NEW, "timestamp": _later("received_at", 30 * DAYS)},)),
    # --- raw_segment.identifies: each would re-link a real anonymous_id to another real user ---
    BadClass("identifies duplicate delivery", "raw_segment.identifies", None, _IDENTIFY,
             ({"received_at": _later("received_at", dt.timedelta(seconds=1))},)),
    BadClass("identifies id NULL", "raw_segment.identifies", "missing_id", _IDENTIFY, ({**_RELINK, "id": None},)),
    BadClass("identifies user_id NULL", "raw_segment.identifies", "missing_user_id", _IDENTIFY,
             ({**_RELINK, "user_id": None},)),
    BadClass("identifies unparsable timestamp", "raw_segment.identifies", "unparsable_timestamp", _IDENTIFY,
             ({**_RELINK, "timestamp": EPOCH},)),
    BadClass("identifies before the project start", "raw_segment.identifies", "before_project_start", _IDENTIFY,
             ({**_RELINK, "timestamp": BEFORE_START, "received_at": BEFORE_START + dt.timedelta(seconds=5)},)),
    BadClass("identifies future timestamp", "raw_segment.identifies", "future_timestamp", _IDENTIFY,
             ({**_RELINK, "timestamp": _later("received_at", 30 * DAYS)},)),
    # --- raw_stripe.charge ---
    BadClass("charge sync duplicate", "raw_stripe.charge", None, _CHARGE, ({},)),
    BadClass("charge id NULL", "raw_stripe.charge", "missing_id", _CHARGE, ({"id": None},)),
    BadClass("charge test mode", "raw_stripe.charge", "test_mode", _CHARGE, ({"id": NEW, "livemode": False},)),
    BadClass("charge currency xxx or btc", "raw_stripe.charge", "unknown_currency", _CHARGE,
             ({"id": NEW, "currency": "xxx"}, {"id": NEW, "currency": "btc"}, {"id": NEW, "currency": None})),
    BadClass("charge negative amount or refund above it", "raw_stripe.charge", "invalid_amount", _CHARGE,
             ({"id": NEW, "amount": lambda r: -r["amount"]},
              {"id": NEW, "amount_refunded": lambda r: r["amount"] + 1},
              {"id": NEW, "amount_refunded": -1},
              {"id": NEW, "amount": None})),
    BadClass("charge created NULL", "raw_stripe.charge", "missing_timestamp", _CHARGE,
             ({"id": NEW, "created": None},)),
    BadClass("charge first broken rule wins", "raw_stripe.charge", "test_mode", _CHARGE,
             ({"id": NEW, "livemode": False, "currency": "btc", "amount": -1},)),
    # --- raw_stripe.customer ---
    BadClass("customer sync duplicate", "raw_stripe.customer", None, _CUSTOMER, ({},)),
    BadClass("customer id NULL", "raw_stripe.customer", "missing_id", _CUSTOMER, ({"id": None},)),
    BadClass("customer test mode", "raw_stripe.customer", "test_mode", _CUSTOMER,
             ({"id": NEW, "livemode": False},)),
    BadClass("customer unknown currency", "raw_stripe.customer", "unknown_currency", _CUSTOMER,
             ({"id": NEW, "currency": "xxx"},)),
    # --- raw_stripe.price: a real price re-synced later, so it would win staging's dedup ---
    BadClass("price duplicate", "raw_stripe.price", None, _PRICE, ({},)),
    BadClass("price id NULL", "raw_stripe.price", "missing_id", _PRICE, ({"id": None},)),
    BadClass("price unknown currency", "raw_stripe.price", "unknown_currency", _PRICE,
             ({"created": _later("created", DAYS), "currency": "zzz"}, {"created": _later("created", 2 * DAYS), "currency": None})),
    BadClass("price unknown interval", "raw_stripe.price", "unknown_interval", _PRICE,
             ({"created": _later("created", DAYS), "recurring_interval": "fortnight"},
              {"created": _later("created", 2 * DAYS), "recurring_interval_count": 0})),
    BadClass("price negative amount", "raw_stripe.price", "invalid_amount", _PRICE,
             ({"created": _later("created", DAYS), "unit_amount": -100},
              {"created": _later("created", 2 * DAYS), "unit_amount": None})),
    # --- raw_stripe.product ---
    BadClass("product duplicate", "raw_stripe.product", None, "TRUE", ({},)),
    BadClass("product id NULL", "raw_stripe.product", "missing_id", "TRUE", ({"id": None},)),
    # --- raw_stripe.subscription_history: a version that would cancel a live subscription ---
    BadClass("subscription version duplicate", "raw_stripe.subscription_history", None, _VERSION, ({},)),
    BadClass("subscription version id NULL", "raw_stripe.subscription_history", "missing_id", _VERSION,
             ({"id": None, "updated_at": _later("updated_at", DAYS)},)),
    BadClass("subscription version test mode", "raw_stripe.subscription_history", "test_mode", _VERSION,
             ({"livemode": False, "status": "canceled", "updated_at": _later("updated_at", DAYS),
               "canceled_at": _later("updated_at", DAYS), "ended_at": _later("updated_at", DAYS)},)),
    BadClass("subscription version updated_at NULL", "raw_stripe.subscription_history", "missing_timestamp", _VERSION,
             ({"status": "canceled", "updated_at": None},)),
    # --- raw_stripe.invoice ---
    BadClass("invoice duplicate", "raw_stripe.invoice", None, "TRUE", ({},)),
    BadClass("invoice id NULL", "raw_stripe.invoice", "missing_id", "TRUE", ({"id": None},)),
    BadClass("invoice test mode", "raw_stripe.invoice", "test_mode", "TRUE", ({"id": NEW, "livemode": False},)),
    BadClass("invoice unknown currency", "raw_stripe.invoice", "unknown_currency", "TRUE",
             ({"id": NEW, "currency": "xxx"},)),
    # --- raw_ads.ad_spend ---
    BadClass("ad spend duplicate", "raw_ads.ad_spend", None, "spend > 0", ({},)),
    BadClass("ad spend without date, platform or campaign", "raw_ads.ad_spend", "missing_id", "spend > 0",
             ({"campaign_id": None}, {"date": None}, {"platform": None})),
    BadClass("ad spend currency ZZZ", "raw_ads.ad_spend", "unknown_currency", "spend > 0",
             ({"currency": "ZZZ", "spend": lambda r: r["spend"] * 10}, {"currency": None, "spend": lambda r: r["spend"] * 10})),
    BadClass("ad spend negative", "raw_ads.ad_spend", "invalid_amount", "spend > 0",
             ({"campaign_id": "bad-negative-spend", "spend": -5.0},
              {"campaign_id": "bad-no-spend", "spend": None},
              {"campaign_id": "bad-negative-clicks", "clicks": -3})),
    # --- raw_crm ---
    BadClass("crm account duplicate", "raw_crm.account", None, "stripe_customer_id IS NOT NULL", ({},)),
    BadClass("crm account id NULL", "raw_crm.account", "missing_id", "stripe_customer_id IS NOT NULL", ({"id": None},)),
    BadClass("crm opportunity duplicate", "raw_crm.opportunity", None, "TRUE", ({},)),
    BadClass("crm opportunity id NULL", "raw_crm.opportunity", "missing_id", "TRUE", ({"id": None},)),
    BadClass("crm opportunity unknown currency", "raw_crm.opportunity", "unknown_currency", "TRUE",
             ({"id": NEW, "currency": "ZZZ"},)),
)

# Valid twins (the slow control): rows of the same kind, without the defect.
TWINS: tuple[BadClass, ...] = (
    BadClass("tracks twin", "raw_segment.tracks", None, _TRACK, ({"id": NEW},)),
    BadClass("pages twin", "raw_segment.pages", None, _PAGE, ({"id": NEW},)),
    BadClass("identifies twin", "raw_segment.identifies", None, _IDENTIFY, (_RELINK,)),
    BadClass("charge twin", "raw_stripe.charge", None, _CHARGE, ({"id": NEW},)),
    BadClass("price twin", "raw_stripe.price", None, _PRICE,
             ({"created": _later("created", DAYS), "unit_amount": lambda r: r["unit_amount"] * 3},)),
    BadClass("subscription version twin", "raw_stripe.subscription_history", None, _VERSION,
             ({"status": "canceled", "updated_at": _later("updated_at", DAYS),
               "canceled_at": _later("updated_at", DAYS), "ended_at": _later("updated_at", DAYS)},)),
    BadClass("ad spend twin", "raw_ads.ad_spend", None, "spend > 0", ({"spend": lambda r: r["spend"] * 10},)),
    BadClass("crm opportunity twin", "raw_crm.opportunity", None, "TRUE", ({"id": NEW},)),
)


@dataclass
class Injected:
    cls: BadClass
    row: dict[str, Any]
    key: str  # the row's key as the quarantine renders it
    timestamp: dt.datetime | None

    @property
    def quarantine_row(self) -> tuple:
        return (self.cls.table, self.key, self.timestamp, self.cls.reason)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _inject(cursor, classes: tuple[BadClass, ...]) -> list[Injected]:
    """Derive every class's rows from its clean source row, then insert them all."""
    injected = []
    for cls in classes:
        keys = ", ".join(KEY_COLUMNS[cls.table])
        cursor.execute(f"SELECT * FROM {cls.table} WHERE {cls.pick} ORDER BY {keys} LIMIT 1")
        columns = [d[0] for d in cursor.description]
        found = cursor.fetchone()
        assert found is not None, f"{cls.name}: no clean row matches {cls.pick!r}"
        source = dict(zip(columns, found))
        for n, changes in enumerate(cls.rows, 1):
            row = dict(source)
            for column, change in changes.items():
                assert column in row, f"{cls.name}: {column} is not a column of {cls.table}"
                row[column] = f"bad-{_slug(cls.name)}-{n}" if change is NEW else change(source) if callable(change) else change
            parts = ", ".join("COALESCE(CAST(? AS VARCHAR), '<null>')" for _ in KEY_COLUMNS[cls.table])
            (key,) = cursor.execute(f"SELECT CONCAT_WS('|', {parts})", [row[k] for k in KEY_COLUMNS[cls.table]]).fetchone()
            stamp = row[TIME_COLUMN[cls.table]]
            if isinstance(stamp, dt.date) and not isinstance(stamp, dt.datetime):
                stamp = dt.datetime.combine(stamp, dt.time())
            injected.append(Injected(cls, row, key, stamp))
    for item in injected:
        names = list(item.row)
        cursor.execute(
            f"INSERT INTO {item.cls.table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [item.row[c] for c in names],
        )
    return injected


def fingerprints(cursor) -> dict[str, tuple[int, str]]:
    """Rows and an order-free checksum of every view outside SQLMesh's own schemas
    (conftest.view_fingerprints); Segment staging's without raw_copies (MERGED_COPIES)."""
    prints = view_fingerprints(cursor)
    for view in {v for v, _ in MERGED_COPIES.values()} & set(prints):
        prints[view] = fingerprint(cursor, f"(SELECT * EXCLUDE (raw_copies) FROM {view})")
    return prints


Rows = tuple[list[str], list[bool], list[tuple]]  # columns, which are floats, rows


def view_rows(cursor, view: str) -> Rows:
    relation = view
    if view in {v for v, _ in MERGED_COPIES.values()}:
        relation = f"(SELECT * EXCLUDE (raw_copies) FROM {view})"
    described = cursor.execute(f"DESCRIBE {relation}").fetchall()
    floats = [t in FLOAT_TYPES for _, t, *_ in described]
    return [c for c, *_ in described], floats, cursor.execute(f"SELECT * FROM {relation}").fetchall()


def row_differences(before: Rows, after: Rows) -> tuple[list[str], list[str]]:
    """(differences, flips) between two states of one view, rows paired in sorted order.

    A flip is a float that moved by at most one cent: a value the model rounds to 2 (or
    more) decimals after summing floats in an order no engine fixes (README, "Testing
    against a local emulator"; acquisition.channel_performance's ratios) can land on
    either side of a rounding boundary from one build to the next. Anything else (a row
    more or less, another string, id, count or date, a float further off) is a difference.
    """
    columns, floats, a = before
    b = after[2]
    if len(a) != len(b):
        return [f"{len(a)} rows -> {len(b)}"], []

    def key(row: tuple) -> tuple:
        exact = tuple((v is None, v) for v, f in zip(row, floats) if not f)
        return exact + tuple((v is None, 0.0 if v is None or not math.isfinite(v) else round(v, 6))
                             for v, f in zip(row, floats) if f)

    differences, flips = [], []
    for x, y in zip(sorted(a, key=key), sorted(b, key=key)):
        for column, is_float, u, v in zip(columns, floats, x, y):
            if u == v or (is_float and u is not None and v is not None and math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12)):
                continue
            if is_float and u is not None and v is not None and abs(u - v) <= 0.01 + 1e-9:
                flips.append(f"{column}: {u} -> {v}")
            else:
                differences.append(f"{column}: {u!r} -> {v!r} in {x}")
    return differences, flips


def changed_views(before: State, after: State, views: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Views whose rows differ (first differences of each), and every float flip (see row_differences)."""
    differences, flips = {}, []
    for view in sorted(views):
        if before.fingerprints[view] == after.fingerprints[view]:
            continue
        found, flipped = row_differences(before.rows[view], after.rows[view])
        if found:
            differences[view] = found[:5]
        flips += [f"{view}.{f}" for f in flipped]
    return differences, flips


@dataclass
class State:
    fingerprints: dict[str, tuple[int, str]]
    quarantine: Counter
    reconciliation: dict[str, dict[str, Any]]
    raw_counts: dict[str, int]
    staged_counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, Rows] = field(default_factory=dict)
    merged: dict[tuple[str, str], int] = field(default_factory=dict)  # (raw table, id) -> raw_copies, where > 1


def _naive_utc(stamp: dt.datetime | None) -> dt.datetime | None:
    """raw_timestamp is a TIMESTAMP (UTC) in BigQuery, a TIMESTAMPTZ on DuckDB; raw times are naive UTC."""
    if stamp is None or stamp.tzinfo is None:
        return stamp
    return stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _state(cursor) -> State:
    quarantine = Counter(
        (table, key, _naive_utc(stamp), reason) for table, key, stamp, reason in cursor.execute(
            "SELECT raw_table, raw_key, raw_timestamp, reject_reason FROM staging.stg_quarantine"
        ).fetchall()
    )
    cursor.execute(
        "SELECT * FROM staging.stg_raw_reconciliation QUALIFY as_of_date = MAX(as_of_date) OVER (PARTITION BY raw_table)"
    )
    columns = [d[0] for d in cursor.description]
    reconciliation = {row["raw_table"]: row for row in (dict(zip(columns, r)) for r in cursor.fetchall())}
    raw_counts = {t: cursor.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in KEY_COLUMNS}
    staged = {
        t: cursor.execute(f"SELECT COUNT(*) FROM {r['staging_model']}").fetchone()[0]
        for t, r in reconciliation.items()
    }
    prints = fingerprints(cursor)
    merged = {
        (table, key): copies
        for table, (view, id_column) in MERGED_COPIES.items()
        for key, copies in cursor.execute(f"SELECT {id_column}, raw_copies FROM {view} WHERE raw_copies > 1").fetchall()
    }
    return State(prints, quarantine, reconciliation, raw_counts, staged, {v: view_rows(cursor, v) for v in prints}, merged)


@dataclass
class Result:
    db: Path
    clean: State
    dirty: State
    injected: list[Injected]
    models: dict[str, str]  # model name -> schema, every non-external model
    raw_tables: set[str]


def _restate(context) -> None:
    raw = [m.name for m in context.models.values() if m.kind.is_external]
    context.plan(restate_models=raw, start=START, end=END, auto_apply=True, no_prompts=True,
                 skip_tests=True, skip_linter=True)


@contextmanager
def _project(db: Path):
    """The project's Context on `db`, as of the morning after the data's last day."""
    from sqlmesh import Context

    with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=START.isoformat()), \
            time_machine.travel(MORNING_AFTER, tick=False), without_yaml_tests():
        context = Context(paths=ROOT)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Result:
    generator = load_script("generate_data")
    db = tmp_path_factory.mktemp("bad_input") / "bad_input.duckdb"
    generator.write_duckdb(generator.generate(seed=SEED, users=USERS, start=START, end=END, dirty_rate=0), db)
    with _project(db) as context:
        # the YAML tests are `sqlmesh test`'s and the linter `sqlmesh lint`'s
        context.plan(auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
        clean = _state(context.engine_adapter.cursor)
        injected = _inject(context.engine_adapter.cursor, BAD_CLASSES)
        _restate(context)
        dirty = _state(context.engine_adapter.cursor)
        models = {m.name: m.name.split(".")[0] for m in context.models.values() if not m.kind.is_external}
        raw_tables = {m.name for m in context.models.values() if m.kind.is_external}
    return Result(db, clean, dirty, injected, models, raw_tables)


# --- the set-up proves something -------------------------------------------------------


def test_the_clean_build_rejects_nothing_and_every_class_has_rows(result):
    """Every bad row was derived from a row the clean build staged, and each class got rows."""
    assert result.clean.quarantine == Counter()
    assert all(r["rejected_rows"] == 0 and r["duplicate_rows"] == 0 for r in result.clean.reconciliation.values())
    per_class = Counter(i.cls.name for i in result.injected)
    assert set(per_class) == {c.name for c in BAD_CLASSES}
    assert {i.cls.table for i in result.injected} == result.raw_tables == set(KEY_COLUMNS)


def test_every_documented_reason_is_exercised():
    """Each reason of the README's table has at least one bad class here, and no class
    expects a reason the README does not document."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Bad input never vanishes", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert len(documented) >= 10, documented
    assert {c.reason for c in BAD_CLASSES if c.reason} == documented


# --- per class: quarantined under its reason, or counted as a duplicate ----------------


@pytest.mark.parametrize("bad_class", [c for c in BAD_CLASSES if c.reason], ids=lambda c: _slug(c.name))
def test_bad_row_lands_in_quarantine_with_its_reason(result, bad_class):
    mine = [i for i in result.injected if i.cls is bad_class]
    expected = Counter(i.quarantine_row for i in mine)
    found = Counter({row: n for row, n in result.dirty.quarantine.items() if row in expected})
    under_other_reason = [
        row for row in result.dirty.quarantine
        if any(row[:3] == i.quarantine_row[:3] and row[3] != bad_class.reason for i in mine)
    ]
    assert found == expected, f"missing from quarantine: {expected - found}; under another reason: {under_other_reason}"


@pytest.mark.parametrize("bad_class", [c for c in BAD_CLASSES if c.reason is None], ids=lambda c: _slug(c.name))
def test_duplicate_is_counted_as_a_duplicate_not_quarantined(result, bad_class):
    (dup,) = [i for i in result.injected if i.cls is bad_class]
    table = bad_class.table
    # rows under its key in quarantine: only the bad rows injected with that same key (a
    # real price re-synced in 'zzz', say), never the duplicate
    same_key_bad = sum(1 for i in result.injected if i.cls.reason and (i.cls.table, i.key) == (table, dup.key))
    assert sum(n for row, n in result.dirty.quarantine.items() if row[:2] == (table, dup.key)) == same_key_bad
    dups_added = sum(1 for i in result.injected if i.cls.table == table and i.cls.reason is None)
    grown = result.dirty.reconciliation[table]["duplicate_rows"] - result.clean.reconciliation[table]["duplicate_rows"]
    assert grown == dups_added
    if table in MERGED_COPIES:
        # the staged row merged the copies: one more raw copy per valid copy injected under its id
        same_key_dups = sum(1 for i in result.injected if i.cls.reason is None and (i.cls.table, i.key) == (table, dup.key))
        assert result.dirty.merged.get((table, dup.key)) == result.clean.merged.get((table, dup.key), 1) + same_key_dups


def test_quarantine_holds_the_bad_rows_and_nothing_else(result):
    """No duplicate, no source row, nothing but the injected bad rows, each once."""
    expected = Counter(i.quarantine_row for i in result.injected if i.cls.reason)
    assert result.dirty.quarantine == result.clean.quarantine + expected


# --- nothing downstream moves ----------------------------------------------------------


def test_every_mart_is_unchanged_by_bad_input(result):
    marts = {name for name, schema in result.models.items() if schema not in ("staging", "seeds")}
    assert {result.models[m] for m in marts} == MART_SCHEMAS
    missing = marts - set(result.dirty.fingerprints)
    assert not missing, f"no prod view for {sorted(missing)}"
    assert sum(result.clean.fingerprints[m][0] for m in marts) > 0
    assert result.clean.fingerprints["product.fct_events"][0] > 0
    differences, flips = changed_views(result.clean, result.dirty, marts)
    assert differences == {}
    assert len(flips) <= MAX_FLIPS, flips


def test_no_bad_row_reaches_staging(result):
    staging = {name for name, schema in result.models.items() if schema == "staging"} - CHANGING_MODELS
    assert len(staging) >= 12
    differences, flips = changed_views(result.clean, result.dirty, staging)
    assert (differences, flips) == ({}, [])
    # the quarantine did change, so the fingerprints see a change where there is one
    assert result.clean.fingerprints["staging.stg_quarantine"] != result.dirty.fingerprints["staging.stg_quarantine"]


# --- raw = staged + duplicates + rejected + pending, for every raw table ----------------


@pytest.mark.parametrize("table", sorted(KEY_COLUMNS))
def test_raw_rows_reconcile(result, table):
    row = result.dirty.reconciliation[table]
    raw, staged, dups, rejected, pending = (
        row["raw_rows"], row["staged_rows"], row["duplicate_rows"], row["rejected_rows"], row["pending_rows"]
    )
    assert row["unaccounted_rows"] == 0
    assert raw == staged + dups + rejected + pending
    # each count is the tables' own
    assert raw == result.dirty.raw_counts[table]
    assert rejected == sum(n for r, n in result.dirty.quarantine.items() if r[0] == table)
    assert staged == result.dirty.staged_counts[table]
    # and moved by exactly what was added
    mine = [i for i in result.injected if i.cls.table == table]
    before = result.clean.reconciliation[table]
    assert raw - before["raw_rows"] == len(mine) > 0
    assert rejected - before["rejected_rows"] == sum(1 for i in mine if i.cls.reason)
    assert dups - before["duplicate_rows"] == sum(1 for i in mine if i.cls.reason is None)
    assert (staged, pending) == (before["staged_rows"], before["pending_rows"])


# --- the comparison can fail -------------------------------------------------------------


def test_fingerprints_see_a_changed_value_but_not_row_order(tmp_path):
    con = duckdb.connect(str(tmp_path / "fp.duckdb"))
    con.execute("CREATE SCHEMA m")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a', 0.1 + 0.2), (2, 'b', 1e-9)) v(i, s, x)")
    con.execute("CREATE VIEW m.v AS SELECT * FROM t")
    base = fingerprints(con)["m.v"]
    con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM (VALUES (2, 'b', 1e-9), (1, 'a', 0.3)) v(i, s, x)")
    assert fingerprints(con)["m.v"] == base  # order, and 0.1 + 0.2 against 0.3
    for change in ("UPDATE t SET s = 'c' WHERE i = 1", "UPDATE t SET x = 0.3001 WHERE i = 1",
                   "INSERT INTO t VALUES (3, NULL, NULL)"):
        con.execute(change)
        assert fingerprints(con)["m.v"] != base, change
    con.close()


def test_row_comparison_tolerates_only_a_one_cent_flip_of_a_float():
    before = (["id", "n", "usd"], [False, False, True], [("a", 1, 62.27), ("b", 2, 0.1 + 0.2)])
    same = (before[0], before[1], [("b", 2, 0.3), ("a", 1, 62.27)])
    assert row_differences(before, same) == ([], [])
    flipped = (before[0], before[1], [("a", 1, 62.28), ("b", 2, 0.3)])
    assert row_differences(before, flipped) == ([], ["usd: 62.27 -> 62.28"])
    for rows in ([("a", 1, 62.29), ("b", 2, 0.3)], [("a", 2, 62.27), ("b", 2, 0.3)],
                 [("c", 1, 62.27), ("b", 2, 0.3)], [("a", 1, None), ("b", 2, 0.3)], [("a", 1, 62.27)]):
        assert row_differences(before, (before[0], before[1], rows))[0], rows


@pytest.mark.slow
def test_valid_twins_of_the_bad_rows_change_marts_of_every_schema(result):
    """The control: rows of the same kinds without their defect do reach the marts, so the
    comparison above is one that fails when a row gets through."""
    with _project(result.db) as context:
        _inject(context.engine_adapter.cursor, TWINS)
        _restate(context)
        after = _state(context.engine_adapter.cursor)
    marts = {m for m, schema in result.models.items() if schema in MART_SCHEMAS}
    differences, _ = changed_views(result.dirty, after, marts)
    assert {result.models[m] for m in differences} == MART_SCHEMAS, sorted(differences)
