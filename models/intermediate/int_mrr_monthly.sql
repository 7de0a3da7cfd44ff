/* Month-end MRR and its movement per Stripe customer and scope, the building block of
   revenue.customer_mrr_monthly and revenue.mrr_movements_monthly. Scope is a product id,
   or 'all' for the customer's MRR over every product. A month's MRR is the customer's MRR
   on its last day (revenue.fct_mrr_daily), or on the last day of the data for the month
   still running. Rows run from the customer's first month with MRR to the month after
   they churn (MRR 0), and again from a reactivation: months with no MRR now or before are
   left out. Movement (DESIGN.md): new (first MRR ever), reactivation (MRR again after a
   month at 0), expansion, contraction, churn (previous MRR lost), unchanged. On every row
   mrr - previous_mrr = new + expansion + reactivation - contraction - churned. */
MODEL (
  name intermediate.int_mrr_monthly,
  kind FULL,
  grain (scope, customer_id, month_start),
  partitioned_by month_start,
  clustered_by (scope, customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'intermediate'), ('model', 'int_mrr_monthly')]),
  audits (
    unique_combination_of_columns(columns := (scope, customer_id, month_start)),
    not_null(columns := (scope, customer_id, month_start, month_end, mrr_usd, previous_mrr_usd, movement)),
    accepted_values(column := movement, is_in := ('new', 'expansion', 'contraction', 'churn', 'reactivation', 'unchanged'))
  )
);

WITH bounds AS (
  SELECT
    MIN(d.mrr_date) AS first_date,
    MAX(d.mrr_date) AS as_of_date
  FROM revenue.fct_mrr_daily AS d
), months AS (
  /* every calendar month of the data, with the day its MRR is read on */
  SELECT
    m AS month_start,
    LEAST(DATE_SUB(DATE(DATE_ADD(m, INTERVAL 1 MONTH)), INTERVAL 1 DAY), b.as_of_date) AS month_end
  FROM bounds AS b
  CROSS JOIN UNNEST(
    GENERATE_DATE_ARRAY(DATE(DATE_TRUNC(b.first_date, MONTH)), DATE(DATE_TRUNC(b.as_of_date, MONTH)), INTERVAL 1 MONTH)
  ) AS m
), scoped AS (
  SELECT
    d.mrr_date,
    d.customer_id,
    d.product_id AS scope,
    d.mrr_usd
  FROM revenue.fct_mrr_daily AS d
  UNION ALL
  SELECT
    d.mrr_date,
    d.customer_id,
    'all' AS scope,
    d.mrr_usd
  FROM revenue.fct_mrr_daily AS d
), month_end_mrr AS (
  SELECT
    m.month_start,
    s.scope,
    s.customer_id,
    ROUND(@exact_sum(s.mrr_usd, 6), 2) AS mrr_usd
  FROM months AS m
  INNER JOIN scoped AS s
    ON s.mrr_date = m.month_end
  GROUP BY
    m.month_start,
    s.scope,
    s.customer_id
), firsts AS (
  SELECT
    e.scope,
    e.customer_id,
    MIN(e.month_start) AS first_month
  FROM month_end_mrr AS e
  GROUP BY
    e.scope,
    e.customer_id
), dense AS (
  /* every month from the customer's first month with MRR, with 0 where they had none */
  SELECT
    f.scope,
    f.customer_id,
    m.month_start,
    m.month_end,
    COALESCE(e.mrr_usd, 0) AS mrr_usd
  FROM firsts AS f
  INNER JOIN months AS m
    ON m.month_start >= f.first_month
  LEFT JOIN month_end_mrr AS e
    ON e.scope = f.scope AND e.customer_id = f.customer_id AND e.month_start = m.month_start
), with_previous AS (
  SELECT
    d.*,
    COALESCE(LAG(d.mrr_usd) OVER (PARTITION BY d.scope, d.customer_id ORDER BY d.month_start), 0) AS previous_mrr_usd,
    d.month_start = MIN(d.month_start) OVER (PARTITION BY d.scope, d.customer_id) AS is_first_month
  FROM dense AS d
)
SELECT
  w.scope::STRING AS scope, /* product id, or 'all' */
  w.customer_id::STRING AS customer_id, /* Stripe customer id */
  w.month_start::DATE AS month_start, /* first day of the month */
  w.month_end::DATE AS month_end, /* the day MRR is read on: the month's last day, or the last day of data */
  w.mrr_usd::FLOAT64 AS mrr_usd, /* MRR at month_end, USD */
  w.previous_mrr_usd::FLOAT64 AS previous_mrr_usd, /* MRR at the previous month's end, USD */
  CASE
    WHEN w.is_first_month
    THEN 'new'
    WHEN w.previous_mrr_usd = 0
    THEN 'reactivation'
    WHEN w.mrr_usd = 0
    THEN 'churn'
    WHEN w.mrr_usd > w.previous_mrr_usd
    THEN 'expansion'
    WHEN w.mrr_usd < w.previous_mrr_usd
    THEN 'contraction'
    ELSE 'unchanged'
  END::STRING AS movement, /* new | expansion | contraction | churn | reactivation | unchanged */
  IF(w.is_first_month, w.mrr_usd, 0)::FLOAT64 AS new_mrr_usd, /* MRR of a new customer */
  IF(NOT w.is_first_month AND w.previous_mrr_usd > 0 AND w.mrr_usd > w.previous_mrr_usd, w.mrr_usd - w.previous_mrr_usd, 0)::FLOAT64 AS expansion_mrr_usd, /* increase of a paying customer */
  IF(w.previous_mrr_usd > 0 AND w.mrr_usd > 0 AND w.mrr_usd < w.previous_mrr_usd, w.previous_mrr_usd - w.mrr_usd, 0)::FLOAT64 AS contraction_mrr_usd, /* decrease of a customer still paying */
  IF(w.previous_mrr_usd > 0 AND w.mrr_usd = 0, w.previous_mrr_usd, 0)::FLOAT64 AS churned_mrr_usd, /* MRR lost by a customer who stopped paying */
  IF(NOT w.is_first_month AND w.previous_mrr_usd = 0, w.mrr_usd, 0)::FLOAT64 AS reactivation_mrr_usd /* MRR of a customer back after a month at 0 */
FROM with_previous AS w
WHERE
  w.mrr_usd > 0 OR w.previous_mrr_usd > 0
