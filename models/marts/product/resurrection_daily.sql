/* Resurrections: one row per UTC day, gap-free from the first day with any activity to
   the end of the interval (a day with no activity has a row of zeros). Every active user
   of the day is new (first active day ever), retained (also active the day before) or
   resurrected (not active the day before, active on some earlier day; DESIGN.md
   "Growth accounting"). A resurrection's dormancy is the number of days between the
   user's previous active day and the return day (active on days 1, 2 and 4: resurrected
   on day 4 after 2 days, i.e. 1 inactive day), bucketed as in seed 003:
   short 2-7, medium 8-30, long 31-90, very long 91+ days.
   The previous active day comes from LAG over the user's active days inside the
   interval, else from the user's last active day before the interval (one MAX over
   earlier activity), so the result does not depend on how the days are batched. */
MODEL (
  name product.resurrection_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column activity_date,
    lookback 7
  ),
  grain activity_date,
  partitioned_by activity_date,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'resurrection_daily')]),
  audits (
    unique_values(columns := (activity_date)),
    not_null(columns := (activity_date, daily_active_users, new_users, retained_users, resurrected_users, short_dormancy_resurrections, medium_dormancy_resurrections, long_dormancy_resurrections, very_long_dormancy_resurrections, resurrection_pattern)),
    accepted_range(column := resurrected_share_of_dau, min_v := 0, max_v := 1),
    accepted_values(column := resurrection_quality_category, is_in := ('Excellent', 'Good', 'Average', 'Below Average', 'Poor')),
    accepted_values(column := resurrection_pattern, is_in := ('No Resurrections', 'Quick Return Focus', 'Long-term Recovery', 'Balanced Recovery')),
    gapless_day_spine(column := activity_date),
    resurrection_daily_counts_add_up
  )
);

WITH interval_activity AS (
  SELECT
    a.user_id,
    a.activity_date
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.activity_date BETWEEN @start_ds AND @end_ds
), last_active_before_interval AS (
  /* each user's last active day before the interval, however long ago */
  SELECT
    a.user_id,
    MAX(a.activity_date) AS last_active_date
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.user_id IN (
      SELECT
        ia.user_id
      FROM interval_activity AS ia
    )
    AND a.activity_date < @start_ds
  GROUP BY
    a.user_id
), user_days AS (
  /* each active user-day of the interval with the user's previous active day */
  SELECT
    ia.user_id,
    ia.activity_date,
    COALESCE(
      LAG(ia.activity_date) OVER (PARTITION BY ia.user_id ORDER BY ia.activity_date),
      lb.last_active_date
    ) AS previous_active_date
  FROM interval_activity AS ia
  LEFT JOIN last_active_before_interval AS lb
    ON lb.user_id = ia.user_id
), classified AS (
  SELECT
    ud.activity_date,
    ud.previous_active_date,
    DATE_DIFF(ud.activity_date, ud.previous_active_date, DAY) AS dormancy_days
  FROM user_days AS ud
), daily AS (
  /* SUM(IF(...)) rather than COUNTIF: DuckDB's COUNTIF is NULL when every condition is NULL */
  SELECT
    c.activity_date,
    COUNT(*) AS daily_active_users,
    SUM(IF(c.previous_active_date IS NULL, 1, 0)) AS new_users,
    SUM(IF(c.dormancy_days = 1, 1, 0)) AS retained_users,
    SUM(IF(c.dormancy_days >= 2, 1, 0)) AS resurrected_users,
    SUM(IF(c.dormancy_days BETWEEN 2 AND @VAR('dormancy_short_max_days', 7), 1, 0)) AS short_dormancy_resurrections,
    SUM(
      IF(
        c.dormancy_days > @VAR('dormancy_short_max_days', 7)
        AND c.dormancy_days <= @VAR('dormancy_medium_max_days', 30),
        1,
        0
      )
    ) AS medium_dormancy_resurrections,
    SUM(
      IF(
        c.dormancy_days > @VAR('dormancy_medium_max_days', 30)
        AND c.dormancy_days <= @VAR('dormancy_long_max_days', 90),
        1,
        0
      )
    ) AS long_dormancy_resurrections,
    SUM(IF(c.dormancy_days > @VAR('dormancy_long_max_days', 90), 1, 0)) AS very_long_dormancy_resurrections,
    AVG(IF(c.dormancy_days >= 2, c.dormancy_days, NULL)) AS avg_dormancy_days,
    MAX(IF(c.dormancy_days >= 2, c.dormancy_days, NULL)) AS max_dormancy_days
  FROM classified AS c
  GROUP BY
    c.activity_date
), spine AS (
  @activity_day_spine(@start_date, @end_date)
), filled AS (
  SELECT
    s.activity_date,
    COALESCE(d.daily_active_users, 0) AS daily_active_users,
    COALESCE(d.new_users, 0) AS new_users,
    COALESCE(d.retained_users, 0) AS retained_users,
    COALESCE(d.resurrected_users, 0) AS resurrected_users,
    COALESCE(d.short_dormancy_resurrections, 0) AS short_dormancy_resurrections,
    COALESCE(d.medium_dormancy_resurrections, 0) AS medium_dormancy_resurrections,
    COALESCE(d.long_dormancy_resurrections, 0) AS long_dormancy_resurrections,
    COALESCE(d.very_long_dormancy_resurrections, 0) AS very_long_dormancy_resurrections,
    d.avg_dormancy_days,
    d.max_dormancy_days,
    SAFE_DIVIDE(d.resurrected_users, d.daily_active_users) AS resurrected_share_of_dau
  FROM spine AS s
  LEFT JOIN daily AS d
    ON d.activity_date = s.activity_date
)
SELECT
  f.activity_date::DATE AS activity_date, /* UTC day */
  f.daily_active_users::INT64 AS daily_active_users, /* users active that day (product.fct_user_activity_daily) = new + retained + resurrected */
  f.new_users::INT64 AS new_users, /* users whose first active day ever is this day */
  f.retained_users::INT64 AS retained_users, /* users active this day and the day before (consecutive-day users) */
  f.resurrected_users::INT64 AS resurrected_users, /* users active this day, not the day before, active on an earlier day; = sum of the four dormancy buckets */
  f.short_dormancy_resurrections::INT64 AS short_dormancy_resurrections, /* resurrections with dormancy 2-7 days (return day - previous active day; 1-6 inactive days) */
  f.medium_dormancy_resurrections::INT64 AS medium_dormancy_resurrections, /* resurrections with dormancy 8-30 days (7-29 inactive days) */
  f.long_dormancy_resurrections::INT64 AS long_dormancy_resurrections, /* resurrections with dormancy 31-90 days (30-89 inactive days) */
  f.very_long_dormancy_resurrections::INT64 AS very_long_dormancy_resurrections, /* resurrections with dormancy 91 days or more (90+ inactive days) */
  ROUND(f.resurrected_share_of_dau, 4)::FLOAT64 AS resurrected_share_of_dau, /* resurrected_users / daily_active_users, 0-1; NULL on a day without activity */
  ROUND(f.avg_dormancy_days, 2)::FLOAT64 AS avg_dormancy_days, /* mean dormancy of the day's resurrections, in days between previous active day and return; NULL without resurrections */
  f.max_dormancy_days::INT64 AS max_dormancy_days, /* longest dormancy among the day's resurrections; NULL without resurrections */
  ROUND(
    SAFE_DIVIDE(
      f.short_dormancy_resurrections + 2 * f.medium_dormancy_resurrections + 3 * f.long_dormancy_resurrections + 4 * f.very_long_dormancy_resurrections,
      f.daily_active_users
    ) * 100,
    2
  )::FLOAT64 AS resurrection_effectiveness_score, /* seed 003: (short + 2*medium + 3*long + 4*very_long) / DAU * 100; NULL on a day without activity */
  @quality_category(
    f.resurrected_share_of_dau,
    @VAR('resurrection_quality_excellent_share', 0.30),
    @VAR('resurrection_quality_good_share', 0.20),
    @VAR('resurrection_quality_average_share', 0.10),
    @VAR('resurrection_quality_below_average_share', 0.05)
  )::STRING AS resurrection_quality_category, /* seed 003 on resurrected_share_of_dau: Excellent >= 30%, Good >= 20%, Average >= 10%, Below Average >= 5%, else Poor; NULL on a day without activity */
  CASE
    WHEN f.resurrected_users = 0
    THEN 'No Resurrections'
    WHEN f.short_dormancy_resurrections > f.medium_dormancy_resurrections + f.long_dormancy_resurrections
    THEN 'Quick Return Focus'
    WHEN f.long_dormancy_resurrections + f.very_long_dormancy_resurrections > f.short_dormancy_resurrections
    THEN 'Long-term Recovery'
    ELSE 'Balanced Recovery'
  END::STRING AS resurrection_pattern /* seed 003, first rule that holds: No Resurrections (none); Quick Return Focus (short > medium + long); Long-term Recovery (long + very long > short); else Balanced Recovery */
FROM filled AS f
