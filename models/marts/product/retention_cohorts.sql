/* Cohort retention (DESIGN.md "Retention"): one row per cohort type, cohort grain ('day',
   'week' = ISO week from Monday, 'month'), cohort and period number 0..horizon.
   - 'signup' cohorts (first-time): users by the period of their signup day
     (product.dim_users.signup_date), whether or not they were ever active.
   - 'active' cohorts (recurring): every user active in a period is in that period's cohort.
   Period N is the N-th period after the cohort's. active_users counts cohort users active
   in period N; active_or_later_users those active in period N or any later period (the
   "unbounded" form). Period 0 is the cohort size: for signup cohorts by definition, even
   for a user with no activity in the signup period (or ever); for active cohorts every
   member is active in it. Activity before a user's signup period is ignored for their
   signup cohort. Rows exist only for periods complete by the as-of day (the last
   day with activity), so later cohorts have fewer periods and the cohort of a running
   period has none. Horizons: retention_horizon_days / _weeks / _months. */
MODEL (
  name product.retention_cohorts,
  kind FULL,
  grain (cohort_type, cohort_grain, cohort_start, period_number),
  partitioned_by cohort_start,
  clustered_by (cohort_type, cohort_grain),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'retention_cohorts')]),
  audits (
    unique_combination_of_columns(columns := (cohort_type, cohort_grain, cohort_start, period_number)),
    not_null(columns := (cohort_type, cohort_grain, cohort_start, period_number, period_start, period_end, cohort_size, active_users, active_or_later_users, retention_rate, unbounded_retention_rate)),
    accepted_values(column := cohort_type, is_in := ('signup', 'active')),
    accepted_values(column := cohort_grain, is_in := ('day', 'week', 'month')),
    accepted_range(column := retention_rate, min_v := 0, max_v := 1),
    accepted_range(column := unbounded_retention_rate, min_v := 0, max_v := 1),
    retention_cohorts_counts_are_nested,
    retention_cohorts_period_zero_is_cohort_size,
    retention_cohorts_unbounded_never_increases,
    retention_cohorts_only_complete_periods
  )
);

@DEF(horizon_days, @VAR('retention_horizon_days', 30));
@DEF(horizon_weeks, @VAR('retention_horizon_weeks', 26));
@DEF(horizon_months, @VAR('retention_horizon_months', 24));

WITH as_of AS (
  SELECT
    MAX(a.activity_date) AS as_of_date
  FROM product.fct_user_activity_daily AS a
), grains AS (
  SELECT
    'day' AS cohort_grain,
    @horizon_days AS horizon
  UNION ALL
  SELECT
    'week' AS cohort_grain,
    @horizon_weeks AS horizon
  UNION ALL
  SELECT
    'month' AS cohort_grain,
    @horizon_months AS horizon
), periods AS (
  /* the days, ISO weeks and months each user was active in, numbered by @period_index */
  SELECT DISTINCT
    g.cohort_grain,
    a.user_id,
    @period_index(a.activity_date, g.cohort_grain) AS period_index
  FROM product.fct_user_activity_daily AS a
  CROSS JOIN grains AS g
), signups AS (
  SELECT
    u.user_id,
    u.signup_date
  FROM product.dim_users AS u
  WHERE
    u.signup_date IS NOT NULL
), members AS (
  /* cohort memberships: each user in the cohort of their signup period, and in the active
     cohort of every period they were active in */
  SELECT
    g.cohort_grain,
    'signup' AS cohort_type,
    s.user_id,
    @period_index(s.signup_date, g.cohort_grain) AS cohort_index
  FROM signups AS s
  CROSS JOIN grains AS g
  UNION ALL
  SELECT
    p.cohort_grain,
    'active' AS cohort_type,
    p.user_id,
    p.period_index AS cohort_index
  FROM periods AS p
), returns AS (
  /* cohort members active N = 0..horizon periods after their cohort's period (N = 0 of
     signup cohorts is replaced by the cohort size below) */
  SELECT
    m.cohort_grain,
    m.cohort_type,
    m.cohort_index,
    p.period_index - m.cohort_index AS period_number,
    COUNT(*) AS active_users
  FROM members AS m
  INNER JOIN grains AS g
    ON g.cohort_grain = m.cohort_grain
  INNER JOIN periods AS p
    ON p.cohort_grain = m.cohort_grain
    AND p.user_id = m.user_id
    AND p.period_index BETWEEN m.cohort_index AND m.cohort_index + g.horizon
  GROUP BY
    m.cohort_grain,
    m.cohort_type,
    m.cohort_index,
    p.period_index - m.cohort_index
), last_periods AS (
  /* each user's last active period */
  SELECT
    p.cohort_grain,
    p.user_id,
    MAX(p.period_index) AS last_active_index
  FROM periods AS p
  GROUP BY
    p.cohort_grain,
    p.user_id
), last_returns AS (
  /* cohort members by the last period (0..horizon) they were active in or after: a member
     is active in period N or later for every N up to it. Period 0 counts every member, even
     one never active after signing up. */
  SELECT
    m.cohort_type,
    m.cohort_grain,
    m.cohort_index,
    LEAST(GREATEST(COALESCE(lp.last_active_index - m.cohort_index, 0), 0), g.horizon) AS period_number,
    COUNT(*) AS users
  FROM members AS m
  INNER JOIN grains AS g
    ON g.cohort_grain = m.cohort_grain
  LEFT JOIN last_periods AS lp
    ON lp.cohort_grain = m.cohort_grain AND lp.user_id = m.user_id
  GROUP BY
    m.cohort_type,
    m.cohort_grain,
    m.cohort_index,
    LEAST(GREATEST(COALESCE(lp.last_active_index - m.cohort_index, 0), 0), g.horizon)
), cohorts AS (
  SELECT
    lr.cohort_type,
    lr.cohort_grain,
    lr.cohort_index,
    SUM(lr.users) AS cohort_size
  FROM last_returns AS lr
  GROUP BY
    lr.cohort_type,
    lr.cohort_grain,
    lr.cohort_index
), matrix AS (
  /* every cohort x period 0..horizon; active or later in N = last active in N or later */
  SELECT
    c.cohort_type,
    c.cohort_grain,
    c.cohort_index,
    n AS period_number,
    c.cohort_size,
    IF(n = 0, c.cohort_size, COALESCE(r.active_users, 0)) AS active_users,
    SUM(COALESCE(lr.users, 0)) OVER (
      PARTITION BY c.cohort_type, c.cohort_grain, c.cohort_index
      ORDER BY n DESC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS active_or_later_users
  FROM cohorts AS c
  INNER JOIN grains AS g
    ON g.cohort_grain = c.cohort_grain
  CROSS JOIN UNNEST(GENERATE_ARRAY(0, g.horizon)) AS n
  LEFT JOIN returns AS r
    ON r.cohort_type = c.cohort_type
    AND r.cohort_grain = c.cohort_grain
    AND r.cohort_index = c.cohort_index
    AND r.period_number = n
  LEFT JOIN last_returns AS lr
    ON lr.cohort_type = c.cohort_type
    AND lr.cohort_grain = c.cohort_grain
    AND lr.cohort_index = c.cohort_index
    AND lr.period_number = n
), cells AS (
  SELECT
    mx.*,
    @period_first_day(mx.cohort_index, mx.cohort_grain) AS cohort_start,
    @period_first_day(mx.cohort_index + mx.period_number, mx.cohort_grain) AS period_start,
    DATE(
      DATE_SUB(@period_first_day(mx.cohort_index + mx.period_number + 1, mx.cohort_grain), INTERVAL 1 DAY)
    ) AS period_end
  FROM matrix AS mx
)
SELECT
  p.cohort_type::STRING AS cohort_type, /* 'signup': users by signup period (first-time); 'active': users active in the period (recurring) */
  p.cohort_grain::STRING AS cohort_grain, /* 'day', 'week' (ISO, from Monday) or 'month' */
  p.cohort_start::DATE AS cohort_start, /* first day of the cohort's period */
  p.period_number::INT64 AS period_number, /* periods after the cohort's: 0 = the cohort's own period */
  p.period_start::DATE AS period_start, /* first day of period N */
  p.period_end::DATE AS period_end, /* last day of period N (on or before the as-of day) */
  p.cohort_size::INT64 AS cohort_size, /* users in the cohort */
  p.active_users::INT64 AS active_users, /* cohort users active in period N; period 0: the cohort size */
  p.active_or_later_users::INT64 AS active_or_later_users, /* cohort users active in period N or any later period (unbounded); period 0: the cohort size */
  SAFE_DIVIDE(p.active_users, p.cohort_size)::FLOAT64 AS retention_rate, /* active_users / cohort_size ("N-day" retention) */
  SAFE_DIVIDE(p.active_or_later_users, p.cohort_size)::FLOAT64 AS unbounded_retention_rate /* active_or_later_users / cohort_size */
FROM cells AS p
CROSS JOIN as_of AS ao
WHERE
  p.period_end <= ao.as_of_date
