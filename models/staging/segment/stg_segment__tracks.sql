/* Product events, typed, renamed and deduplicated, with the JSON properties extracted and
   the event's feature and product from seeds.feature_catalog. One row per Segment track
   message id (the first copy received wins); rejected rows are in staging.stg_quarantine.
   Incremental by the day the event happened; the lookback re-reads recent days so
   late-arriving messages land in their own day. */
MODEL (
  name staging.stg_segment__tracks,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column event_date,
    lookback 7,
    batch_size 31 /* a first build or restatement goes a month at a time: each batch fits in memory */
  ),
  grain event_id,
  partitioned_by event_date,
  clustered_by (user_id, event_name),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_segment__tracks')]),
  audits (
    unique_values(columns := (event_id)),
    not_null(columns := (event_id, event_name, event_at, event_date, received_at, feature, product)),
    at_least_one_identity,
    accepted_values(column := platform, is_in := ('web', 'ios', 'android', 'unknown'))
  )
);

WITH source AS (
  SELECT
    id,
    anonymous_id,
    user_id,
    event,
    event_text,
    timestamp,
    received_at,
    sent_at,
    context_device_type,
    context_location_country,
    context_campaign_source,
    context_campaign_medium,
    context_campaign_name,
    properties,
    COUNT(*) OVER (PARTITION BY id) AS raw_copies
  FROM raw_segment.tracks
  WHERE
    @is_valid_raw_row('raw_segment.tracks')
    AND timestamp BETWEEN @start_ts AND @end_ts
), deduplicated AS (
  @deduplicate(source, [id], ['received_at', 'anonymous_id'])
)
SELECT
  t.id::STRING AS event_id, /* Segment message id */
  t.anonymous_id::STRING AS anonymous_id, /* device/browser id */
  t.user_id::STRING AS user_id, /* app user id, NULL before identify */
  t.event::STRING AS event_name, /* snake_case event name, a key of seeds.feature_catalog */
  t.event_text::STRING AS event_text, /* event name as sent */
  t.timestamp::TIMESTAMP AS event_at, /* when the event happened, UTC */
  DATE(t.timestamp) AS event_date, /* UTC day of event_at */
  t.received_at::TIMESTAMP AS received_at, /* when Segment received the message, UTC */
  t.raw_copies::INT64 AS raw_copies, /* valid raw copies of this message id that staging read and merged into this row (1 = no duplicate) */
  t.sent_at::TIMESTAMP AS sent_at, /* when the client sent the message, UTC */
  FLOOR(TIMESTAMP_DIFF(t.received_at, t.timestamp, MICROSECOND) / 1000000)::INT64 AS arrival_delay_seconds, /* received_at - event_at */
  COALESCE(LOWER(t.context_device_type), 'unknown')::STRING AS platform, /* web | ios | android | unknown */
  t.context_location_country::STRING AS country, /* country from IP geolocation */
  LOWER(TRIM(t.context_campaign_source))::STRING AS utm_source, /* lower-cased utm_source */
  LOWER(TRIM(t.context_campaign_medium))::STRING AS utm_medium, /* lower-cased utm_medium */
  t.context_campaign_name::STRING AS utm_campaign, /* utm_campaign */
  COALESCE(JSON_VALUE(t.properties, '$.feature'), fc.feature)::STRING AS feature, /* properties.feature, else the catalog's feature */
  COALESCE(JSON_VALUE(t.properties, '$.product'), fc.product)::STRING AS product, /* properties.product, else the catalog's product */
  JSON_VALUE(t.properties, '$.plan')::STRING AS plan, /* properties.plan (checkout events) */
  fc.is_key_action::BOOL AS is_key_action, /* a key action of the catalog (activation) */
  (
    CASE
      WHEN t.event = 'credits_earned'
      THEN SAFE_CAST(JSON_VALUE(t.properties, '$.amount') AS FLOAT64)
      WHEN t.event = 'credits_spent'
      THEN -SAFE_CAST(JSON_VALUE(t.properties, '$.amount') AS FLOAT64)
    END
  )::FLOAT64 AS credits_delta, /* credits earned (+) or spent (-) by this event, NULL for other events */
  t.properties::STRING AS properties /* the raw JSON properties */
FROM deduplicated AS t
INNER JOIN seeds.feature_catalog AS fc
  ON fc.event = t.event
