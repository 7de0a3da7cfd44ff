/* Power user curve (L28 histogram): one row per report date and number of active days
   1..28, the users active on exactly that many of the 28 days ending on the report date.
   Report dates are the last day of every month from the first month with activity up to
   the as-of day (the last day with activity), and the as-of day itself when it is not a
   month end (is_month_end = FALSE). Every count 1..28 has its row, with 0 users if none.
   The L28 actives of a report date come from product.engagement_daily (mau), an
   independent computation the histogram must add up to (audited). */
MODEL (
  name product.power_user_curve,
  kind FULL,
  grain (report_date, active_days_l28),
  partitioned_by report_date,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'power_user_curve')]),
  audits (
    unique_combination_of_columns(columns := (report_date, active_days_l28)),
    not_null(columns := (report_date, is_month_end, active_days_l28, users, users_at_least, l28_users)),
    accepted_range(column := active_days_l28, min_v := 1, max_v := 28),
    accepted_range(column := share_of_l28_users, min_v := 0, max_v := 1),
    accepted_range(column := share_at_least, min_v := 0, max_v := 1),
    power_user_curve_adds_up_to_l28_actives
  )
);

WITH activity AS (
  SELECT
    a.user_id,
    a.activity_date
  FROM product.fct_user_activity_daily AS a
), as_of AS (
  SELECT
    MIN(a.activity_date) AS first_active_date,
    MAX(a.activity_date) AS as_of_date
  FROM activity AS a
), report_dates AS (
  /* month ends up to the as-of day, and the as-of day */
  SELECT
    LAST_DAY(m, MONTH) AS report_date
  FROM as_of
  CROSS JOIN UNNEST(
    GENERATE_DATE_ARRAY(DATE(DATE_TRUNC(as_of.first_active_date, MONTH)), as_of.as_of_date, INTERVAL 1 MONTH)
  ) AS m
  WHERE
    LAST_DAY(m, MONTH) < as_of.as_of_date
  UNION ALL
  SELECT
    as_of.as_of_date AS report_date
  FROM as_of
), window_days AS (
  /* an active day is in the 28-day window of at most two report dates (month ends are at
     least 28 days apart): the end of its month, and the as-of day */
  SELECT
    a.user_id,
    LAST_DAY(a.activity_date, MONTH) AS report_date
  FROM activity AS a
  CROSS JOIN as_of
  WHERE
    LAST_DAY(a.activity_date, MONTH) < as_of.as_of_date
    AND DATE_DIFF(LAST_DAY(a.activity_date, MONTH), a.activity_date, DAY) < 28
  UNION ALL
  SELECT
    a.user_id,
    as_of.as_of_date AS report_date
  FROM activity AS a
  CROSS JOIN as_of
  WHERE
    DATE_DIFF(as_of.as_of_date, a.activity_date, DAY) < 28
), user_active_days AS (
  SELECT
    w.report_date,
    w.user_id,
    COUNT(*) AS active_days
  FROM window_days AS w
  GROUP BY
    w.report_date,
    w.user_id
), histogram AS (
  SELECT
    u.report_date,
    u.active_days,
    COUNT(*) AS users
  FROM user_active_days AS u
  GROUP BY
    u.report_date,
    u.active_days
), curve AS (
  /* every report date x 1..28, zero-filled */
  SELECT
    rd.report_date,
    n AS active_days_l28,
    COALESCE(h.users, 0) AS users
  FROM report_dates AS rd
  CROSS JOIN UNNEST(GENERATE_ARRAY(1, 28)) AS n
  LEFT JOIN histogram AS h
    ON h.report_date = rd.report_date AND h.active_days = n
), cumulated AS (
  SELECT
    c.report_date,
    c.active_days_l28,
    c.users,
    SUM(c.users) OVER (
      PARTITION BY c.report_date
      ORDER BY c.active_days_l28 DESC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS users_at_least
  FROM curve AS c
)
SELECT
  c.report_date::DATE AS report_date, /* last day of the 28-day window: a month end or the as-of day */
  (c.report_date = LAST_DAY(c.report_date, MONTH))::BOOL AS is_month_end, /* report_date is the last day of its month (FALSE: the as-of day, mid-month) */
  c.active_days_l28::INT64 AS active_days_l28, /* days with activity among the 28 ending on report_date, 1..28 */
  c.users::INT64 AS users, /* users active on exactly active_days_l28 of those days */
  c.users_at_least::INT64 AS users_at_least, /* users active on active_days_l28 days or more */
  e.mau::INT64 AS l28_users, /* users active on at least one of the 28 days (engagement_daily.mau); = SUM(users) over 1..28 */
  SAFE_DIVIDE(c.users, e.mau)::FLOAT64 AS share_of_l28_users, /* users / l28_users: the power user curve */
  SAFE_DIVIDE(c.users_at_least, e.mau)::FLOAT64 AS share_at_least /* users_at_least / l28_users */
FROM cumulated AS c
LEFT JOIN product.engagement_daily AS e
  ON e.activity_date = c.report_date
