/* Money reconciles on a subscription event: mrr_change_usd = mrr_usd_after - mrr_usd_before, to the cent. */
AUDIT (
  name subscription_events_mrr_change_is_after_minus_before
);

SELECT
  *
FROM @this_model
WHERE
  ABS(mrr_change_usd - (mrr_usd_after - mrr_usd_before)) > 0.001
