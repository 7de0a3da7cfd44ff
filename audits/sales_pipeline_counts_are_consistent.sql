/* sales.pipeline_monthly: on every row the counts hang together. Counts are never
   negative; won + lost = closed; won deals split into with + without a Stripe customer;
   no more distinct won customers than linked won deals; linked won amount is part of the
   won amount (to the cent); win_rate is NULL exactly when nothing closed and equals
   won / closed otherwise (to its 4 decimals); the sales cycle is NULL exactly when
   nothing was won. Returns the offending rows. */
AUDIT (
  name sales_pipeline_counts_are_consistent
);

SELECT
  *
FROM @this_model AS p
WHERE
  LEAST(p.created_count, p.won_count, p.lost_count, p.closed_count, p.open_count, p.won_deals_with_customer, p.won_customers, p.won_deals_without_customer) < 0
  OR p.won_count + p.lost_count <> p.closed_count
  OR p.won_deals_with_customer + p.won_deals_without_customer <> p.won_count
  OR p.won_customers > p.won_deals_with_customer
  OR (p.won_deals_with_customer = 0 AND p.linked_won_amount_usd <> 0)
  OR (p.won_count = 0 AND p.won_amount_usd <> 0)
  OR (p.lost_count = 0 AND p.lost_amount_usd <> 0)
  OR (p.open_count = 0 AND p.open_amount_usd <> 0)
  OR (p.closed_count = 0) <> (p.win_rate IS NULL)
  OR ABS(p.win_rate - SAFE_DIVIDE(p.won_count, p.closed_count)) > 0.00005
  OR (p.won_count = 0) <> (p.avg_sales_cycle_days IS NULL)
