/* Net and gross revenue retention by month: one row per month and cohort ('all', or the
   signup month of the customer's app user as 'YYYY-MM' (product.dim_users.signup_date),
   'unlinked' for a customer linked to no user). Over the customers paying at the end of
   the base month (1 month and 12 months before) only:
   NRR = their MRR now / their MRR then (expansion counts, new customers never do);
   GRR = sum of MIN(MRR now, MRR then) / their MRR then, so GRR <= 1 (audited): only
   contraction and churn move it. Month-end MRR from intermediate.int_mrr_monthly (scope
   'all'); a customer with no row in a month had MRR 0. 12-month figures are NULL until
   the data holds a base month 12 months back. */
MODEL (
  name revenue.net_revenue_retention,
  kind FULL,
  grain (month_start, cohort),
  partitioned_by month_start,
  clustered_by (cohort),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'net_revenue_retention')]),
  audits (
    unique_combination_of_columns(columns := (month_start, cohort)),
    not_null(columns := (month_start, cohort, base_customers_1m, base_mrr_1m_usd)),
    accepted_range(column := grr_1m, min_v := 0, max_v := 1),
    accepted_range(column := grr_12m, min_v := 0, max_v := 1),
    accepted_range(column := nrr_1m, min_v := 0),
    accepted_range(column := nrr_12m, min_v := 0)
  )
);

WITH signup_cohorts AS (
  /* the signup month of each customer's app user (staging.stg_identity_map, primary link) */
  SELECT
    cu.customer_id,
    FORMAT_DATE('%Y-%m', d.signup_date) AS signup_cohort
  FROM (
    @stripe_customer_users()
  ) AS cu
  INNER JOIN product.dim_users AS d
    ON d.user_id = cu.user_id
), customer_months AS (
  SELECT
    m.customer_id,
    m.month_start,
    m.mrr_usd,
    COALESCE(sc.signup_cohort, 'unlinked') AS signup_cohort
  FROM intermediate.int_mrr_monthly AS m
  LEFT JOIN signup_cohorts AS sc
    ON sc.customer_id = m.customer_id
  WHERE
    m.scope = 'all'
), months AS (
  SELECT DISTINCT
    cm.month_start
  FROM customer_months AS cm
), pairs AS (
  /* each month, each customer paying at the end of the base month, MRR then and now */
  SELECT
    mo.month_start,
    months_back,
    b.customer_id,
    b.signup_cohort,
    b.mrr_usd AS base_mrr_usd,
    COALESCE(n.mrr_usd, 0) AS current_mrr_usd
  FROM months AS mo
  CROSS JOIN UNNEST([1, 12]) AS months_back
  INNER JOIN customer_months AS b
    ON b.month_start = DATE(DATE_SUB(mo.month_start, INTERVAL months_back MONTH)) AND b.mrr_usd > 0
  LEFT JOIN customer_months AS n
    ON n.customer_id = b.customer_id AND n.month_start = mo.month_start
), cohorts AS (
  SELECT
    p.*,
    'all' AS cohort
  FROM pairs AS p
  UNION ALL
  SELECT
    p.*,
    p.signup_cohort AS cohort
  FROM pairs AS p
), sums AS (
  SELECT
    c.month_start,
    c.cohort,
    COUNTIF(c.months_back = 1) AS base_customers_1m,
    @exact_sum(IF(c.months_back = 1, c.base_mrr_usd, 0), 6) AS base_mrr_1m_usd,
    @exact_sum(IF(c.months_back = 1, c.current_mrr_usd, 0), 6) AS retained_mrr_1m_usd,
    @exact_sum(IF(c.months_back = 1, LEAST(c.current_mrr_usd, c.base_mrr_usd), 0), 6) AS gross_retained_mrr_1m_usd,
    COUNTIF(c.months_back = 12) AS base_customers_12m,
    @exact_sum(IF(c.months_back = 12, c.base_mrr_usd, 0), 6) AS base_mrr_12m_usd,
    @exact_sum(IF(c.months_back = 12, c.current_mrr_usd, 0), 6) AS retained_mrr_12m_usd,
    @exact_sum(IF(c.months_back = 12, LEAST(c.current_mrr_usd, c.base_mrr_usd), 0), 6) AS gross_retained_mrr_12m_usd
  FROM cohorts AS c
  GROUP BY
    c.month_start,
    c.cohort
)
SELECT
  s.month_start::DATE AS month_start, /* the month retention is measured at (its month-end MRR) */
  s.cohort::STRING AS cohort, /* 'all', 'YYYY-MM' of the users' signup month, or 'unlinked' */
  s.base_customers_1m::INT64 AS base_customers_1m, /* customers paying at the end of the previous month */
  ROUND(s.base_mrr_1m_usd, 2)::FLOAT64 AS base_mrr_1m_usd, /* their MRR then, USD */
  ROUND(s.retained_mrr_1m_usd, 2)::FLOAT64 AS retained_mrr_1m_usd, /* their MRR now, USD */
  ROUND(SAFE_DIVIDE(s.retained_mrr_1m_usd, s.base_mrr_1m_usd), 4)::FLOAT64 AS nrr_1m, /* MRR now / MRR then, previous month's payers */
  ROUND(SAFE_DIVIDE(s.gross_retained_mrr_1m_usd, s.base_mrr_1m_usd), 4)::FLOAT64 AS grr_1m, /* sum of MIN(now, then) / then, at most 1 */
  s.base_customers_12m::INT64 AS base_customers_12m, /* customers paying 12 months before */
  ROUND(s.base_mrr_12m_usd, 2)::FLOAT64 AS base_mrr_12m_usd, /* their MRR then, USD */
  ROUND(s.retained_mrr_12m_usd, 2)::FLOAT64 AS retained_mrr_12m_usd, /* their MRR now, USD */
  ROUND(SAFE_DIVIDE(s.retained_mrr_12m_usd, s.base_mrr_12m_usd), 4)::FLOAT64 AS nrr_12m, /* over 12 months; NULL without a base 12 months back */
  ROUND(SAFE_DIVIDE(s.gross_retained_mrr_12m_usd, s.base_mrr_12m_usd), 4)::FLOAT64 AS grr_12m /* over 12 months, at most 1 */
FROM sums AS s
