/* The power user curve partitions the L28 actives: for each report date, its 28 rows
   (1..28 active days) add up to l28_users, the trailing-28-day actives computed
   independently by product.engagement_daily -- and share_at_least of 1 day is 100%. */
AUDIT (
  name power_user_curve_adds_up_to_l28_actives
);

SELECT
  report_date,
  COUNT(*) AS buckets,
  SUM(users) AS histogram_users,
  MIN(l28_users) AS l28_users
FROM @this_model
GROUP BY
  report_date
HAVING
  COUNT(*) <> 28
  OR MIN(l28_users) IS NULL
  OR MIN(l28_users) <> MAX(l28_users)
  OR SUM(users) <> MIN(l28_users)
  OR MAX(IF(active_days_l28 = 1, users_at_least, NULL)) <> MIN(l28_users)
