/* Growth accounting (Social Capital; DESIGN.md "Growth accounting"): one row per period
   grain ('day', 'week' = ISO week from Monday, 'month') and period, from the first period
   with activity to the period of the as-of day (the last day with activity), with no gaps:
   a period nobody was active in still has its row, with its churn.
   In each period every active user is exactly one of new (first active period ever),
   retained (also active in the previous period) or resurrected (not active in the previous
   period, active before); a user active in the previous period and not in this one is
   churned, each time they lapse. So active = new + retained + resurrected and
   active - previous active = new + resurrected - churned, on every row.
   The period of the as-of day is usually still running: is_complete_period says so. */
MODEL (
  name product.growth_accounting,
  kind FULL,
  grain (period_grain, period_start),
  partitioned_by period_start,
  clustered_by (period_grain),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'growth_accounting')]),
  audits (
    unique_combination_of_columns(columns := (period_grain, period_start)),
    not_null(columns := (period_grain, period_start, period_end, active_users, new_users, retained_users, resurrected_users, churned_users, previous_active_users, growth_quality, is_complete_period)),
    accepted_values(column := period_grain, is_in := ('day', 'week', 'month')),
    accepted_values(column := growth_quality, is_in := ('excellent', 'healthy', 'sustainable', 'declining', 'unknown')),
    accepted_range(column := retention_rate, min_v := 0, max_v := 1),
    accepted_range(column := churn_rate, min_v := 0, max_v := 1),
    accepted_range(column := quick_ratio, min_v := 0),
    growth_accounting_active_is_new_retained_resurrected,
    growth_accounting_active_change_is_gains_minus_churn
  )
);

WITH as_of AS (
  SELECT
    MIN(a.activity_date) AS first_active_date,
    MAX(a.activity_date) AS as_of_date
  FROM product.fct_user_activity_daily AS a
), grains AS (
  SELECT
    grain
  FROM UNNEST(['day', 'week', 'month']) AS grain
), user_days AS (
  /* each active day of a user with their previous and next active days */
  SELECT
    a.activity_date,
    LAG(a.activity_date) OVER (PARTITION BY a.user_id ORDER BY a.activity_date) AS previous_active_date,
    LEAD(a.activity_date) OVER (PARTITION BY a.user_id ORDER BY a.activity_date) AS next_active_date
  FROM product.fct_user_activity_daily AS a
), user_day_periods AS (
  /* for each grain, the period (@period_index: consecutive periods differ by 1) of the day
     and of the user's previous and next active days */
  SELECT
    g.grain AS period_grain,
    @period_index(ud.activity_date, g.grain) AS period_index,
    @period_index(ud.previous_active_date, g.grain) AS previous_active_index,
    @period_index(ud.next_active_date, g.grain) AS next_active_index
  FROM user_days AS ud
  CROSS JOIN grains AS g
), movements AS (
  /* a user's status in each period they are active in, from their first active day in it ... */
  SELECT
    p.period_grain,
    p.period_index,
    CASE
      WHEN p.previous_active_index IS NULL
      THEN 'new'
      WHEN p.previous_active_index = p.period_index - 1
      THEN 'retained'
      ELSE 'resurrected'
    END AS status
  FROM user_day_periods AS p
  WHERE
    p.previous_active_index IS NULL OR p.previous_active_index < p.period_index
  UNION ALL
  /* ... and their churn in the next period when they are not active in it, from their last
     active day in the period */
  SELECT
    p.period_grain,
    p.period_index + 1 AS period_index,
    'churned' AS status
  FROM user_day_periods AS p
  WHERE
    p.next_active_index IS NULL OR p.next_active_index > p.period_index + 1
), counts AS (
  SELECT
    m.period_grain,
    m.period_index,
    COUNTIF(m.status <> 'churned') AS active_users,
    COUNTIF(m.status = 'new') AS new_users,
    COUNTIF(m.status = 'retained') AS retained_users,
    COUNTIF(m.status = 'resurrected') AS resurrected_users,
    COUNTIF(m.status = 'churned') AS churned_users
  FROM movements AS m
  GROUP BY
    m.period_grain,
    m.period_index
), spine AS (
  /* every period of every grain from the first active period to the as-of day's period */
  SELECT
    g.grain AS period_grain,
    i AS period_index
  FROM as_of
  CROSS JOIN grains AS g
  CROSS JOIN UNNEST(
    GENERATE_ARRAY(@period_index(as_of.first_active_date, g.grain), @period_index(as_of.as_of_date, g.grain))
  ) AS i
), accounting AS (
  /* the spine with its counts (churn after the as-of day's period falls outside it) */
  SELECT
    s.period_grain,
    @period_first_day(s.period_index, s.period_grain) AS period_start,
    DATE(DATE_SUB(@period_first_day(s.period_index + 1, s.period_grain), INTERVAL 1 DAY)) AS period_end,
    COALESCE(c.active_users, 0) AS active_users,
    COALESCE(c.new_users, 0) AS new_users,
    COALESCE(c.retained_users, 0) AS retained_users,
    COALESCE(c.resurrected_users, 0) AS resurrected_users,
    COALESCE(c.churned_users, 0) AS churned_users,
    COALESCE(
      LAG(COALESCE(c.active_users, 0)) OVER (PARTITION BY s.period_grain ORDER BY s.period_index),
      0
    ) AS previous_active_users
  FROM spine AS s
  LEFT JOIN counts AS c
    ON c.period_grain = s.period_grain AND c.period_index = s.period_index
), ratios AS (
  SELECT
    a.*,
    IF(a.churned_users = 0, NULL, (a.new_users + a.resurrected_users) / a.churned_users) AS quick_ratio
  FROM accounting AS a
)
SELECT
  r.period_grain::STRING AS period_grain, /* 'day', 'week' (ISO, from Monday) or 'month' */
  r.period_start::DATE AS period_start, /* first day of the period */
  r.period_end::DATE AS period_end, /* last day of the period */
  r.active_users::INT64 AS active_users, /* users with a qualifying event in the period (= new + retained + resurrected) */
  r.new_users::INT64 AS new_users, /* active for the first time ever in this period */
  r.retained_users::INT64 AS retained_users, /* active in this period and in the previous one */
  r.resurrected_users::INT64 AS resurrected_users, /* active in this period, not in the previous one, active before */
  r.churned_users::INT64 AS churned_users, /* active in the previous period, not in this one (counted at every lapse) */
  r.previous_active_users::INT64 AS previous_active_users, /* active users of the previous period, 0 for the first period */
  (r.active_users - r.previous_active_users)::INT64 AS net_active_change, /* active - previous active = new + resurrected - churned */
  r.quick_ratio::FLOAT64 AS quick_ratio, /* (new + resurrected) / churned; NULL when churned = 0 */
  SAFE_DIVIDE(r.retained_users, r.previous_active_users)::FLOAT64 AS retention_rate, /* retained / previous period's active; NULL without previous actives */
  SAFE_DIVIDE(r.churned_users, r.previous_active_users)::FLOAT64 AS churn_rate, /* churned / previous period's active (= 1 - retention_rate); NULL without previous actives */
  (
    CASE
      WHEN r.quick_ratio IS NULL
      THEN 'unknown'
      WHEN r.quick_ratio >= @VAR('quick_ratio_excellent', 4.0)
      THEN 'excellent'
      WHEN r.quick_ratio >= @VAR('quick_ratio_healthy', 2.0)
      THEN 'healthy'
      WHEN r.quick_ratio >= @VAR('quick_ratio_sustainable', 1.0)
      THEN 'sustainable'
      ELSE 'declining'
    END
  )::STRING AS growth_quality, /* quick ratio >= quick_ratio_excellent: excellent, >= _healthy: healthy, >= _sustainable: sustainable, below: declining; unknown when NULL (no churn) */
  (r.period_end <= ao.as_of_date)::BOOL AS is_complete_period, /* the period ended on or before the as-of day */
  ao.as_of_date::DATE AS as_of_date /* the last day with activity: the data's "today" */
FROM ratios AS r
CROSS JOIN as_of AS ao
