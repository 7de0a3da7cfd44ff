/* MRR movements by month: one row per scope ('all', or a product id) and calendar month,
   gap-free from the scope's first month with MRR to the month of the last day of data.
   Starting MRR is the previous month's ending MRR; ending = starting + new + expansion +
   reactivation - contraction - churned, to the cent (audited on every row, as is starting
   = the previous row's ending). MRR is read at month end (the last day of data for the
   running month: is_complete_month false). Sums over intermediate.int_mrr_monthly. */
MODEL (
  name revenue.mrr_movements_monthly,
  kind FULL,
  grain (scope, month_start),
  partitioned_by month_start,
  clustered_by (scope),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'mrr_movements_monthly')]),
  audits (
    unique_combination_of_columns(columns := (scope, month_start)),
    not_null(columns := (scope, month_start, month_end, starting_mrr_usd, new_mrr_usd, expansion_mrr_usd, contraction_mrr_usd, churned_mrr_usd, reactivation_mrr_usd, ending_mrr_usd, arr_usd, paying_customers, is_complete_month)),
    accepted_range(column := ending_mrr_usd, min_v := 0),
    accepted_range(column := starting_mrr_usd, min_v := 0),
    revenue_mrr_movements_reconcile
  )
);

WITH bounds AS (
  SELECT
    MAX(m.month_end) AS as_of_date,
    MAX(m.month_start) AS last_month
  FROM intermediate.int_mrr_monthly AS m
), scopes AS (
  SELECT
    m.scope,
    MIN(m.month_start) AS first_month
  FROM intermediate.int_mrr_monthly AS m
  GROUP BY
    m.scope
), spine AS (
  SELECT
    s.scope,
    month_start,
    LEAST(DATE_SUB(DATE(DATE_ADD(month_start, INTERVAL 1 MONTH)), INTERVAL 1 DAY), b.as_of_date) AS month_end,
    DATE_SUB(DATE(DATE_ADD(month_start, INTERVAL 1 MONTH)), INTERVAL 1 DAY) <= b.as_of_date AS is_complete_month
  FROM scopes AS s
  CROSS JOIN bounds AS b
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(s.first_month, b.last_month, INTERVAL 1 MONTH)) AS month_start
), sums AS (
  SELECT
    m.scope,
    m.month_start,
    @exact_sum(m.previous_mrr_usd, 6) AS starting_mrr_usd,
    @exact_sum(m.new_mrr_usd, 6) AS new_mrr_usd,
    @exact_sum(m.expansion_mrr_usd, 6) AS expansion_mrr_usd,
    @exact_sum(m.contraction_mrr_usd, 6) AS contraction_mrr_usd,
    @exact_sum(m.churned_mrr_usd, 6) AS churned_mrr_usd,
    @exact_sum(m.reactivation_mrr_usd, 6) AS reactivation_mrr_usd,
    @exact_sum(m.mrr_usd, 6) AS ending_mrr_usd,
    COUNTIF(m.mrr_usd > 0) AS paying_customers,
    COUNTIF(m.previous_mrr_usd > 0) AS starting_customers,
    COUNTIF(m.movement = 'new') AS new_customers,
    COUNTIF(m.movement = 'reactivation') AS reactivated_customers,
    COUNTIF(m.movement = 'churn') AS churned_customers,
    COUNTIF(m.movement = 'expansion') AS expanded_customers,
    COUNTIF(m.movement = 'contraction') AS contracted_customers
  FROM intermediate.int_mrr_monthly AS m
  GROUP BY
    m.scope,
    m.month_start
), products AS (
  SELECT
    p.product_id,
    p.product_name
  FROM staging.stg_stripe__product AS p
)
SELECT
  sp.scope::STRING AS scope, /* 'all', or a Stripe product id */
  IF(sp.scope = 'all', 'all', p.product_name)::STRING AS product_name, /* product name, 'all' for every product */
  sp.month_start::DATE AS month_start, /* first day of the month */
  sp.month_end::DATE AS month_end, /* the day MRR is read on: the month's last day, or the last day of data */
  sp.is_complete_month::BOOL AS is_complete_month, /* FALSE for the month still running */
  ROUND(COALESCE(s.starting_mrr_usd, 0), 2)::FLOAT64 AS starting_mrr_usd, /* the previous month's ending MRR, USD */
  ROUND(COALESCE(s.new_mrr_usd, 0), 2)::FLOAT64 AS new_mrr_usd, /* MRR of new customers */
  ROUND(COALESCE(s.expansion_mrr_usd, 0), 2)::FLOAT64 AS expansion_mrr_usd, /* increases of paying customers */
  ROUND(COALESCE(s.contraction_mrr_usd, 0), 2)::FLOAT64 AS contraction_mrr_usd, /* decreases of customers still paying */
  ROUND(COALESCE(s.churned_mrr_usd, 0), 2)::FLOAT64 AS churned_mrr_usd, /* MRR of customers who stopped paying */
  ROUND(COALESCE(s.reactivation_mrr_usd, 0), 2)::FLOAT64 AS reactivation_mrr_usd, /* MRR of customers back after a month at 0 */
  ROUND(COALESCE(s.ending_mrr_usd, 0), 2)::FLOAT64 AS ending_mrr_usd, /* MRR at month_end = starting + new + expansion + reactivation - contraction - churned */
  ROUND(12 * COALESCE(s.ending_mrr_usd, 0), 2)::FLOAT64 AS arr_usd, /* 12 x ending MRR */
  COALESCE(s.paying_customers, 0)::INT64 AS paying_customers, /* customers with MRR at month_end */
  COALESCE(s.starting_customers, 0)::INT64 AS starting_customers, /* customers with MRR at the previous month's end */
  COALESCE(s.new_customers, 0)::INT64 AS new_customers, /* customers paying for the first time */
  COALESCE(s.expanded_customers, 0)::INT64 AS expanded_customers, /* customers whose MRR rose */
  COALESCE(s.contracted_customers, 0)::INT64 AS contracted_customers, /* customers whose MRR fell, still paying */
  COALESCE(s.churned_customers, 0)::INT64 AS churned_customers, /* customers who stopped paying */
  COALESCE(s.reactivated_customers, 0)::INT64 AS reactivated_customers, /* customers back after a month at 0 */
  ROUND(SAFE_DIVIDE(s.ending_mrr_usd, s.paying_customers), 2)::FLOAT64 AS arpa_usd, /* ending MRR / paying customers */
  ROUND(
    SAFE_DIVIDE(s.new_mrr_usd + s.expansion_mrr_usd + s.reactivation_mrr_usd, s.contraction_mrr_usd + s.churned_mrr_usd),
    4
  )::FLOAT64 AS revenue_quick_ratio /* (new + expansion + reactivation) / (contraction + churned); NULL when nothing was lost */
FROM spine AS sp
LEFT JOIN sums AS s
  ON s.scope = sp.scope AND s.month_start = sp.month_start
LEFT JOIN products AS p
  ON p.product_id = sp.scope
