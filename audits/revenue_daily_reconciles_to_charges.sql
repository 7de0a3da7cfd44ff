/* revenue.revenue_daily adds up to revenue.fct_revenue: over all days, gross, refunds,
   succeeded and failed charges equal the totals of the charges themselves (to the cent).
   Returns a row when they differ. */
AUDIT (
  name revenue_daily_reconciles_to_charges
);

SELECT
  *
FROM (
  SELECT
    COALESCE(SUM(d.gross_usd), 0) AS daily_gross_usd,
    COALESCE(SUM(d.refunds_usd), 0) AS daily_refunds_usd,
    COALESCE(SUM(d.successful_charges), 0) AS daily_successful_charges,
    COALESCE(SUM(d.failed_payments), 0) AS daily_failed_payments
  FROM @this_model AS d
) AS d
CROSS JOIN (
  SELECT
    COALESCE(SUM(IF(r.status = 'succeeded', r.amount_usd, 0)), 0) AS gross_usd,
    COALESCE(SUM(IF(r.status = 'succeeded', r.amount_refunded_usd, 0)), 0) AS refunds_usd,
    COUNTIF(r.status = 'succeeded') AS successful_charges,
    COUNTIF(r.status = 'failed') AS failed_payments
  FROM revenue.fct_revenue AS r
) AS c
WHERE
  ABS(d.daily_gross_usd - c.gross_usd) > 0.005
  OR ABS(d.daily_refunds_usd - c.refunds_usd) > 0.005
  OR d.daily_successful_charges <> c.successful_charges
  OR d.daily_failed_payments <> c.failed_payments
