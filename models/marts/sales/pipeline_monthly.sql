/* Sales pipeline by month: one row per calendar month and opportunity type (new |
   expansion | renewal, and 'all' for every type), gap-free from the first month with an
   opportunity created or closed to the last such month (an open deal's expected close_date
   never extends it). From staging.stg_crm__opportunity; amounts are amount_usd (staging's
   conversion through seeds.fx_rates), never the deal currency.
   - created: opportunities whose DATE(created_at) falls in the month, and their amount.
   - won / lost: closed opportunities (is_closed) whose close_date falls in the month, won
     when is_won, lost otherwise; closed_count = won + lost. A closed deal without a
     close_date belongs to no month (it is neither won/lost in a month nor open).
   - open pipeline at month end: created on or before the month's last day and not closed
     by then (not closed at all, or close_date after the month's last day).
   - win_rate = won / (won + lost) of the month, NULL when nothing closed.
   - avg_sales_cycle_days: mean of DATE_DIFF(close_date, DATE(created_at), DAY) over the
     month's won deals, NULL without any.
   - Reconciliation to revenue: a won deal is linked when its CRM account has a
     stripe_customer_id (staging.stg_crm__account); won_deals_with_customer and
     linked_won_amount_usd count those, won_deals_without_customer the others (no Stripe
     customer, or an account missing from the CRM). won_customers are the distinct linked
     customers of the month's won deals, and won_customers_new_mrr_usd /
     won_customers_expansion_mrr_usd their new / expansion MRR of the same month
     (revenue.customer_mrr_monthly), each customer counted once per row. Deal amounts are
     contract values, MRR is monthly: the two are compared, not equated.
   The 'all' row is the sum of the type rows for every count and amount except
   won_customers and its MRR (a customer who won deals of two types is one customer there);
   audited. Money is rounded to the cent only here, in the final SELECT. */
MODEL (
  name sales.pipeline_monthly,
  kind FULL,
  grain (month_start, opportunity_type),
  partitioned_by month_start,
  clustered_by (opportunity_type),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'pipeline_monthly')]),
  audits (
    unique_combination_of_columns(columns := (month_start, opportunity_type)),
    not_null(columns := (month_start, month_end, opportunity_type, created_count, created_amount_usd, won_count, won_amount_usd, lost_count, lost_amount_usd, closed_count, open_count, open_amount_usd, won_deals_with_customer, linked_won_amount_usd, won_customers, won_customers_new_mrr_usd, won_customers_expansion_mrr_usd, won_deals_without_customer)),
    accepted_values(column := opportunity_type, is_in := ('new', 'expansion', 'renewal', 'all')),
    accepted_range(column := win_rate, min_v := 0, max_v := 1),
    accepted_range(column := avg_sales_cycle_days, min_v := 0),
    sales_pipeline_all_row_is_sum_of_types,
    sales_pipeline_counts_are_consistent,
    sales_pipeline_months_are_gapless
  )
);

WITH opportunities AS (
  SELECT
    o.opportunity_id,
    o.opportunity_type,
    o.amount_usd,
    DATE(o.created_at) AS created_date,
    DATE(DATE_TRUNC(DATE(o.created_at), MONTH)) AS created_month,
    o.close_date,
    o.is_closed,
    IF(o.is_closed, DATE(DATE_TRUNC(o.close_date, MONTH)), NULL) AS closed_month,
    o.is_closed AND o.is_won AS is_won,
    o.is_closed AND NOT o.is_won AS is_lost,
    a.stripe_customer_id
  FROM staging.stg_crm__opportunity AS o
  LEFT JOIN staging.stg_crm__account AS a
    ON a.account_id = o.account_id
), typed AS (
  /* every opportunity counts in its own type's row and in the 'all' row */
  SELECT
    o.*,
    type_bucket
  FROM opportunities AS o
  CROSS JOIN UNNEST([o.opportunity_type, 'all']) AS type_bucket
), activity_months AS (
  SELECT
    o.created_month AS month_start
  FROM opportunities AS o
  UNION ALL
  SELECT
    o.closed_month AS month_start
  FROM opportunities AS o
  WHERE
    o.closed_month IS NOT NULL
), months AS (
  SELECT
    month_start,
    DATE(DATE_SUB(DATE(DATE_ADD(month_start, INTERVAL 1 MONTH)), INTERVAL 1 DAY)) AS month_end
  FROM (
    SELECT
      MIN(am.month_start) AS first_month,
      MAX(am.month_start) AS last_month
    FROM activity_months AS am
  ) AS b
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(b.first_month, b.last_month, INTERVAL 1 MONTH)) AS month_start
), spine AS (
  SELECT
    m.month_start,
    m.month_end,
    opportunity_type
  FROM months AS m
  CROSS JOIN UNNEST(['new', 'expansion', 'renewal', 'all']) AS opportunity_type
), created AS (
  SELECT
    t.type_bucket,
    t.created_month AS month_start,
    COUNT(*) AS created_count,
    @exact_sum(t.amount_usd, 6) AS created_amount_usd
  FROM typed AS t
  GROUP BY
    t.type_bucket,
    t.created_month
), closed AS (
  SELECT
    t.type_bucket,
    t.closed_month AS month_start,
    COUNT(*) AS closed_count,
    COUNTIF(t.is_won) AS won_count,
    @exact_sum(IF(t.is_won, t.amount_usd, 0), 6) AS won_amount_usd,
    COUNTIF(t.is_lost) AS lost_count,
    @exact_sum(IF(t.is_lost, t.amount_usd, 0), 6) AS lost_amount_usd,
    AVG(IF(t.is_won, DATE_DIFF(t.close_date, t.created_date, DAY), NULL)) AS avg_sales_cycle_days,
    COUNTIF(t.is_won AND t.stripe_customer_id IS NOT NULL) AS won_deals_with_customer,
    @exact_sum(IF(t.is_won AND t.stripe_customer_id IS NOT NULL, t.amount_usd, 0), 6) AS linked_won_amount_usd,
    COUNTIF(t.is_won AND t.stripe_customer_id IS NULL) AS won_deals_without_customer
  FROM typed AS t
  WHERE
    t.closed_month IS NOT NULL
  GROUP BY
    t.type_bucket,
    t.closed_month
), open_pipeline AS (
  SELECT
    t.type_bucket,
    m.month_start,
    COUNT(*) AS open_count,
    @exact_sum(t.amount_usd, 6) AS open_amount_usd
  FROM months AS m
  INNER JOIN typed AS t
    ON t.created_date <= m.month_end AND (NOT t.is_closed OR t.close_date > m.month_end)
  GROUP BY
    t.type_bucket,
    m.month_start
), won_customers AS (
  SELECT DISTINCT
    t.type_bucket,
    t.closed_month AS month_start,
    t.stripe_customer_id AS customer_id
  FROM typed AS t
  WHERE
    t.is_won AND t.closed_month IS NOT NULL AND t.stripe_customer_id IS NOT NULL
), reconciled AS (
  SELECT
    w.type_bucket,
    w.month_start,
    COUNT(*) AS won_customers,
    @exact_sum(COALESCE(c.new_mrr_usd, 0), 6) AS won_customers_new_mrr_usd,
    @exact_sum(COALESCE(c.expansion_mrr_usd, 0), 6) AS won_customers_expansion_mrr_usd
  FROM won_customers AS w
  LEFT JOIN revenue.customer_mrr_monthly AS c
    ON c.customer_id = w.customer_id AND c.month_start = w.month_start
  GROUP BY
    w.type_bucket,
    w.month_start
)
SELECT
  s.month_start::DATE AS month_start, /* first day of the calendar month */
  s.month_end::DATE AS month_end, /* its last day: open pipeline is read at its end */
  s.opportunity_type::STRING AS opportunity_type, /* new | expansion | renewal | all */
  COALESCE(cr.created_count, 0)::INT64 AS created_count, /* opportunities created in the month */
  ROUND(COALESCE(cr.created_amount_usd, 0), 2)::FLOAT64 AS created_amount_usd, /* their pipeline amount, USD */
  COALESCE(cl.won_count, 0)::INT64 AS won_count, /* opportunities closed won in the month (close_date) */
  ROUND(COALESCE(cl.won_amount_usd, 0), 2)::FLOAT64 AS won_amount_usd, /* their amount, USD */
  COALESCE(cl.lost_count, 0)::INT64 AS lost_count, /* opportunities closed lost in the month (close_date) */
  ROUND(COALESCE(cl.lost_amount_usd, 0), 2)::FLOAT64 AS lost_amount_usd, /* their amount, USD */
  COALESCE(cl.closed_count, 0)::INT64 AS closed_count, /* opportunities closed in the month = won + lost */
  ROUND(SAFE_DIVIDE(cl.won_count, cl.won_count + cl.lost_count), 4)::FLOAT64 AS win_rate, /* won / (won + lost) in the month; NULL when none closed */
  ROUND(cl.avg_sales_cycle_days, 2)::FLOAT64 AS avg_sales_cycle_days, /* mean days from creation to close of the month's won deals; NULL without any */
  COALESCE(op.open_count, 0)::INT64 AS open_count, /* open at month end: created by then, not closed by then */
  ROUND(COALESCE(op.open_amount_usd, 0), 2)::FLOAT64 AS open_amount_usd, /* their amount, USD */
  COALESCE(cl.won_deals_with_customer, 0)::INT64 AS won_deals_with_customer, /* won deals of the month whose account has a Stripe customer */
  ROUND(COALESCE(cl.linked_won_amount_usd, 0), 2)::FLOAT64 AS linked_won_amount_usd, /* their amount, USD */
  COALESCE(rc.won_customers, 0)::INT64 AS won_customers, /* distinct Stripe customers of those deals */
  ROUND(COALESCE(rc.won_customers_new_mrr_usd, 0), 2)::FLOAT64 AS won_customers_new_mrr_usd, /* their new MRR in the same month (revenue.customer_mrr_monthly), USD */
  ROUND(COALESCE(rc.won_customers_expansion_mrr_usd, 0), 2)::FLOAT64 AS won_customers_expansion_mrr_usd, /* their expansion MRR in the same month, USD */
  COALESCE(cl.won_deals_without_customer, 0)::INT64 AS won_deals_without_customer /* won deals of the month whose account has no Stripe customer */
FROM spine AS s
LEFT JOIN created AS cr
  ON cr.type_bucket = s.opportunity_type AND cr.month_start = s.month_start
LEFT JOIN closed AS cl
  ON cl.type_bucket = s.opportunity_type AND cl.month_start = s.month_start
LEFT JOIN open_pipeline AS op
  ON op.type_bucket = s.opportunity_type AND op.month_start = s.month_start
LEFT JOIN reconciled AS rc
  ON rc.type_bucket = s.opportunity_type AND rc.month_start = s.month_start
