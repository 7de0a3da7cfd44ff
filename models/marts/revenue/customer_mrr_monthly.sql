/* Customer MRR by month: one row per Stripe customer and month, from the first month with
   MRR to the month after churn (and again from a reactivation), with month-end MRR over
   all products, the previous month's, the movement category and each movement amount
   (intermediate.int_mrr_monthly, scope 'all'). On every row
   mrr - previous_mrr = new + expansion + reactivation - contraction - churned. */
MODEL (
  name revenue.customer_mrr_monthly,
  kind FULL,
  grain (customer_id, month_start),
  partitioned_by month_start,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'customer_mrr_monthly')]),
  audits (
    unique_combination_of_columns(columns := (customer_id, month_start)),
    not_null(columns := (customer_id, month_start, mrr_usd, previous_mrr_usd, movement)),
    accepted_range(column := mrr_usd, min_v := 0),
    revenue_movement_identity_per_row
  )
);

SELECT
  m.customer_id::STRING AS customer_id, /* Stripe customer id */
  u.user_id::STRING AS user_id, /* app user of the customer, NULL when unlinked */
  m.month_start::DATE AS month_start, /* first day of the month */
  m.month_end::DATE AS month_end, /* the day MRR is read on: the month's last day, or the last day of data */
  ROUND(m.mrr_usd, 2)::FLOAT64 AS mrr_usd, /* MRR at month_end over all products, USD */
  ROUND(m.previous_mrr_usd, 2)::FLOAT64 AS previous_mrr_usd, /* MRR at the previous month's end, USD */
  m.movement::STRING AS movement, /* new | expansion | contraction | churn | reactivation | unchanged */
  ROUND(m.new_mrr_usd, 2)::FLOAT64 AS new_mrr_usd, /* MRR of a new customer */
  ROUND(m.expansion_mrr_usd, 2)::FLOAT64 AS expansion_mrr_usd, /* increase of a paying customer */
  ROUND(m.contraction_mrr_usd, 2)::FLOAT64 AS contraction_mrr_usd, /* decrease of a customer still paying */
  ROUND(m.churned_mrr_usd, 2)::FLOAT64 AS churned_mrr_usd, /* MRR lost by a customer who stopped paying */
  ROUND(m.reactivation_mrr_usd, 2)::FLOAT64 AS reactivation_mrr_usd /* MRR of a customer back after a month at 0 */
FROM intermediate.int_mrr_monthly AS m
LEFT JOIN staging.stg_identity_map AS u
  ON u.id_type = 'stripe_customer' AND u.is_primary AND u.source_id = m.customer_id
WHERE
  m.scope = 'all'
