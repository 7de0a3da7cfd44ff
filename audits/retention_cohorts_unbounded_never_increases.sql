/* Unbounded retention never increases with the period number (active in N or later
   includes active in N+1 or later), and a cohort's periods run 0, 1, 2, ... with no gap. */
AUDIT (
  name retention_cohorts_unbounded_never_increases
);

WITH ordered AS (
  SELECT
    cohort_type,
    cohort_grain,
    cohort_start,
    period_number,
    active_or_later_users,
    LAG(active_or_later_users) OVER (
      PARTITION BY cohort_type, cohort_grain, cohort_start
      ORDER BY period_number
    ) AS prior_active_or_later_users,
    LAG(period_number) OVER (
      PARTITION BY cohort_type, cohort_grain, cohort_start
      ORDER BY period_number
    ) AS prior_period_number
  FROM @this_model
)
SELECT
  *
FROM ordered
WHERE
  active_or_later_users > prior_active_or_later_users
  OR period_number - prior_period_number <> 1
