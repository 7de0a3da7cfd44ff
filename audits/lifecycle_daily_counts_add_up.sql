/* product.lifecycle_daily: every day has its four stages, no stage has more active users
   than users, the stages' active users plus those without a stage are the day's DAU, and
   the DAU splits into new, consecutive-day and returning users. Returns the offending rows. */
AUDIT (
  name lifecycle_daily_counts_add_up
);

SELECT
  *
FROM (
  SELECT
    l.*,
    COUNT(*) OVER (PARTITION BY l.activity_date) AS stages_that_day,
    SUM(l.active_users) OVER (PARTITION BY l.activity_date) AS active_users_with_stage
  FROM @this_model AS l
) AS l
WHERE
  l.stages_that_day <> 4
  OR l.active_users > l.users_in_stage
  OR l.active_users_without_stage < 0
  OR l.active_users_with_stage + l.active_users_without_stage <> l.daily_active_users
  OR l.new_users + l.consecutive_day_users + l.returning_within_week_users + l.returning_after_week_users <> l.daily_active_users
