"""Helpers for the acquisition marts: exact medians and attribution weights."""

from __future__ import annotations

from sqlglot import exp

from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


@macro()
def exact_median(
    evaluator: MacroEvaluator,
    value: exp.Expression,
    row_number: exp.Expression,
    row_count: exp.Expression,
    condition: exp.Expression,
) -> exp.Expression:
    """Aggregate: the exact median of `value` over the rows where `condition` holds, given each
    row's `row_number` (1..n, ordered by `value`) and the `row_count` n of its partition, both
    computed over those same rows (ROW_NUMBER() / COUNT(*) OVER the same PARTITION BY).
    The middle value for an odd n, the mean of the two middle values for an even n; NULL
    without rows. Portable where PERCENTILE_CONT is not (an aggregate on DuckDB, only a
    window function on BigQuery). FLOOR of a division rather than DIV on purpose: sqlglot
    renders BigQuery's DIV(n + 1, 2) for DuckDB as `n + 1 // 2`, which is n.

    `@exact_median(r.seconds, r.rn, r.n, r.step = 'paid')` ->
    `AVG(IF(r.step = 'paid' AND r.rn IN (CAST(FLOOR((r.n + 1) / 2) AS INT64), ...), r.seconds, NULL))`.
    """
    v, rn, n, cond = (e.sql("bigquery") for e in (value, row_number, row_count, condition))
    return evaluator.parse_one(
        f"AVG(IF(({cond}) AND {rn} IN (CAST(FLOOR(({n} + 1) / 2) AS INT64), CAST(FLOOR(({n} + 2) / 2) AS INT64)), {v}, NULL))"
    )
