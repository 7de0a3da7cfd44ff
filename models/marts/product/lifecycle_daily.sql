/* Users by lifecycle stage: one row per UTC day and lifecycle stage (new 0-7, growing
   8-30, established 31-90, mature 91+ days since signup as of that day, @lifecycle_stage),
   gap-free from the first day with any activity to the end of the interval, all four stages
   every day. users_in_stage counts every user signed up by that day (product.dim_users),
   active or not; active_users those of them active that day. The per-day columns (the same
   on the day's four rows) are seed 003's retention quality framework: consecutive-day users
   and the retention health score, from the day's growth accounting in
   product.resurrection_daily. */
MODEL (
  name product.lifecycle_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column activity_date,
    lookback 7
  ),
  grain (activity_date, lifecycle_stage),
  partitioned_by activity_date,
  clustered_by (lifecycle_stage),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'lifecycle_daily')]),
  audits (
    unique_combination_of_columns(columns := (activity_date, lifecycle_stage)),
    not_null(columns := (activity_date, lifecycle_stage, users_in_stage, active_users, daily_active_users, active_users_without_stage, consecutive_day_users, returning_within_week_users, returning_after_week_users)),
    accepted_values(column := lifecycle_stage, is_in := ('new', 'growing', 'established', 'mature')),
    accepted_range(column := stage_activity_rate, min_v := 0, max_v := 1),
    accepted_range(column := consecutive_day_share, min_v := 0, max_v := 1),
    accepted_range(column := retention_health_score, min_v := 0, max_v := 100),
    accepted_values(column := retention_quality_category, is_in := ('Excellent', 'Good', 'Average', 'Below Average', 'Poor')),
    accepted_values(column := engagement_trend, is_in := ('High Engagement', 'Moderate Engagement', 'Low Engagement')),
    gapless_day_spine(column := activity_date),
    lifecycle_daily_counts_add_up
  )
);

WITH spine AS (
  @activity_day_spine(@start_date, @end_date)
), stages AS (
  SELECT
    'new' AS lifecycle_stage,
    1 AS stage_order
  UNION ALL
  SELECT
    'growing',
    2
  UNION ALL
  SELECT
    'established',
    3
  UNION ALL
  SELECT
    'mature',
    4
), signups AS (
  /* users by signup day: a few hundred rows, however many users */
  SELECT
    u.signup_date,
    COUNT(*) AS users
  FROM product.dim_users AS u
  WHERE
    u.signup_date <= @end_ds
  GROUP BY
    u.signup_date
), stage_population AS (
  /* users signed up by each day, by their stage that day (days x signup days) */
  SELECT
    s.activity_date,
    @lifecycle_stage(DATE_DIFF(s.activity_date, su.signup_date, DAY)) AS lifecycle_stage,
    SUM(su.users) AS users_in_stage
  FROM spine AS s
  INNER JOIN signups AS su
    ON su.signup_date <= s.activity_date
  GROUP BY
    1,
    2
), active_by_stage AS (
  /* active users signed up by that day, by their stage that day */
  SELECT
    a.activity_date,
    @lifecycle_stage(DATE_DIFF(a.activity_date, u.signup_date, DAY)) AS lifecycle_stage,
    COUNT(*) AS active_users
  FROM product.fct_user_activity_daily AS a
  INNER JOIN product.dim_users AS u
    ON u.user_id = a.user_id AND u.signup_date <= a.activity_date
  WHERE
    a.activity_date BETWEEN @start_ds AND @end_ds
  GROUP BY
    1,
    2
), growth AS (
  /* the day's active users by how recently they were active before */
  SELECT
    r.activity_date,
    r.daily_active_users,
    r.new_users,
    r.retained_users AS consecutive_day_users,
    r.short_dormancy_resurrections AS returning_within_week_users,
    r.medium_dormancy_resurrections + r.long_dormancy_resurrections + r.very_long_dormancy_resurrections AS returning_after_week_users
  FROM product.resurrection_daily AS r
  WHERE
    r.activity_date BETWEEN @start_ds AND @end_ds
), day_stage AS (
  SELECT
    s.activity_date,
    st.lifecycle_stage,
    st.stage_order,
    COALESCE(sp.users_in_stage, 0) AS users_in_stage,
    COALESCE(ab.active_users, 0) AS active_users
  FROM spine AS s
  CROSS JOIN stages AS st
  LEFT JOIN stage_population AS sp
    ON sp.activity_date = s.activity_date AND sp.lifecycle_stage = st.lifecycle_stage
  LEFT JOIN active_by_stage AS ab
    ON ab.activity_date = s.activity_date AND ab.lifecycle_stage = st.lifecycle_stage
), per_day AS (
  SELECT
    ds.*,
    COALESCE(g.daily_active_users, 0) AS daily_active_users,
    COALESCE(g.new_users, 0) AS new_users,
    COALESCE(g.consecutive_day_users, 0) AS consecutive_day_users,
    COALESCE(g.returning_within_week_users, 0) AS returning_within_week_users,
    COALESCE(g.returning_after_week_users, 0) AS returning_after_week_users,
    SUM(ds.active_users) OVER (PARTITION BY ds.activity_date) AS active_users_with_stage,
    SAFE_DIVIDE(g.consecutive_day_users, g.daily_active_users) AS consecutive_day_share,
    SAFE_DIVIDE(
      @VAR('retention_health_weight_consecutive', 3) * g.consecutive_day_users
      + @VAR('retention_health_weight_within_week', 2) * g.returning_within_week_users
      + @VAR('retention_health_weight_after_week', 1) * g.returning_after_week_users,
      @VAR('retention_health_weight_consecutive', 3) * g.daily_active_users
    ) * 100 AS retention_health_score
  FROM day_stage AS ds
  LEFT JOIN growth AS g
    ON g.activity_date = ds.activity_date
)
SELECT
  p.activity_date::DATE AS activity_date, /* UTC day */
  p.lifecycle_stage::STRING AS lifecycle_stage, /* new 0-7 | growing 8-30 | established 31-90 | mature 91+ days since signup, as of activity_date */
  p.stage_order::INT64 AS stage_order, /* 1 new ... 4 mature, for sorting */
  p.users_in_stage::INT64 AS users_in_stage, /* users signed up on or before the day whose days since signup fall in the stage, active or not */
  p.active_users::INT64 AS active_users, /* users of the stage active that day */
  ROUND(SAFE_DIVIDE(p.active_users, p.users_in_stage), 4)::FLOAT64 AS stage_activity_rate, /* active_users / users_in_stage, 0-1; NULL for an empty stage */
  ROUND(SAFE_DIVIDE(p.active_users, p.daily_active_users), 4)::FLOAT64 AS share_of_dau, /* active_users / daily_active_users, 0-1; NULL on a day without activity */
  p.daily_active_users::INT64 AS daily_active_users, /* per day: users active that day */
  (p.daily_active_users - p.active_users_with_stage)::INT64 AS active_users_without_stage, /* per day: active users with no signup on or before the day (signup later or unknown) */
  p.new_users::INT64 AS new_users, /* per day: users on their first active day ever */
  p.consecutive_day_users::INT64 AS consecutive_day_users, /* per day: users active that day and the day before */
  p.returning_within_week_users::INT64 AS returning_within_week_users, /* per day: users back after 2-7 days (previous active day 2-7 days earlier) */
  p.returning_after_week_users::INT64 AS returning_after_week_users, /* per day: users back after 8 days or more */
  ROUND(p.consecutive_day_share, 4)::FLOAT64 AS consecutive_day_share, /* per day: consecutive_day_users / daily_active_users, 0-1; NULL on a day without activity */
  ROUND(p.retention_health_score)::INT64 AS retention_health_score, /* per day, seed 003: 100 x (3 x consecutive + 2 x returning within a week + 1 x returning after a week) / (3 x DAU), rounded; new users weigh 0; NULL on a day without activity */
  @quality_category(
    p.consecutive_day_share,
    @VAR('retention_quality_excellent_share', 0.80),
    @VAR('retention_quality_good_share', 0.60),
    @VAR('retention_quality_average_share', 0.40),
    @VAR('retention_quality_below_average_share', 0.20)
  )::STRING AS retention_quality_category, /* per day, seed 003 on consecutive_day_share: Excellent >= 80%, Good >= 60%, Average >= 40%, Below Average >= 20%, else Poor; NULL on a day without activity */
  CASE
    WHEN p.retention_health_score IS NULL
    THEN NULL
    WHEN ROUND(p.retention_health_score) > @VAR('engagement_trend_high_score', 70)
    THEN 'High Engagement'
    WHEN ROUND(p.retention_health_score) >= @VAR('engagement_trend_moderate_score', 40)
    THEN 'Moderate Engagement'
    ELSE 'Low Engagement'
  END::STRING AS engagement_trend /* per day, seed 003 on retention_health_score: High Engagement > 70, Moderate Engagement 40-70, else Low Engagement; NULL on a day without activity */
FROM per_day AS p
