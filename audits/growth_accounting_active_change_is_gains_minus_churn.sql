/* Growth accounting reconciles from one period to the next: the periods of a grain follow
   each other with no gap, and active(t) - active(t-1) = new(t) + resurrected(t) - churned(t)
   for every period but the first of its grain, where nobody was active before: no churn
   and every active user is new. */
AUDIT (
  name growth_accounting_active_change_is_gains_minus_churn
);

WITH ordered AS (
  SELECT
    period_grain,
    period_start,
    active_users,
    new_users,
    resurrected_users,
    churned_users,
    LAG(active_users) OVER (PARTITION BY period_grain ORDER BY period_start) AS prior_active_users,
    LAG(period_start) OVER (PARTITION BY period_grain ORDER BY period_start) AS prior_period_start
  FROM @this_model
)
SELECT
  *
FROM ordered
WHERE
  (
    prior_period_start IS NULL
    AND (churned_users <> 0 OR active_users <> new_users)
  )
  OR (
    prior_period_start IS NOT NULL
    AND (
      active_users - prior_active_users <> new_users + resurrected_users - churned_users
      OR @period_index(prior_period_start, period_grain) <> @period_index(period_start, period_grain) - 1
    )
  )
