"""Calendar periods for the engagement marts: day, ISO week (from Monday), calendar month.

Growth accounting and retention cohorts bucket days into periods, step from a period to
the next and count periods between two dates. They do it on a period *index*, an integer
numbering in which consecutive periods differ by 1: "the previous period" is `index - 1`,
"N periods later" is `index + N`, and integer arithmetic is several times faster than
date arithmetic on DuckDB. `@period_first_day` turns an index back into a DATE.

Both macros render the portable spelling DESIGN.md "Dialect" requires: no
`DATE_DIFF(..., WEEK)` (it counts Sunday boundaries on BigQuery), calendar `DATE_ADD`
wrapped in `DATE(...)` (a TIMESTAMP on DuckDB otherwise).

`grain` is a string literal ('day', 'week', 'month'), which renders the one expression for
that grain, or a column holding one of them, which renders a CASE over the three.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

GRAINS = ("day", "week", "month")

# Index 0 of each grain: 1970-01-01 (day), the ISO week of Monday 1970-01-05 (week),
# January 1970 (month). Dates before 1970-01-05 are out of range for weeks.
_DAY_EPOCH = "DATE '1970-01-01'"
_MONDAY_EPOCH = "DATE '1970-01-05'"
_MONTH_EPOCH = 1970 * 12


def _by_grain(
    evaluator: MacroEvaluator, grain: exp.Expression, render: t.Callable[[str], str]
) -> exp.Expression:
    """The expression for a literal grain, or a CASE over a grain column."""
    if isinstance(grain, exp.Literal) and grain.is_string:
        name = grain.this.lower()
        if name not in GRAINS:
            raise ValueError(f"grain must be one of {GRAINS}, got {name!r}")
        return evaluator.parse_one(render(name))
    g = grain.sql("bigquery")
    whens = " ".join(f"WHEN {g} = '{name}' THEN {render(name)}" for name in GRAINS)
    return evaluator.parse_one(f"CASE {whens} END")


@macro()
def period_index(evaluator: MacroEvaluator, day: exp.Expression, grain: exp.Expression) -> exp.Expression:
    """INT64 number of the day / ISO week / calendar month containing DATE `day`; consecutive
    periods differ by 1, so periods between two dates = difference of their indexes. NULL
    for a NULL day.

    `@period_index(a.activity_date, 'week')` -> `DIV(DATE_DIFF(a.activity_date, DATE '1970-01-05', DAY), 7)`.
    """
    d = day.sql("bigquery")
    render = {
        "day": f"DATE_DIFF({d}, {_DAY_EPOCH}, DAY)",
        "week": f"DIV(DATE_DIFF({d}, {_MONDAY_EPOCH}, DAY), 7)",
        "month": f"(EXTRACT(YEAR FROM {d}) * 12 + EXTRACT(MONTH FROM {d}) - 1)",
    }
    return _by_grain(evaluator, grain, render.__getitem__)


@macro()
def period_first_day(evaluator: MacroEvaluator, index: exp.Expression, grain: exp.Expression) -> exp.Expression:
    """First day (DATE) of the period numbered `index` by `@period_index`: the day, the Monday
    of the ISO week, or the first of the month. The last day of a period is the first day of
    `index + 1` minus one day.

    `@period_first_day(@period_index(d, 'month'), 'month')` = `DATE(DATE_TRUNC(d, MONTH))`.
    """
    i = index.sql("bigquery")
    render = {
        "day": f"DATE(DATE_ADD({_DAY_EPOCH}, INTERVAL ({i}) DAY))",
        "week": f"DATE(DATE_ADD({_MONDAY_EPOCH}, INTERVAL 7 * ({i}) DAY))",
        "month": f"DATE(DATE_ADD({_DAY_EPOCH}, INTERVAL ({i}) - {_MONTH_EPOCH} MONTH))",
    }
    return _by_grain(evaluator, grain, render.__getitem__)


@macro()
def quality_category(
    evaluator: MacroEvaluator,
    share: exp.Expression,
    excellent: exp.Expression,
    good: exp.Expression,
    average: exp.Expression,
    below_average: exp.Expression,
) -> exp.Expression:
    """Seed 003's five-level quality scale on a share: 'Excellent' at or above `excellent`,
    then 'Good', 'Average', 'Below Average', else 'Poor'; NULL when the share is NULL (a day
    without activity). Pass the thresholds as @VAR(...) so a change to them re-plans the model.

    `@quality_category(x, 0.3, 0.2, 0.1, 0.05)` -> `CASE WHEN x IS NULL THEN NULL WHEN x >= 0.3 THEN 'Excellent' ... END`.
    """
    s = share.sql("bigquery")
    levels = (("Excellent", excellent), ("Good", good), ("Average", average), ("Below Average", below_average))
    whens = " ".join(f"WHEN {s} >= {v.sql('bigquery')} THEN '{name}'" for name, v in levels)
    return evaluator.parse_one(f"CASE WHEN {s} IS NULL THEN NULL {whens} ELSE 'Poor' END")


@macro()
def activity_day_spine(evaluator: MacroEvaluator, first_day: exp.Expression, last_day: exp.Expression) -> exp.Expression:
    """The gap-free calendar of a day-grain mart: one row (`activity_date`) per day from
    `first_day` to `last_day` inclusive, none before the first day anyone was active (so a
    fresh project does not start with empty years). Use as a CTE body:
    `spine AS (@activity_day_spine(@start_date, @end_date))`.
    """
    return evaluator.parse_one(
        f"SELECT day AS activity_date "
        f"FROM UNNEST(GENERATE_DATE_ARRAY({first_day.sql('bigquery')}, {last_day.sql('bigquery')})) AS day "
        f"WHERE day >= (SELECT MIN(fa.activity_date) FROM product.fct_user_activity_daily AS fa)"
    )
