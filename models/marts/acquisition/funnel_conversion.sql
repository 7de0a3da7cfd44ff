/* Funnel conversion by first-visit cohort: one row per cohort_grain ('day', 'week' = ISO
   week from Monday, 'month'), cohort_start and channel of the first visit, plus an 'all'
   channel row per cohort. Counts are visitors of the cohort who reached each step of
   acquisition.funnel_users (ordered and windowed), so they never increase along the
   funnel. Step rates divide by the previous step; time to convert is per step, from the
   previous step, in hours (average and exact median). A cohort whose last visitor's window
   has not closed yet still gains conversions: is_window_complete says when it is final.
   FULL, so the newest cohorts refresh on every run. */
MODEL (
  name acquisition.funnel_conversion,
  kind FULL,
  grain (cohort_grain, cohort_start, channel),
  partitioned_by cohort_start,
  clustered_by (cohort_grain, channel),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'funnel_conversion')]),
  audits (
    unique_combination_of_columns(columns := (cohort_grain, cohort_start, channel)),
    not_null(columns := (cohort_grain, cohort_start, cohort_end, channel, visitors, signups, activated, paid, is_window_complete)),
    accepted_values(column := cohort_grain, is_in := ('day', 'week', 'month')),
    accepted_range(column := visit_to_signup_rate, min_v := 0, max_v := 1),
    accepted_range(column := signup_to_activation_rate, min_v := 0, max_v := 1),
    accepted_range(column := activation_to_paid_rate, min_v := 0, max_v := 1),
    accepted_range(column := visit_to_paid_rate, min_v := 0, max_v := 1),
    funnel_counts_never_increase,
    funnel_all_channel_is_sum_of_channels
  )
);

WITH grains AS (
  SELECT
    grain
  FROM UNNEST(['day', 'week', 'month']) AS grain
), channel_rows AS (
  SELECT
    is_all
  FROM UNNEST([FALSE, TRUE]) AS is_all
), visitor_days AS (
  /* visitors by first-visit day and channel, counted once; the cohorts roll these up */
  SELECT
    f.first_visit_date,
    f.channel,
    COUNT(*) AS visitors,
    COUNTIF(f.signed_up_at IS NOT NULL) AS signups,
    COUNTIF(f.activated_at IS NOT NULL) AS activated,
    COUNTIF(f.paid_at IS NOT NULL) AS paid,
    SUM(f.seconds_to_signup) AS seconds_to_signup,
    COUNT(f.seconds_to_signup) AS timed_signups,
    SUM(f.seconds_to_activation) AS seconds_to_activation,
    COUNT(f.seconds_to_activation) AS timed_activations,
    SUM(f.seconds_to_paid) AS seconds_to_paid,
    COUNT(f.seconds_to_paid) AS timed_payments,
    SUM(f.seconds_visit_to_paid) AS seconds_visit_to_paid,
    COUNT(f.seconds_visit_to_paid) AS timed_visits_to_paid,
    LOGICAL_AND(f.is_window_complete) AS is_window_complete
  FROM acquisition.funnel_users AS f
  GROUP BY
    f.first_visit_date,
    f.channel
), cohort_days AS (
  /* each day's counts once per grain under its own channel and once under 'all' */
  SELECT
    g.grain AS cohort_grain,
    @period_first_day(@period_index(d.first_visit_date, g.grain), g.grain) AS cohort_start,
    @period_first_day(@period_index(d.first_visit_date, g.grain) + 1, g.grain) AS cohort_end,
    IF(c.is_all, 'all', d.channel) AS channel,
    d.visitors,
    d.signups,
    d.activated,
    d.paid,
    d.seconds_to_signup,
    d.timed_signups,
    d.seconds_to_activation,
    d.timed_activations,
    d.seconds_to_paid,
    d.timed_payments,
    d.seconds_visit_to_paid,
    d.timed_visits_to_paid,
    d.is_window_complete
  FROM visitor_days AS d
  CROSS JOIN grains AS g
  CROSS JOIN channel_rows AS c
), members AS (
  /* each visitor who signed up (every timed step follows a signup), once per grain under
     its own channel and once under 'all': the rows of the exact medians */
  SELECT
    g.grain AS cohort_grain,
    @period_first_day(@period_index(f.first_visit_date, g.grain), g.grain) AS cohort_start,
    IF(c.is_all, 'all', f.channel) AS channel,
    f.seconds_to_signup,
    f.seconds_to_activation,
    f.seconds_to_paid,
    f.seconds_visit_to_paid
  FROM acquisition.funnel_users AS f
  CROSS JOIN grains AS g
  CROSS JOIN channel_rows AS c
  WHERE
    f.seconds_to_signup IS NOT NULL
), step_times AS (
  /* one row per member and step reached, for the exact medians */
  SELECT m.cohort_grain, m.cohort_start, m.channel, 'signup' AS step, m.seconds_to_signup AS seconds FROM members AS m WHERE m.seconds_to_signup IS NOT NULL
  UNION ALL
  SELECT m.cohort_grain, m.cohort_start, m.channel, 'activation' AS step, m.seconds_to_activation AS seconds FROM members AS m WHERE m.seconds_to_activation IS NOT NULL
  UNION ALL
  SELECT m.cohort_grain, m.cohort_start, m.channel, 'paid' AS step, m.seconds_to_paid AS seconds FROM members AS m WHERE m.seconds_to_paid IS NOT NULL
  UNION ALL
  SELECT m.cohort_grain, m.cohort_start, m.channel, 'visit_to_paid' AS step, m.seconds_visit_to_paid AS seconds FROM members AS m WHERE m.seconds_visit_to_paid IS NOT NULL
), medians AS (
  SELECT
    r.cohort_grain,
    r.cohort_start,
    r.channel,
    @exact_median(r.seconds, r.step_rank, r.step_count, r.step = 'signup') / 3600 AS median_hours_to_signup,
    @exact_median(r.seconds, r.step_rank, r.step_count, r.step = 'activation') / 3600 AS median_hours_to_activation,
    @exact_median(r.seconds, r.step_rank, r.step_count, r.step = 'paid') / 3600 AS median_hours_to_paid,
    @exact_median(r.seconds, r.step_rank, r.step_count, r.step = 'visit_to_paid') / 3600 AS median_hours_visit_to_paid
  FROM (
    SELECT
      st.*,
      ROW_NUMBER() OVER (PARTITION BY st.cohort_grain, st.cohort_start, st.channel, st.step ORDER BY st.seconds) AS step_rank,
      COUNT(*) OVER (PARTITION BY st.cohort_grain, st.cohort_start, st.channel, st.step) AS step_count
    FROM step_times AS st
  ) AS r
  GROUP BY
    r.cohort_grain,
    r.cohort_start,
    r.channel
), counts AS (
  SELECT
    d.cohort_grain,
    d.cohort_start,
    MIN(d.cohort_end) AS cohort_end,
    d.channel,
    SUM(d.visitors) AS visitors,
    SUM(d.signups) AS signups,
    SUM(d.activated) AS activated,
    SUM(d.paid) AS paid,
    SAFE_DIVIDE(SUM(d.seconds_to_signup), SUM(d.timed_signups)) / 3600 AS avg_hours_to_signup,
    SAFE_DIVIDE(SUM(d.seconds_to_activation), SUM(d.timed_activations)) / 3600 AS avg_hours_to_activation,
    SAFE_DIVIDE(SUM(d.seconds_to_paid), SUM(d.timed_payments)) / 3600 AS avg_hours_to_paid,
    SAFE_DIVIDE(SUM(d.seconds_visit_to_paid), SUM(d.timed_visits_to_paid)) / 3600 AS avg_hours_visit_to_paid,
    LOGICAL_AND(d.is_window_complete) AS is_window_complete
  FROM cohort_days AS d
  GROUP BY
    d.cohort_grain,
    d.cohort_start,
    d.channel
)
SELECT
  c.cohort_grain::STRING AS cohort_grain, /* day | week | month */
  c.cohort_start::DATE AS cohort_start, /* first day of the cohort's period (first visit day) */
  c.cohort_end::DATE AS cohort_end, /* first day of the next period (exclusive end) */
  c.channel::STRING AS channel, /* channel of the first visit, or 'all' */
  c.visitors::INT64 AS visitors, /* visitors whose first visit is in the period */
  c.signups::INT64 AS signups, /* ... who then signed up within the window */
  c.activated::INT64 AS activated, /* ... then activated */
  c.paid::INT64 AS paid, /* ... then paid */
  ROUND(SAFE_DIVIDE(c.signups, c.visitors), 4)::FLOAT64 AS visit_to_signup_rate, /* signups / visitors */
  ROUND(SAFE_DIVIDE(c.activated, c.signups), 4)::FLOAT64 AS signup_to_activation_rate, /* activated / signups; NULL without signups */
  ROUND(SAFE_DIVIDE(c.paid, c.activated), 4)::FLOAT64 AS activation_to_paid_rate, /* paid / activated; NULL without activations */
  ROUND(SAFE_DIVIDE(c.paid, c.visitors), 4)::FLOAT64 AS visit_to_paid_rate, /* paid / visitors: the overall rate */
  ROUND(c.avg_hours_to_signup, 2)::FLOAT64 AS avg_hours_to_signup, /* visit -> signup, mean hours */
  ROUND(m.median_hours_to_signup, 2)::FLOAT64 AS median_hours_to_signup, /* visit -> signup, median hours */
  ROUND(c.avg_hours_to_activation, 2)::FLOAT64 AS avg_hours_to_activation, /* signup -> activation, mean hours */
  ROUND(m.median_hours_to_activation, 2)::FLOAT64 AS median_hours_to_activation, /* signup -> activation, median hours */
  ROUND(c.avg_hours_to_paid, 2)::FLOAT64 AS avg_hours_to_paid, /* activation -> paid, mean hours */
  ROUND(m.median_hours_to_paid, 2)::FLOAT64 AS median_hours_to_paid, /* activation -> paid, median hours */
  ROUND(c.avg_hours_visit_to_paid, 2)::FLOAT64 AS avg_hours_visit_to_paid, /* visit -> paid, mean hours */
  ROUND(m.median_hours_visit_to_paid, 2)::FLOAT64 AS median_hours_visit_to_paid, /* visit -> paid, median hours */
  c.is_window_complete::BOOL AS is_window_complete /* every visitor's conversion window has closed inside the data: the counts are final */
FROM counts AS c
LEFT JOIN medians AS m
  ON m.cohort_grain = c.cohort_grain AND m.cohort_start = c.cohort_start AND m.channel = c.channel
