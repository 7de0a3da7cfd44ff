/* Lifetime revenue reconciles on customers.dim_customers: lifetime_net_usd =
   lifetime_gross_usd - lifetime_refunded_usd to the cent, and refunds never exceed the gross.
   Returns the rows that do not. */
AUDIT (
  name customers_lifetime_net_is_gross_minus_refunded
);

SELECT
  *
FROM @this_model
WHERE
  ABS(lifetime_net_usd - (lifetime_gross_usd - lifetime_refunded_usd)) > 0.001
  OR lifetime_refunded_usd > lifetime_gross_usd + 0.001
