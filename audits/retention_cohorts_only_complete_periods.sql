/* No row is invented past the last complete period: every period ends on or before the
   as-of day (the last day with activity), and period N is the N-th period after the
   cohort's, from its first to its last day. */
AUDIT (
  name retention_cohorts_only_complete_periods
);

SELECT
  *
FROM @this_model
WHERE
  period_end > (SELECT MAX(a.activity_date) FROM product.fct_user_activity_daily AS a)
  OR @period_index(period_start, cohort_grain) - @period_index(cohort_start, cohort_grain) <> period_number
  OR period_start <> @period_first_day(@period_index(period_start, cohort_grain), cohort_grain)
  OR period_end <> DATE_SUB(@period_first_day(@period_index(period_start, cohort_grain) + 1, cohort_grain), INTERVAL 1 DAY)
