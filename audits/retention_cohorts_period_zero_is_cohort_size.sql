/* Column 0 is the cohort size (DESIGN.md "Retention"): in period 0 both active_users and
   active_or_later_users equal cohort_size (signup cohorts by definition, active cohorts
   because every member was active in it), and cohort_size is the same on every row of a
   cohort. A cohort with any row has its period 0. */
AUDIT (
  name retention_cohorts_period_zero_is_cohort_size
);

SELECT
  cohort_type,
  cohort_grain,
  cohort_start
FROM @this_model
GROUP BY
  cohort_type,
  cohort_grain,
  cohort_start
HAVING
  COUNTIF(period_number = 0) <> 1
  OR MIN(cohort_size) <> MAX(cohort_size)
  OR COUNTIF(period_number = 0 AND (active_users <> cohort_size OR active_or_later_users <> cohort_size)) > 0
