/* Money reconciles on a charge: 0 <= refunded <= gross, and net_usd = gross_usd - refunded_usd to the cent. */
AUDIT (
  name refund_within_amount
);

SELECT
  *
FROM @this_model
WHERE
  amount_refunded_minor < 0
  OR amount_refunded_minor > amount_minor
  OR ABS(net_amount_usd - (amount_usd - amount_refunded_usd)) > 0.001
