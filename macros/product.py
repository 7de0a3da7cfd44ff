"""Product-analytics rules shared by several marts."""

from __future__ import annotations

from sqlglot import exp

from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


@macro()
def session_channel(
    evaluator: MacroEvaluator,
    landing_event_type: exp.Expression,
    landing_utm_channel: exp.Expression,
    landing_referrer_host: exp.Expression,
) -> exp.Expression:
    """A session's acquisition channel from its landing (first) event: the channel of the
    landing page's UTMs; else 'referral' for a page reached from another site, 'direct' for
    a page with no referrer, and 'app' for a session that starts in the product (a track)."""
    t, c, r = (e.sql("bigquery") for e in (landing_event_type, landing_utm_channel, landing_referrer_host))
    return evaluator.parse_one(
        f"CASE WHEN {c} IS NOT NULL THEN {c} WHEN {t} = 'track' THEN 'app' "
        f"WHEN {r} IS NOT NULL THEN 'referral' ELSE 'direct' END"
    )


@macro()
def visitor_id(evaluator: MacroEvaluator, user_id: exp.Expression, anonymous_id: exp.Expression) -> exp.Expression:
    """Who a visitor is (DESIGN.md, identity): the app user once known, else the device as
    'anonymous:<anonymous_id>'. `@visitor_id(s.user_id, s.anonymous_id)`. The visitor of
    intermediate.int_visitor_sessions and the actor product.fct_events cuts sessions for."""
    u, a = (e.sql("bigquery") for e in (user_id, anonymous_id))
    return evaluator.parse_one(f"COALESCE({u}, CONCAT('anonymous:', {a}))")


@macro()
def in_list(evaluator: MacroEvaluator, column: exp.Expression, values: exp.Expression) -> exp.Expression:
    """`column IN (<values>)` for a list variable, FALSE for an empty list.

    `@in_list(e.event_type, @VAR('active_event_types'))` -> `e.event_type IN ('track', 'page')`.
    Portable where `IN UNNEST([])` is not (BigQuery cannot type an empty array literal).
    """
    items = values.expressions if isinstance(values, (exp.Array, exp.Tuple)) else [values]
    items = [i for i in items if not isinstance(i, exp.Null)]
    if not items:
        return exp.false()
    return exp.In(this=column, expressions=items)


@macro()
def lifecycle_stage(evaluator: MacroEvaluator, days_since_signup: exp.Expression) -> exp.Expression:
    """Lifecycle stage from whole days since signup: new 0-7, growing 8-30, established
    31-90, mature 91+ (bounds are variables lifecycle_new_max_days, lifecycle_growing_max_days,
    lifecycle_established_max_days). Used by dim_users and lifecycle_daily."""
    d = days_since_signup.sql("bigquery")
    new_max = int(evaluator.var("lifecycle_new_max_days", 7))
    growing_max = int(evaluator.var("lifecycle_growing_max_days", 30))
    established_max = int(evaluator.var("lifecycle_established_max_days", 90))
    return evaluator.parse_one(
        f"CASE WHEN {d} <= {new_max} THEN 'new' WHEN {d} <= {growing_max} THEN 'growing' "
        f"WHEN {d} <= {established_max} THEN 'established' ELSE 'mature' END"
    )


@macro()
def stripe_customer_users(evaluator: MacroEvaluator) -> exp.Expression:
    """The app user of each Stripe customer, one row per customer (`customer_id`,
    `user_id`): the primary 'stripe_customer' link of staging.stg_identity_map. Use as a
    CTE body: `users AS (@stripe_customer_users())`, then LEFT JOIN on customer_id.
    """
    return evaluator.parse_one(
        "SELECT m.source_id AS customer_id, m.user_id FROM staging.stg_identity_map AS m "
        "WHERE m.id_type = 'stripe_customer' AND m.is_primary"
    )


@macro()
def is_payment(evaluator: MacroEvaluator, charge: exp.Expression) -> exp.Expression:
    """TRUE for a charge that counts as a payment (DESIGN.md "paid"): it succeeded and its
    amount is above 0 (staging has already dropped test-mode charges). `charge` is the
    alias of a staging.stg_stripe__charge row (or of a model carrying its status and
    amount_minor).

    `@is_payment(c)` -> `(c.status = 'succeeded' AND c.amount_minor > 0)`.
    """
    a = charge.sql("bigquery")
    return evaluator.parse_one(f"({a}.status = 'succeeded' AND {a}.amount_minor > 0)")
