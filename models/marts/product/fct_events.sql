/* Product events and page views, stitched to users and sessionized. One row per staged
   track or page event. The user is the event's own user_id, else the user its anonymous_id
   was first identified as, if that identify happened on or before the event's day (so a
   day's rows never change when later identifies arrive). A session is an actor's run of
   events with no gap over @VAR('session_timeout_minutes'); sessions are read with one day
   of context before the interval, so a session may cross midnight. */
MODEL (
  name product.fct_events,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column event_date,
    lookback 7,
    batch_size 31 /* a first build or restatement goes a month at a time: each batch fits in memory */
  ),
  grain event_id,
  partitioned_by event_date,
  clustered_by (user_id, event_name),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_events')]),
  audits (
    unique_values(columns := (event_id)),
    not_null(columns := (event_id, event_type, event_name, event_at, event_date, actor_id, session_id, is_session_start, event_sequence_in_session, channel)),
    accepted_values(column := event_type, is_in := ('track', 'page')),
    one_session_start_per_session
  )
);

WITH events AS (
  SELECT
    t.event_id,
    'track' AS event_type,
    t.event_name,
    t.anonymous_id,
    t.user_id,
    t.event_at,
    t.event_date,
    t.platform,
    t.country,
    CAST(NULL AS STRING) AS city,
    t.feature,
    t.product,
    t.is_key_action,
    t.credits_delta,
    CAST(NULL AS STRING) AS page_path,
    CAST(NULL AS STRING) AS referrer_host,
    CAST(NULL AS STRING) AS utm_channel,
    t.utm_source,
    t.utm_medium,
    t.utm_campaign
  FROM staging.stg_segment__tracks AS t
  WHERE
    t.event_date BETWEEN DATE_SUB(@start_ds, INTERVAL 1 DAY) AND @end_ds
  UNION ALL
  SELECT
    p.page_view_id AS event_id,
    'page' AS event_type,
    'page_viewed' AS event_name,
    p.anonymous_id,
    p.user_id,
    p.viewed_at AS event_at,
    p.event_date,
    'web' AS platform,
    p.country,
    p.city,
    CAST(NULL AS STRING) AS feature,
    CAST(NULL AS STRING) AS product,
    FALSE AS is_key_action,
    CAST(NULL AS FLOAT64) AS credits_delta,
    p.page_path,
    p.referrer_host,
    p.utm_channel,
    p.utm_source,
    p.utm_medium,
    p.utm_campaign
  FROM staging.stg_segment__pages AS p
  WHERE
    p.event_date BETWEEN DATE_SUB(@start_ds, INTERVAL 1 DAY) AND @end_ds
), identified AS (
  SELECT
    m.source_id AS anonymous_id,
    m.user_id,
    DATE(m.first_linked_at) AS identified_date
  FROM staging.stg_identity_map AS m
  WHERE
    m.id_type = 'anonymous_id' AND m.is_primary
), stitched AS (
  SELECT
    e.*,
    COALESCE(e.user_id, IF(i.identified_date <= e.event_date, i.user_id, NULL)) AS stitched_user_id
  FROM events AS e
  LEFT JOIN identified AS i
    ON i.anonymous_id = e.anonymous_id
), gaps AS (
  SELECT
    s.*,
    @visitor_id(s.stitched_user_id, s.anonymous_id) AS actor_id,
    COALESCE(
      TIMESTAMP_DIFF(
        s.event_at,
        LAG(s.event_at) OVER (
          PARTITION BY @visitor_id(s.stitched_user_id, s.anonymous_id)
          ORDER BY s.event_at, s.event_id
        ),
        MICROSECOND
      ) > @VAR('session_timeout_minutes') * 60 * 1000000,
      TRUE
    ) AS is_session_start
  FROM stitched AS s
), numbered AS (
  SELECT
    g.*,
    SUM(IF(g.is_session_start, 1, 0)) OVER (
      PARTITION BY g.actor_id
      ORDER BY g.event_at, g.event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS session_number
  FROM gaps AS g
), sessions AS (
  SELECT
    n.*,
    MIN(n.event_at) OVER (PARTITION BY n.actor_id, n.session_number) AS session_started_at,
    ROW_NUMBER() OVER (PARTITION BY n.actor_id, n.session_number ORDER BY n.event_at, n.event_id) AS event_sequence_in_session,
    FIRST_VALUE(n.event_type) OVER (
      PARTITION BY n.actor_id, n.session_number
      ORDER BY n.event_at, n.event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS landing_event_type,
    FIRST_VALUE(n.utm_channel) OVER (
      PARTITION BY n.actor_id, n.session_number
      ORDER BY n.event_at, n.event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS landing_utm_channel,
    FIRST_VALUE(n.referrer_host) OVER (
      PARTITION BY n.actor_id, n.session_number
      ORDER BY n.event_at, n.event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS landing_referrer_host
  FROM numbered AS n
)
SELECT
  s.event_id::STRING AS event_id, /* Segment message id of the track or page */
  s.event_type::STRING AS event_type, /* track | page */
  s.event_name::STRING AS event_name, /* track event name, or page_viewed */
  s.stitched_user_id::STRING AS user_id, /* the user: own user_id, else the user the anonymous_id was identified as by that day; NULL for anonymous activity */
  s.anonymous_id::STRING AS anonymous_id, /* device/browser id */
  s.actor_id::STRING AS actor_id, /* who sessions are cut for: user_id, else 'anonymous:' || anonymous_id */
  s.event_at::TIMESTAMP AS event_at, /* when it happened, UTC */
  s.event_date::DATE AS event_date, /* UTC day of event_at */
  s.platform::STRING AS platform, /* web | ios | android | unknown */
  s.country::STRING AS country, /* country from IP geolocation */
  s.city::STRING AS city, /* city from IP geolocation of a page view, NULL for track events */
  s.feature::STRING AS feature, /* product feature of a track event (seeds.feature_catalog), NULL for pages */
  s.product::STRING AS product, /* product the feature belongs to */
  COALESCE(s.is_key_action, FALSE)::BOOL AS is_key_action, /* a key action (activation) */
  s.credits_delta::FLOAT64 AS credits_delta, /* credits earned (+) or spent (-), NULL for other events */
  s.page_path::STRING AS page_path, /* URL path of a page view */
  s.utm_source::STRING AS utm_source, /* the event's own utm_source */
  s.utm_medium::STRING AS utm_medium, /* the event's own utm_medium */
  s.utm_campaign::STRING AS utm_campaign, /* the event's own utm_campaign */
  @session_channel(s.landing_event_type, s.landing_utm_channel, s.landing_referrer_host)::STRING AS channel, /* the session's acquisition channel, from its landing event */
  TO_HEX(MD5(CONCAT(s.actor_id, '|', CAST(UNIX_MICROS(s.session_started_at) AS STRING))))::STRING AS session_id, /* hash of actor and session start */
  s.session_started_at::TIMESTAMP AS session_started_at, /* first event of the session, UTC */
  s.is_session_start::BOOL AS is_session_start, /* first event of its session */
  s.event_sequence_in_session::INT64 AS event_sequence_in_session /* 1, 2, ... within the session */
FROM sessions AS s
WHERE
  s.event_date BETWEEN @start_ds AND @end_ds
