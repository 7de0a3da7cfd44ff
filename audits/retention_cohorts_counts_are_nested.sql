/* Retention counts are nested: 0 <= active in period N <= active in N or later <= cohort
   size, and the cohort size is positive. */
AUDIT (
  name retention_cohorts_counts_are_nested
);

SELECT
  *
FROM @this_model
WHERE
  active_users < 0
  OR active_users > active_or_later_users
  OR active_or_later_users > cohort_size
  OR cohort_size <= 0
