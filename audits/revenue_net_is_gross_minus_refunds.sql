/* Net revenue reconciles: net_usd = gross_usd - refunds_usd to the cent on every row, e.g.
   on revenue.revenue_daily. Returns the rows that do not. */
AUDIT (
  name revenue_net_is_gross_minus_refunds
);

SELECT
  *
FROM @this_model
WHERE
  ABS(net_usd - (gross_usd - refunds_usd)) > 0.001
