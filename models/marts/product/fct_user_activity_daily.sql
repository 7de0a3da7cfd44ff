/* What each identified user did each day: one row per user and UTC day with at least one
   qualifying event (DESIGN.md "Active user": by default any track or page event; the
   event types are @VAR('active_event_types'), excluded track events
   @VAR('inactive_events')). The base of every engagement metric. */
MODEL (
  name product.fct_user_activity_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column activity_date,
    lookback 7,
    batch_size 31 /* a first build or restatement goes a month at a time: each batch fits in memory */
  ),
  grain (user_id, activity_date),
  partitioned_by activity_date,
  clustered_by (user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_user_activity_daily')]),
  audits (
    unique_combination_of_columns(columns := (user_id, activity_date)),
    not_null(columns := (user_id, activity_date, events, sessions, credits_earned, credits_spent)),
    accepted_range(column := events, min_v := 1)
  )
);

SELECT
  e.user_id::STRING AS user_id, /* app user id */
  e.event_date::DATE AS activity_date, /* UTC day */
  COUNT(*)::INT64 AS events, /* qualifying events and page views that day */
  COUNTIF(e.event_type = 'track')::INT64 AS track_events, /* product events that day */
  COUNTIF(e.event_type = 'page')::INT64 AS page_views, /* page views that day */
  COUNT(DISTINCT e.session_id)::INT64 AS sessions, /* sessions with an event that day */
  COUNT(DISTINCT e.feature)::INT64 AS features_used, /* distinct features used */
  COUNTIF(e.is_key_action)::INT64 AS key_actions, /* key-action events */
  ROUND(COALESCE(SUM(IF(e.credits_delta > 0, e.credits_delta, 0)), 0), 2)::FLOAT64 AS credits_earned, /* credits earned that day */
  ROUND(COALESCE(SUM(IF(e.credits_delta < 0, -e.credits_delta, 0)), 0), 2)::FLOAT64 AS credits_spent, /* credits spent that day */
  MIN(e.event_at)::TIMESTAMP AS first_event_at, /* first event, UTC */
  MAX(e.event_at)::TIMESTAMP AS last_event_at /* last event, UTC */
FROM product.fct_events AS e
WHERE
  e.user_id IS NOT NULL
  AND @in_list(e.event_type, @VAR('active_event_types'))
  AND NOT @in_list(e.event_name, @VAR('inactive_events'))
  AND e.event_date BETWEEN @start_ds AND @end_ds
GROUP BY
  e.user_id,
  e.event_date
