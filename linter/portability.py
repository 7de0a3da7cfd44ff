"""growthmesh portability rules: BigQuery-dialect SQL that must mean the same on DuckDB.

Models are written in the BigQuery dialect, run on DuckDB locally and on BigQuery in
production (DESIGN.md "Dialect"). Every construct below either transpiles to something
that gives a different answer (or type) on one of the engines, or fails on one of them.
SQLMesh loads every ``Rule`` subclass in this folder; ``config.yaml`` enables them with
``linter: {enabled: true, rules: all}``. Rule names are the lower-cased class names.

SQL model rules. They inspect the sqlglot AST of the query with macros and @VAR values
expanded but not optimized (SQLMesh's optimizer rewrites some of these constructs away),
falling back to the query as written if it cannot be rendered. Comments and string
literals never match. One violation per distinct offending expression:

- ``noplainweektrunc``          DATE_TRUNC/TIMESTAMP_TRUNC/DATETIME_TRUNC(x, WEEK) (Sunday on
                                BigQuery, Monday on DuckDB), and TIMESTAMP_/DATETIME_TRUNC with
                                WEEK(<day>) (transpiles to invalid DuckDB SQL).
- ``unwrappeddatetrunc``        DATE_TRUNC(...) not wrapped in DATE(...) (TIMESTAMP on DuckDB).
- ``nocalendartimestampdiff``   TIMESTAMP_DIFF/DATETIME_DIFF in DAY or a longer unit.
- ``nodayofweek``               EXTRACT(DAYOFWEEK ...) / DAYOFWEEK(...).
- ``nodistinctwindowaggregate`` COUNT(DISTINCT ...) OVER (...) and any DISTINCT window aggregate.
- ``noarrayagglimit``           ARRAY_AGG(... LIMIT n).
- ``nobigqueryonlyfunction``    FARM_FINGERPRINT, RANGE_BUCKET, IEEE_DIVIDE, HLL_COUNT.*,
                                ARRAY_CONCAT_AGG and the ISOWEEK date part.
- ``unwrappedcalendardateadd``  DATE_ADD/DATE_SUB(d, INTERVAL n MONTH|QUARTER|YEAR) not wrapped
                                in DATE(...) (TIMESTAMP on DuckDB).
- ``noarrayaggignorenulls``     ARRAY_AGG(... IGNORE NULLS).
- ``noimplicitpivotvalues``     PIVOT whose IN (...) is not an explicit list of values.
- ``nowallclock``               CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_DATETIME, CURRENT_TIME,
                                NOW() and friends (use @start_ds/@end_ds).

Seed model rule:

- ``nonumericseedcolumn``       NUMERIC/DECIMAL/BIGNUMERIC columns in a SEED model.

Each violation message names the offending expression and says what to write instead.
"""

from __future__ import annotations

import re
import typing as t

from sqlglot import exp

from sqlmesh.core.linter.rule import Rule, RuleViolation
from sqlmesh.core.model import Model, SeedModel, SqlModel

Finding = t.Tuple[exp.Expression, str]

# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------

_SNIPPET_MAX = 100
_RENDER_DATE = "1970-01-01"
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Units for which TIMESTAMP_DIFF/DATETIME_DIFF count elapsed time (not calendar periods).
_ELAPSED_UNITS = {"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR"}

# DATE_ADD/DATE_SUB units documented (DESIGN.md) to turn a DATE into a TIMESTAMP on DuckDB.
# Note: DuckDB returns TIMESTAMP for DATE + INTERVAL of *any* unit (DAY and WEEK too); the
# project only enforces the calendar units. Add "DAY"/"WEEK" here to be stricter.
_CALENDAR_ADD_UNITS = {"MONTH", "QUARTER", "YEAR"}

_WALL_CLOCK_CLASSES: t.Tuple[t.Type[exp.Expression], ...] = tuple(
    cls
    for cls in (
        getattr(exp, name, None)
        for name in (
            "CurrentDate",
            "CurrentDatetime",
            "CurrentTime",
            "CurrentTimestamp",
            "CurrentTimestampLTZ",
            "Localtime",
            "Localtimestamp",
            "Systimestamp",
        )
    )
    if cls is not None
)
_WALL_CLOCK_NAMES = {
    "CURRENT_DATE",
    "CURRENT_DATETIME",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "NOW",
    "SYSDATE",
    "SYSTIMESTAMP",
    "GETDATE",
    "GETUTCDATE",
}

_MISSING_FUNCTION_CLASSES: t.Dict[str, str] = {
    # exp class name -> BigQuery function name
    "FarmFingerprint": "FARM_FINGERPRINT",
    "RangeBucket": "RANGE_BUCKET",
    "ArrayConcatAgg": "ARRAY_CONCAT_AGG",
    "IeeeDivide": "IEEE_DIVIDE",
}
_MISSING_FUNCTION_ADVICE: t.Dict[str, str] = {
    "FARM_FINGERPRINT": "Use a project macro that renders FARM_FINGERPRINT on BigQuery and HASH "
    "on DuckDB, or compare the keys themselves",
    "RANGE_BUCKET": "Write the bucketing as CASE WHEN x < b1 THEN 0 WHEN x < b2 THEN 1 ... END",
    "IEEE_DIVIDE": "Write SAFE_DIVIDE(x, y) (NULL on a zero divisor) or x / NULLIF(y, 0)",
    "ARRAY_CONCAT_AGG": "Write ARRAY_AGG(element) over the UNNEST-ed arrays "
    "(FROM t, UNNEST(t.arr) AS element)",
    "HLL_COUNT": "Write COUNT(DISTINCT ...) (exact) or APPROX_COUNT_DISTINCT(...)",
}


# id(model) -> (model, query): each rule is instantiated per model, so the query is
# rendered once per model and lint run rather than once per rule.
_QUERY_CACHE: t.Dict[int, t.Tuple[Model, exp.Expression]] = {}


def _query_of(model: Model) -> t.Optional[exp.Expression]:
    """The query to inspect, None for non-SQL models.

    Macros are expanded (so @VAR values and macro output are checked) but the query is NOT
    optimized: SQLMesh's optimizer rewrites constructs (e.g. `DATE_TRUNC(d, MONTH) = x`
    becomes a range predicate on `d`), which would hide them. An explicit start/end keeps
    the renderer from returning its cached optimized query. If rendering fails, the query
    as written is checked.
    """
    if not isinstance(model, SqlModel):
        return None
    cached = _QUERY_CACHE.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    try:
        rendered = model.render_query(
            start=_RENDER_DATE, end=_RENDER_DATE, needs_optimization=False
        )
    except Exception:  # noqa: BLE001 - an unrenderable query is still worth checking
        rendered = None
    query = rendered if rendered is not None else model.query
    _QUERY_CACHE[id(model)] = (model, query)
    return query


def _unqualify(node: exp.Expression) -> exp.Expression:
    """Drop the table qualifiers and identifier quotes the renderer adds, for readable messages."""
    if isinstance(node, exp.Column):
        return exp.column(_unquote(node.this)) if isinstance(node.this, exp.Identifier) else node
    if isinstance(node, exp.Identifier):
        return _unquote(node)
    return node


def _unquote(identifier: exp.Identifier) -> exp.Identifier:
    if identifier.quoted and _PLAIN_NAME.match(identifier.name):
        return exp.to_identifier(identifier.name, quoted=False)
    return identifier.copy()


def _snippet(node: exp.Expression) -> str:
    try:
        text = node.copy().transform(_unqualify).sql(dialect="bigquery")
    except Exception:  # noqa: BLE001
        text = str(node)
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_MAX else text[: _SNIPPET_MAX - 3] + "..."


def _unit_name(node: t.Optional[exp.Expression]) -> t.Optional[str]:
    """The upper-cased date part of a unit argument: 'WEEK', 'MONTH', 'WEEK(MONDAY)'..."""
    if node is None:
        return None
    if isinstance(node, exp.WeekStart):
        return f"WEEK({node.name.upper()})"
    if isinstance(node, (exp.Var, exp.Literal, exp.Identifier, exp.Column)):
        return node.name.upper()
    return node.sql(dialect="bigquery").upper()


def _unit_of(node: exp.Expression) -> t.Optional[str]:
    return _unit_name(node.args.get("unit"))


def _is_date_wrapper(node: t.Optional[exp.Expression]) -> bool:
    if isinstance(node, (exp.Date, exp.TsOrDsToDate)):
        return True
    if isinstance(node, exp.Cast):  # also covers SAFE_CAST (exp.TryCast)
        return node.to.is_type(exp.DataType.Type.DATE)
    return False


def _wrapped_in_date(node: exp.Expression) -> bool:
    """True if `node`'s value reaches a DATE(...) / CAST(... AS DATE) through parentheses and
    date arithmetic (DATE(DATE_ADD(DATE_TRUNC(d, MONTH), INTERVAL 1 MONTH)) is fine)."""
    child, parent = node, node.parent
    while parent is not None:
        if _is_date_wrapper(parent):
            return True
        passes_through = isinstance(parent, exp.Paren) or (
            isinstance(parent, (exp.DateAdd, exp.DateSub, exp.DateTrunc))
            and parent.this is child
        )
        if not passes_through:
            return False
        child, parent = parent, parent.parent
    return False


def _unwrap_nulls(node: t.Optional[exp.Expression]) -> t.Optional[exp.Expression]:
    while isinstance(node, (exp.IgnoreNulls, exp.RespectNulls)):
        node = node.this
    return node


def _anonymous_name(node: exp.Expression) -> t.Optional[str]:
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    return None


class _QueryCheck:
    """Mixin shared by the SQL model rules: walk the query, one violation per finding.

    Deliberately not a Rule subclass: SQLMesh registers every Rule subclass it finds in
    linter/ as a rule, so an abstract base Rule would be picked up (and fail) as one.
    """

    violation: t.Callable[..., RuleViolation]  # provided by Rule

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        raise NotImplementedError

    def check_model(self, model: Model) -> t.Optional[t.List[RuleViolation]]:
        query = _query_of(model)
        if query is None:
            return None
        seen: t.Set[str] = set()
        violations = []
        for node, message in self.findings(query):
            text = f"`{_snippet(node)}`: {message}"
            if text not in seen:
                seen.add(text)
                violations.append(self.violation(text))
        return violations or None


# ---------------------------------------------------------------------------------------
# SQL model rules
# ---------------------------------------------------------------------------------------


class NoPlainWeekTrunc(_QueryCheck, Rule):
    """Week truncation must be DATE_TRUNC(date, WEEK(MONDAY)): plain WEEK starts on Sunday in BigQuery but on Monday in DuckDB."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc):
            unit = _unit_of(node)
            if unit is None:
                continue
            if isinstance(node, exp.DateTrunc):
                if unit == "WEEK":
                    yield node, (
                        "plain WEEK starts weeks on Sunday in BigQuery but on Monday in DuckDB. "
                        "Write DATE_TRUNC(d, WEEK(MONDAY)) (wrapped in DATE(...))."
                    )
            elif unit == "WEEK" or unit.startswith("WEEK("):
                fn = "TIMESTAMP_TRUNC" if isinstance(node, exp.TimestampTrunc) else "DATETIME_TRUNC"
                yield node, (
                    f"{fn} to weeks is not portable (plain WEEK is Sunday on BigQuery, Monday on "
                    f"DuckDB; {fn}(x, WEEK(<day>)) transpiles to invalid DuckDB SQL). "
                    "Write DATE(DATE_TRUNC(DATE(x), WEEK(MONDAY))) and cast back with "
                    "TIMESTAMP(...) if a timestamp is really needed."
                )


class UnwrappedDateTrunc(_QueryCheck, Rule):
    """DATE_TRUNC must be wrapped in DATE(...): on DuckDB it returns a TIMESTAMP, on BigQuery a DATE."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.DateTrunc):
            if not _wrapped_in_date(node):
                yield node, (
                    "DATE_TRUNC returns a DATE on BigQuery but a TIMESTAMP on DuckDB. "
                    f"Write DATE({_snippet(node)}) (or TIMESTAMP_TRUNC if a timestamp is meant)."
                )


class NoCalendarTimestampDiff(_QueryCheck, Rule):
    """TIMESTAMP_DIFF/DATETIME_DIFF in DAY or longer units differ: 24-hour periods on BigQuery, calendar boundaries on DuckDB."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.TimestampDiff, exp.DatetimeDiff):
            unit = _unit_of(node) or "DAY"
            if unit in _ELAPSED_UNITS:
                continue
            fn = "TIMESTAMP_DIFF" if isinstance(node, exp.TimestampDiff) else "DATETIME_DIFF"
            yield node, (
                f"{fn}(..., {unit}) counts elapsed 24-hour periods on BigQuery but calendar "
                f"boundaries on DuckDB. Write DATE_DIFF(DATE(a), DATE(b), {unit}) for calendar "
                f"units, or {fn}(a, b, SECOND) / 86400 for elapsed days."
            )


class NoDayOfWeek(_QueryCheck, Rule):
    """EXTRACT(DAYOFWEEK ...) is 1-7 from Sunday on BigQuery but 0-6 on DuckDB; compare with WEEK(MONDAY) truncation instead."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        message = (
            "DAYOFWEEK is 1 (Sunday) to 7 on BigQuery but 0 (Sunday) to 6 on DuckDB. "
            "Compare with the Monday week start instead: "
            "DATE_DIFF(d, DATE(DATE_TRUNC(d, WEEK(MONDAY))), DAY) is 0 for Monday ... 6 for "
            "Sunday, and d = DATE(DATE_TRUNC(d, WEEK(MONDAY))) tests for a Monday."
        )
        for node in query.walk():
            if isinstance(node, exp.Extract) and _unit_name(node.this) == "DAYOFWEEK":
                yield node, message
            elif isinstance(node, exp.DayOfWeek) or _anonymous_name(node) == "DAYOFWEEK":
                yield node, message


class NoDistinctWindowAggregate(_QueryCheck, Rule):
    """Aggregates with DISTINCT inside a window (COUNT(DISTINCT x) OVER (...)) run on DuckDB but BigQuery rejects them."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for window in query.find_all(exp.Window):
            func = _unwrap_nulls(window.this)
            if func is None:
                continue
            if any(isinstance(arg, exp.Distinct) for arg in func.args.values()):
                yield window, (
                    "BigQuery rejects DISTINCT inside an analytic (OVER) aggregate. "
                    "Aggregate to one row per entity and period first (e.g. user-days with "
                    "GROUP BY), then COUNT/SUM those rows over the window, or join back a "
                    "GROUP BY aggregate."
                )


class NoArrayAggLimit(_QueryCheck, Rule):
    """ARRAY_AGG(... ORDER BY ... LIMIT n) is a DuckDB parser error; use MAX_BY/MIN_BY or QUALIFY ROW_NUMBER()."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.ArrayAgg):
            if isinstance(node.this, exp.Limit):
                yield node, (
                    "LIMIT inside ARRAY_AGG is a DuckDB parser error. For the first/last value "
                    "write MAX_BY(x, y) / MIN_BY(x, y); for the top n rows keep them with "
                    "QUALIFY ROW_NUMBER() OVER (PARTITION BY ... ORDER BY y) <= n in a subquery "
                    "and ARRAY_AGG(x ORDER BY y) those."
                )


class NoBareDivOperand(_QueryCheck, Rule):
    """DIV(a + b, c) must parenthesise an operand that is itself an operation: sqlglot writes it for DuckDB as `a + b // c`."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.IntDiv):
            for operand in (node.this, node.expression):
                if isinstance(operand, exp.Binary):
                    yield node, (
                        "BigQuery's DIV(x, y) becomes `x // y` on DuckDB without parentheses, so "
                        f"DIV({_snippet(node.this)}, {_snippet(node.expression)}) computes something "
                        "else there (DIV(n + 1, 2) is n + 0). Write the operand in parentheses: "
                        f"DIV(({_snippet(operand)}), ...)."
                    )


class NoBigQueryOnlyFunction(_QueryCheck, Rule):
    """Functions and date parts missing in DuckDB: FARM_FINGERPRINT, RANGE_BUCKET, IEEE_DIVIDE, HLL_COUNT.*, ARRAY_CONCAT_AGG, ISOWEEK."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        classes = tuple(
            (cls, name)
            for cls, name in (
                (getattr(exp, cls_name, None), fn) for cls_name, fn in _MISSING_FUNCTION_CLASSES.items()
            )
            if cls is not None
        )
        for node in query.walk():
            name: t.Optional[str] = None
            for cls, fn in classes:
                if isinstance(node, cls):
                    name = fn
                    break
            if name is None:
                anonymous = _anonymous_name(node)
                if anonymous in _MISSING_FUNCTION_ADVICE:
                    name = anonymous
            if (
                name is None
                and isinstance(node, exp.Dot)
                and isinstance(node.this, (exp.Identifier, exp.Column, exp.Var))
                and node.this.name.upper() == "HLL_COUNT"
            ):
                name = "HLL_COUNT"
            if name is not None:
                label = "HLL_COUNT.*" if name == "HLL_COUNT" else name
                yield node, f"{label} does not exist in DuckDB. {_MISSING_FUNCTION_ADVICE[name]}."
                continue

            if isinstance(node, exp.Extract):
                part = _unit_name(node.this)
            elif isinstance(node, exp.Func):
                part = _unit_of(node)
            else:
                part = None
            if part == "ISOWEEK":
                yield node, (
                    "the ISOWEEK date part does not exist in DuckDB. Write WEEK(MONDAY) "
                    "(e.g. DATE(DATE_TRUNC(d, WEEK(MONDAY))))."
                )


class UnwrappedCalendarDateAdd(_QueryCheck, Rule):
    """DATE_ADD/DATE_SUB(d, INTERVAL n MONTH|QUARTER|YEAR) must be wrapped in DATE(...): DuckDB returns a TIMESTAMP."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.DateAdd, exp.DateSub):
            unit = _unit_of(node)
            if unit in _CALENDAR_ADD_UNITS and not _wrapped_in_date(node):
                yield node, (
                    f"DATE + INTERVAL n {unit} is a DATE on BigQuery but a TIMESTAMP on DuckDB. "
                    f"Write DATE({_snippet(node)})."
                )


class NoArrayAggIgnoreNulls(_QueryCheck, Rule):
    """ARRAY_AGG(... IGNORE NULLS) does not transpile to DuckDB (the NULLs are kept); filter NULLs in WHERE instead."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.find_all(exp.IgnoreNulls):
            if isinstance(node.this, exp.ArrayAgg):
                yield node, (
                    "IGNORE NULLS is dropped when transpiling ARRAY_AGG to DuckDB, so NULLs are "
                    "kept there (and BigQuery cannot return arrays with NULLs). Filter the NULLs "
                    "before aggregating: WHERE x IS NOT NULL, or a subquery that does."
                )
        for node in query.find_all(exp.ArrayAgg):
            if node.args.get("nulls_excluded"):
                yield node, (
                    "IGNORE NULLS inside ARRAY_AGG does not transpile to DuckDB. Filter the NULLs "
                    "before aggregating: WHERE x IS NOT NULL, or a subquery that does."
                )


class NoImplicitPivotValues(_QueryCheck, Rule):
    """PIVOT must list its values explicitly in IN (...): otherwise the output columns come out in string order."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        message = (
            "PIVOT needs an explicit list of values, or the columns come out in string order and "
            "differ between engines. Write FOR col IN ('a' AS a, 'b' AS b, ...)."
        )
        for pivot in query.find_all(exp.Pivot):
            if pivot.args.get("unpivot"):
                continue
            fields = pivot.args.get("fields") or []
            if not fields:
                yield pivot, message
                continue
            for field in fields:
                values = field.expressions if isinstance(field, exp.In) else []
                if (
                    not isinstance(field, exp.In)
                    or field.args.get("query") is not None
                    or field.args.get("unnest") is not None
                    or not values
                    or any(
                        isinstance(v, (exp.PivotAny, exp.Query, exp.Subquery)) for v in values
                    )
                ):
                    yield pivot, message
                    break


class NoWallClock(_QueryCheck, Rule):
    """CURRENT_DATE/CURRENT_TIMESTAMP/NOW() make results depend on when a model runs; use @start_ds/@end_ds (the processed interval)."""

    def findings(self, query: exp.Expression) -> t.Iterator[Finding]:
        for node in query.walk():
            if isinstance(node, _WALL_CLOCK_CLASSES) or _anonymous_name(node) in _WALL_CLOCK_NAMES:
                yield node, (
                    "reads the wall clock, so the result depends on when the model runs and "
                    "backfills are not reproducible. Use the processed interval instead: "
                    "@start_ds/@end_ds ('YYYY-MM-DD'), @start_dt/@end_dt or @start_ts/@end_ts, "
                    "e.g. DATE(@end_ds) for CURRENT_DATE()."
                )


# ---------------------------------------------------------------------------------------
# Seed model rule
# ---------------------------------------------------------------------------------------

_DECIMAL_TYPES = {
    exp.DataType.Type[name]
    for name in (
        "DECIMAL",
        "BIGDECIMAL",
        "UDECIMAL",
        "DECIMAL32",
        "DECIMAL64",
        "DECIMAL128",
        "DECIMAL256",
        "DECFLOAT",
        "BIGNUM",
    )
    if name in exp.DataType.Type.__members__
}


class NoNumericSeedColumn(Rule):
    """SEED columns must not be NUMERIC/DECIMAL/BIGNUMERIC: the BigQuery client cannot load floats into them; use FLOAT64 or INT64."""

    def check_model(self, model: Model) -> t.Optional[t.List[RuleViolation]]:
        if not isinstance(model, SeedModel):
            return None
        violations = []
        for column, dtype in (model.columns_to_types_ or {}).items():
            if any(d.this in _DECIMAL_TYPES for d in dtype.find_all(exp.DataType)):
                violations.append(
                    self.violation(
                        f"Seed column `{column}` is declared {dtype.sql(dialect='bigquery')}; the "
                        "BigQuery client cannot load floats into NUMERIC. Declare it FLOAT64 "
                        "(or INT64 for whole numbers)."
                    )
                )
        return violations or None
