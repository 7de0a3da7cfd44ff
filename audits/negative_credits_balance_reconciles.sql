/* product.users_with_negative_credits: every row is below zero, the day-by-day replay of
   the balance ends where product.dim_users does, and the dates are in order
   (first negative <= negative since <= as of). Returns the offending users. */
AUDIT (
  name negative_credits_balance_reconciles
);

SELECT
  *
FROM @this_model
WHERE
  credits_balance >= 0
  OR ABS(credits_balance - (credits_earned - credits_spent)) > 0.005
  OR ABS(negative_amount + credits_balance) > 0.005
  OR replayed_balance IS NULL
  OR ABS(replayed_balance - credits_balance) > 0.005
  OR first_negative_date > negative_since_date
  OR negative_since_date > as_of_date
  OR negative_since_date > last_active_date
