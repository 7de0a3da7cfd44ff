/* A customer's status agrees with its money on customers.dim_customers: active carries MRR,
   churned and never_paid carry none, churned has paid before and never_paid has not.
   Returns the rows that do not. */
AUDIT (
  name customers_status_is_consistent
);

SELECT
  *
FROM @this_model
WHERE
  (status = 'active' AND NOT current_mrr_usd > 0)
  OR (status IN ('churned', 'never_paid') AND current_mrr_usd <> 0)
  OR (status = 'churned' AND first_paid_at IS NULL)
  OR (status = 'never_paid' AND first_paid_at IS NOT NULL)
