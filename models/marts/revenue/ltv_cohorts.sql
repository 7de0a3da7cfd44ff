/* Lifetime value by paying cohort: one row per monthly paying cohort (the month of a
   customer's first successful live charge with amount > 0) and months since that first
   payment (0 = the cohort's own month), up to the month of the last charge or MRR day in
   the data. Cumulative net revenue (charges succeeded, minus refunds, USD, on the charge's
   month) per cohort customer, and customers still paying (MRR > 0 at that month's end,
   intermediate.int_mrr_monthly scope 'all'). */
MODEL (
  name revenue.ltv_cohorts,
  kind FULL,
  grain (cohort_month, months_since_first_payment),
  partitioned_by cohort_month,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'ltv_cohorts')]),
  audits (
    unique_combination_of_columns(columns := (cohort_month, months_since_first_payment)),
    not_null(columns := (cohort_month, months_since_first_payment, cohort_customers, cumulative_net_revenue_usd, customers_paying)),
    accepted_range(column := months_since_first_payment, min_v := 0),
    revenue_ltv_customers_within_cohort
  )
);

WITH charges AS (
  SELECT
    c.customer_id,
    c.status,
    DATE(DATE_TRUNC(c.charge_date, MONTH)) AS charge_month,
    c.net_amount_usd,
    c.amount_minor,
    c.created_at,
    c.charge_id
  FROM staging.stg_stripe__charge AS c
  WHERE
    c.status = 'succeeded'
), cohort_of AS (
  SELECT
    c.customer_id,
    c.charge_month AS cohort_month
  FROM charges AS c
  WHERE
    @is_payment(c)
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY c.customer_id ORDER BY c.created_at, c.charge_id) = 1
), last_month AS (
  SELECT
    GREATEST(
      (SELECT MAX(c.charge_month) FROM charges AS c),
      COALESCE((SELECT MAX(m.month_start) FROM intermediate.int_mrr_monthly AS m), DATE '1970-01-01')
    ) AS last_month
), sizes AS (
  SELECT
    co.cohort_month,
    COUNT(*) AS cohort_customers
  FROM cohort_of AS co
  GROUP BY
    co.cohort_month
), grid AS (
  SELECT
    s.cohort_month,
    s.cohort_customers,
    DATE_DIFF(m, s.cohort_month, MONTH) AS months_since_first_payment,
    m AS month_start
  FROM sizes AS s
  CROSS JOIN last_month AS lm
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(s.cohort_month, lm.last_month, INTERVAL 1 MONTH)) AS m
), monthly_revenue AS (
  SELECT
    co.cohort_month,
    c.charge_month,
    @exact_sum(c.net_amount_usd, 6) AS net_revenue_usd
  FROM charges AS c
  INNER JOIN cohort_of AS co
    ON co.customer_id = c.customer_id
  GROUP BY
    co.cohort_month,
    c.charge_month
), paying AS (
  SELECT
    co.cohort_month,
    m.month_start,
    COUNTIF(m.mrr_usd > 0) AS customers_paying
  FROM intermediate.int_mrr_monthly AS m
  INNER JOIN cohort_of AS co
    ON co.customer_id = m.customer_id
  WHERE
    m.scope = 'all'
  GROUP BY
    co.cohort_month,
    m.month_start
), cumulative AS (
  SELECT
    g.*,
    COALESCE(r.net_revenue_usd, 0) AS net_revenue_usd,
    /* a running total in whole micro-dollars: exact, so the same on every engine (@exact_sum) */
    SUM(CAST(ROUND(COALESCE(r.net_revenue_usd, 0) * 1000000) AS INT64)) OVER (
      PARTITION BY g.cohort_month
      ORDER BY g.month_start
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) / 1000000 AS cumulative_net_revenue_usd,
    COALESCE(p.customers_paying, 0) AS customers_paying
  FROM grid AS g
  LEFT JOIN monthly_revenue AS r
    ON r.cohort_month = g.cohort_month AND r.charge_month = g.month_start
  LEFT JOIN paying AS p
    ON p.cohort_month = g.cohort_month AND p.month_start = g.month_start
)
SELECT
  c.cohort_month::DATE AS cohort_month, /* month of the cohort's first successful payment */
  c.months_since_first_payment::INT64 AS months_since_first_payment, /* 0 = the cohort's own month */
  c.month_start::DATE AS month_start, /* the calendar month of this row */
  c.cohort_customers::INT64 AS cohort_customers, /* customers whose first payment was in cohort_month */
  ROUND(c.net_revenue_usd, 2)::FLOAT64 AS net_revenue_usd, /* the cohort's net revenue in this month, USD */
  ROUND(c.cumulative_net_revenue_usd, 2)::FLOAT64 AS cumulative_net_revenue_usd, /* ... up to and including this month */
  ROUND(c.cumulative_net_revenue_usd / c.cohort_customers, 2)::FLOAT64 AS ltv_per_customer_usd, /* cumulative net revenue per cohort customer */
  c.customers_paying::INT64 AS customers_paying, /* cohort customers with MRR at this month's end */
  ROUND(c.customers_paying / c.cohort_customers, 4)::FLOAT64 AS paying_share /* customers_paying / cohort_customers */
FROM cumulative AS c
