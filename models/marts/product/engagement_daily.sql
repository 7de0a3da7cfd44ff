/* Daily engagement: one row per calendar day, from the first day with any activity to the
   last day of the interval, with no gaps (a day nobody was active has dau 0). Rolling
   actives are distinct users active on at least one of the trailing N days, today
   included: wau N = 7 ("L7"), mau N = 28 ("L28", the Social Capital MAU), mau_30 N = 30.
   Exact and BigQuery-valid without COUNT(DISTINCT) OVER (DESIGN.md "Performance notes"):
   each active day of a user opens a stretch of days on which the user counts in the
   trailing-N window, ending at their next active day or N days later, whichever is first;
   a user's stretches never overlap, so a running sum of +1 at each start and -1 at each
   end over the calendar is the number of distinct users. A day's windows reach 29 days
   back, so an interval reads its activity from @start_ds - 29 days. */
MODEL (
  name product.engagement_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column activity_date,
    lookback 7
  ),
  grain activity_date,
  partitioned_by activity_date,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'engagement_daily')]),
  audits (
    unique_values(columns := (activity_date)),
    not_null(columns := (activity_date, dau, wau, mau, mau_30, dau_avg_7d, dau_avg_30d)),
    engagement_daily_no_missing_days,
    engagement_daily_rolling_actives_nest,
    accepted_range(column := dau_wau, min_v := 0, max_v := 1),
    accepted_range(column := dau_mau, min_v := 0, max_v := 1),
    accepted_range(column := wau_mau, min_v := 0, max_v := 1),
    accepted_values(column := dau_trend, is_in := ('up', 'down', 'flat'))
  )
);

WITH user_days AS (
  /* user-days of the interval and of the 29 days before it (the longest window is 30 days),
     each with the user's next active day in that range */
  SELECT
    a.user_id,
    a.activity_date,
    LEAD(a.activity_date) OVER (PARTITION BY a.user_id ORDER BY a.activity_date) AS next_active_date
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.activity_date BETWEEN DATE_SUB(@start_date, INTERVAL 29 DAY) AND @end_ds
), stretches AS (
  /* the first day after each stretch: the next active day or N days later, whichever first */
  SELECT
    ud.activity_date,
    DATE(
      DATE_ADD(
        ud.activity_date,
        INTERVAL LEAST(COALESCE(DATE_DIFF(ud.next_active_date, ud.activity_date, DAY), 7), 7) DAY
      )
    ) AS l7_end,
    DATE(
      DATE_ADD(
        ud.activity_date,
        INTERVAL LEAST(COALESCE(DATE_DIFF(ud.next_active_date, ud.activity_date, DAY), 28), 28) DAY
      )
    ) AS l28_end,
    DATE(
      DATE_ADD(
        ud.activity_date,
        INTERVAL LEAST(COALESCE(DATE_DIFF(ud.next_active_date, ud.activity_date, DAY), 30), 30) DAY
      )
    ) AS l30_end
  FROM user_days AS ud
), deltas AS (
  /* +1 to every window on each active day, -1 to a window the day a stretch ends */
  SELECT
    s.activity_date AS day,
    COUNT(*) AS dau,
    COUNT(*) AS l7_delta,
    COUNT(*) AS l28_delta,
    COUNT(*) AS l30_delta
  FROM stretches AS s
  GROUP BY
    s.activity_date
  UNION ALL
  SELECT
    s.l7_end AS day,
    0 AS dau,
    -COUNT(*) AS l7_delta,
    0 AS l28_delta,
    0 AS l30_delta
  FROM stretches AS s
  GROUP BY
    s.l7_end
  UNION ALL
  SELECT
    s.l28_end AS day,
    0 AS dau,
    0 AS l7_delta,
    -COUNT(*) AS l28_delta,
    0 AS l30_delta
  FROM stretches AS s
  GROUP BY
    s.l28_end
  UNION ALL
  SELECT
    s.l30_end AS day,
    0 AS dau,
    0 AS l7_delta,
    0 AS l28_delta,
    -COUNT(*) AS l30_delta
  FROM stretches AS s
  GROUP BY
    s.l30_end
), calendar AS (
  /* every day from 29 days before the interval to its end, not before the first activity */
  SELECT
    c.activity_date AS day
  FROM (
    @activity_day_spine(DATE_SUB(@start_date, INTERVAL 29 DAY), @end_date)
  ) AS c
), daily_deltas AS (
  SELECT
    c.day,
    COALESCE(SUM(d.dau), 0) AS dau,
    COALESCE(SUM(d.l7_delta), 0) AS l7_delta,
    COALESCE(SUM(d.l28_delta), 0) AS l28_delta,
    COALESCE(SUM(d.l30_delta), 0) AS l30_delta
  FROM calendar AS c
  LEFT JOIN deltas AS d
    ON d.day = c.day
  GROUP BY
    c.day
), rolling AS (
  /* running sums of the deltas, and moving averages over the days with history */
  SELECT
    dd.day,
    dd.dau,
    SUM(dd.l7_delta) OVER (ORDER BY dd.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS wau,
    SUM(dd.l28_delta) OVER (ORDER BY dd.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mau,
    SUM(dd.l30_delta) OVER (ORDER BY dd.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mau_30,
    AVG(dd.dau) OVER (ORDER BY dd.day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS dau_avg_7d,
    AVG(dd.dau) OVER (ORDER BY dd.day ROWS BETWEEN 29 PRECEDING AND CURRENT ROW) AS dau_avg_30d,
    AVG(dd.dau) OVER (ORDER BY dd.day ROWS BETWEEN 13 PRECEDING AND 7 PRECEDING) AS dau_avg_7d_previous,
    COUNT(*) OVER (ORDER BY dd.day ROWS BETWEEN 13 PRECEDING AND CURRENT ROW) AS history_days_14
  FROM daily_deltas AS dd
)
SELECT
  r.day::DATE AS activity_date, /* UTC calendar day */
  r.dau::INT64 AS dau, /* distinct users active this day */
  r.wau::INT64 AS wau, /* distinct users active in the 7 days ending this day (L7) */
  r.mau::INT64 AS mau, /* distinct users active in the 28 days ending this day (L28) */
  r.mau_30::INT64 AS mau_30, /* distinct users active in the 30 days ending this day */
  SAFE_DIVIDE(r.dau, r.wau)::FLOAT64 AS dau_wau, /* dau / wau; NULL when wau = 0 */
  SAFE_DIVIDE(r.dau, r.mau)::FLOAT64 AS dau_mau, /* dau / mau (L28), stickiness; NULL when mau = 0 */
  SAFE_DIVIDE(r.wau, r.mau)::FLOAT64 AS wau_mau, /* wau / mau (L28); NULL when mau = 0 */
  r.dau_avg_7d::FLOAT64 AS dau_avg_7d, /* mean dau over the 7 days ending this day (fewer in the first days of history) */
  r.dau_avg_30d::FLOAT64 AS dau_avg_30d, /* mean dau over the 30 days ending this day (fewer in the first days of history) */
  r.dau_avg_7d_previous::FLOAT64 AS dau_avg_7d_previous, /* mean dau over the 7 days before those; NULL in the first 7 days of history */
  (
    CASE
      WHEN r.history_days_14 < 14
      THEN NULL
      WHEN r.dau_avg_7d > r.dau_avg_7d_previous * (1 + @VAR('engagement_trend_threshold', 0.05))
      THEN 'up'
      WHEN r.dau_avg_7d < r.dau_avg_7d_previous * (1 - @VAR('engagement_trend_threshold', 0.05))
      THEN 'down'
      ELSE 'flat'
    END
  )::STRING AS dau_trend /* 7-day mean dau against the previous 7 days: 'up'/'down' when it moved by more than engagement_trend_threshold (relative), else 'flat'; NULL before 14 days of history */
FROM rolling AS r
WHERE
  r.day BETWEEN @start_ds AND @end_ds
