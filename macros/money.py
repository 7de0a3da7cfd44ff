"""Money helpers: Stripe amounts arrive in the currency's minor unit (cents, pence);
marts read major units and US dollars. Both conversions read the `seeds.fx_rates` row
joined under the alias given (its `minor_unit_digits` and `usd_per_unit`)."""

from __future__ import annotations

from sqlglot import exp

from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


def _fx_column(fx: exp.Expression, column: str) -> exp.Column:
    return exp.column(column, table=fx.name)


@macro()
def minor_to_major(
    evaluator: MacroEvaluator, amount: exp.Expression, fx: exp.Expression
) -> exp.Expression:
    """`amount` in minor units -> major units of its own currency (exact: an integer over a
    power of ten).

    `@minor_to_major(c.amount, fx)` -> `c.amount / POW(10, fx.minor_unit_digits)`.
    """
    digits = _fx_column(fx, "minor_unit_digits").sql("bigquery")
    return evaluator.parse_one(f"CAST({amount.sql('bigquery')} AS FLOAT64) / POW(10, {digits})")


@macro()
def minor_to_usd(
    evaluator: MacroEvaluator, amount: exp.Expression, fx: exp.Expression
) -> exp.Expression:
    """`amount` in minor units -> US dollars, rounded to the cent.

    `@minor_to_usd(c.amount, fx)` -> `ROUND(c.amount / POW(10, fx.minor_unit_digits) * fx.usd_per_unit, 2)`.
    """
    digits = _fx_column(fx, "minor_unit_digits").sql("bigquery")
    rate = _fx_column(fx, "usd_per_unit").sql("bigquery")
    return evaluator.parse_one(
        f"ROUND(CAST({amount.sql('bigquery')} AS FLOAT64) / POW(10, {digits}) * {rate}, 2)"
    )


@macro()
def major_to_usd(
    evaluator: MacroEvaluator, amount: exp.Expression, fx: exp.Expression
) -> exp.Expression:
    """`amount` already in major units (ad spend, CRM) -> US dollars, rounded to the cent."""
    rate = _fx_column(fx, "usd_per_unit").sql("bigquery")
    return evaluator.parse_one(f"ROUND(CAST({amount.sql('bigquery')} AS FLOAT64) * {rate}, 2)")


@macro()
def exact_sum(evaluator: MacroEvaluator, value: exp.Expression, digits: exp.Expression) -> exp.Expression:
    """SUM of `value` that does not depend on the order rows are added in.

    A float SUM depends on summation order, which varies with parallelism and engine, so
    a total on a rounding boundary can come out one cent (or one 1e-4) apart between
    runs. Each value is rounded to `digits` decimals and summed as an integer (exact), then
    scaled back: `@exact_sum(x, 6)` -> `SUM(CAST(ROUND(x * 1e6) AS INT64)) / 1e6`.
    Enough headroom for 9.2e12 at 6 digits; use it for weights and money, not counts.
    """
    scale = 10 ** int(digits.name if isinstance(digits, exp.Literal) else digits.sql())
    return evaluator.parse_one(
        f"SUM(CAST(ROUND({value.sql('bigquery')} * {scale}) AS INT64)) / {scale}"
    )
