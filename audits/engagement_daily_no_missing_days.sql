/* Engagement has a row for every calendar day, active or not: the audited days run from
   the first to the last with no gap. */
AUDIT (
  name engagement_daily_no_missing_days
);

SELECT
  MIN(activity_date) AS first_day,
  MAX(activity_date) AS last_day,
  COUNT(*) AS days
FROM @this_model
HAVING
  COUNT(*) <> DATE_DIFF(MAX(activity_date), MIN(activity_date), DAY) + 1
