/* Sessions: one row per session (see product.fct_events), on the UTC day it started.
   Reads one day past the interval so a session that crosses midnight is complete; the
   lookback rebuilds yesterday's sessions when today's events extend them. */
MODEL (
  name product.fct_sessions,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column session_date,
    lookback 7,
    batch_size 31 /* a first build or restatement goes a month at a time: each batch fits in memory */
  ),
  grain session_id,
  partitioned_by session_date,
  clustered_by (user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_sessions')]),
  audits (
    unique_values(columns := (session_id)),
    not_null(columns := (session_id, actor_id, session_date, started_at, ended_at, events, channel, platform)),
    accepted_range(column := duration_seconds, min_v := 0),
    accepted_range(column := events, min_v := 1)
  )
);

WITH events AS (
  SELECT
    e.session_id,
    e.actor_id,
    e.user_id,
    e.anonymous_id,
    e.event_type,
    e.event_name,
    e.event_at,
    e.session_started_at,
    e.event_sequence_in_session,
    e.platform,
    e.country,
    e.city,
    e.channel,
    e.page_path,
    e.utm_source,
    e.utm_medium,
    e.utm_campaign
  FROM product.fct_events AS e
  WHERE
    e.event_date BETWEEN @start_ds AND DATE_ADD(@end_ds, INTERVAL 1 DAY)
)
SELECT
  e.session_id::STRING AS session_id, /* session id (hash of actor and start) */
  e.actor_id::STRING AS actor_id, /* user_id, else 'anonymous:' || anonymous_id */
  MAX(e.user_id)::STRING AS user_id, /* the session's user, NULL for an anonymous session */
  MAX_BY(e.anonymous_id, e.event_sequence_in_session = 1)::STRING AS anonymous_id, /* anonymous_id of the landing event */
  DATE(MIN(e.event_at)) AS session_date, /* UTC day the session started */
  MIN(e.event_at)::TIMESTAMP AS started_at, /* first event, UTC */
  MAX(e.event_at)::TIMESTAMP AS ended_at, /* last event, UTC */
  FLOOR(TIMESTAMP_DIFF(MAX(e.event_at), MIN(e.event_at), MICROSECOND) / 1000000)::INT64 AS duration_seconds, /* last - first event, whole seconds */
  COUNT(*)::INT64 AS events, /* events and page views in the session */
  COUNTIF(e.event_type = 'page')::INT64 AS page_views, /* page views in the session */
  COUNTIF(e.event_type = 'track')::INT64 AS track_events, /* product events in the session */
  MAX_BY(e.page_path, e.event_sequence_in_session = 1)::STRING AS landing_page, /* path of the first page, NULL if the session starts in the app */
  ANY_VALUE(e.channel)::STRING AS channel, /* acquisition channel of the landing event */
  MAX_BY(e.utm_source, e.event_sequence_in_session = 1)::STRING AS utm_source, /* landing utm_source */
  MAX_BY(e.utm_medium, e.event_sequence_in_session = 1)::STRING AS utm_medium, /* landing utm_medium */
  MAX_BY(e.utm_campaign, e.event_sequence_in_session = 1)::STRING AS utm_campaign, /* landing utm_campaign */
  MAX_BY(e.platform, e.event_sequence_in_session = 1)::STRING AS platform, /* platform of the landing event */
  MAX_BY(e.country, e.event_sequence_in_session = 1)::STRING AS country, /* country of the landing event */
  MAX_BY(e.city, e.event_sequence_in_session = 1)::STRING AS city, /* city of the landing event, NULL when it is a track event */
  MIN(IF(@in_list(e.event_name, @VAR('funnel_visit_events')), e.event_at, NULL))::TIMESTAMP AS first_visit_event_at /* first funnel "visit" event (default: a page view) in the session, UTC; NULL without one */
FROM events AS e
GROUP BY
  e.session_id,
  e.actor_id
HAVING
  DATE(MIN(e.event_at)) BETWEEN @start_ds AND @end_ds
  AND MIN(e.session_started_at) = MIN(e.event_at)
