/* Cash revenue per UTC day, from revenue.fct_revenue: one row per calendar day, gap-free from
   the first to the last day with any staged charge (of any status); a day without charges
   has zeros. Revenue is succeeded charges only: gross_usd is what they charged,
   refunds_usd what has been refunded of them and net_usd = gross_usd - refunds_usd. Raw
   Stripe charges carry the amount refunded so far but no refund timestamp, so a refund is
   booked on the day of the charge it refunds (restating that day when it happens), not on
   the day the money went back. Failed charges are counted apart (failed_payments,
   failed_payment_usd: money attempted and not collected, retries counted each time);
   pending charges are counted nowhere. Test-mode charges are removed in staging. */
MODEL (
  name revenue.revenue_daily,
  kind FULL,
  grain revenue_date,
  partitioned_by revenue_date,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'revenue_daily')]),
  audits (
    unique_values(columns := (revenue_date)),
    not_null(columns := (revenue_date, gross_usd, refunds_usd, net_usd, successful_charges, failed_payment_usd, failed_payments, paying_customers)),
    accepted_range(column := gross_usd, min_v := 0),
    accepted_range(column := refunds_usd, min_v := 0),
    accepted_range(column := net_usd, min_v := 0),
    accepted_range(column := failed_payment_usd, min_v := 0),
    accepted_range(column := refund_rate, min_v := 0, max_v := 1),
    gapless_day_spine(column := revenue_date),
    revenue_net_is_gross_minus_refunds,
    revenue_daily_reconciles_to_charges
  )
);

WITH bounds AS (
  SELECT
    MIN(r.charge_date) AS first_day,
    MAX(r.charge_date) AS last_day
  FROM revenue.fct_revenue AS r
), spine AS (
  /* every calendar day from the first to the last charge day (none when there are no charges) */
  SELECT
    day AS revenue_date
  FROM bounds AS b
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(b.first_day, b.last_day)) AS day
), daily AS (
  SELECT
    r.charge_date AS revenue_date,
    @exact_sum(IF(r.status = 'succeeded', r.amount_usd, 0), 6) AS gross_usd,
    @exact_sum(IF(r.status = 'succeeded', r.amount_refunded_usd, 0), 6) AS refunds_usd,
    COUNTIF(r.status = 'succeeded') AS successful_charges,
    @exact_sum(IF(r.status = 'failed', r.amount_usd, 0), 6) AS failed_payment_usd,
    COUNTIF(r.status = 'failed') AS failed_payments,
    COUNT(DISTINCT IF(@is_payment(r), r.customer_id, NULL)) AS paying_customers
  FROM revenue.fct_revenue AS r
  GROUP BY
    r.charge_date
)
SELECT
  s.revenue_date::DATE AS revenue_date, /* UTC calendar day of the charges */
  ROUND(COALESCE(d.gross_usd, 0), 2)::FLOAT64 AS gross_usd, /* gross amount of the day's succeeded charges, USD */
  ROUND(COALESCE(d.refunds_usd, 0), 2)::FLOAT64 AS refunds_usd, /* refunded so far of the day's succeeded charges, USD (booked on the charge's day: raw has no refund time) */
  ROUND(COALESCE(d.gross_usd, 0) - COALESCE(d.refunds_usd, 0), 2)::FLOAT64 AS net_usd, /* gross_usd - refunds_usd */
  COALESCE(d.successful_charges, 0)::INT64 AS successful_charges, /* succeeded charges (any amount, refunded or not) */
  ROUND(COALESCE(d.failed_payment_usd, 0), 2)::FLOAT64 AS failed_payment_usd, /* gross amount of the day's failed charges, USD (each retry counts) */
  COALESCE(d.failed_payments, 0)::INT64 AS failed_payments, /* failed charges (each retry counts) */
  COALESCE(d.paying_customers, 0)::INT64 AS paying_customers, /* distinct customers with a succeeded charge > 0 this day */
  ROUND(d.refunds_usd / NULLIF(d.gross_usd, 0), 4)::FLOAT64 AS refund_rate /* refunds_usd / gross_usd; NULL when gross_usd = 0 */
FROM spine AS s
LEFT JOIN daily AS d
  ON d.revenue_date = s.revenue_date
