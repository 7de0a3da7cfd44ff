/* Web page views, typed, renamed and deduplicated. One row per Segment page message id
   (the first copy received wins); rows the staging rules reject are in staging.stg_quarantine.
   Incremental by the day the page was viewed; the lookback re-reads recent days so
   late-arriving messages land in their own day. */
MODEL (
  name staging.stg_segment__pages,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column event_date,
    lookback 7,
    batch_size 31 /* a first build or restatement goes a month at a time: each batch fits in memory */
  ),
  grain page_view_id,
  partitioned_by event_date,
  clustered_by (anonymous_id, user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_segment__pages')]),
  audits (
    unique_values(columns := (page_view_id)),
    not_null(columns := (page_view_id, viewed_at, event_date, received_at)),
    at_least_one_identity
  )
);

WITH source AS (
  SELECT
    id,
    anonymous_id,
    user_id,
    timestamp,
    received_at,
    url,
    path,
    referrer,
    title,
    context_campaign_source,
    context_campaign_medium,
    context_campaign_name,
    context_campaign_term,
    context_campaign_content,
    context_user_agent,
    context_locale,
    context_location_country,
    context_location_city,
    COUNT(*) OVER (PARTITION BY id) AS raw_copies
  FROM raw_segment.pages
  WHERE
    @is_valid_raw_row('raw_segment.pages')
    AND timestamp BETWEEN @start_ts AND @end_ts
), deduplicated AS (
  @deduplicate(source, [id], ['received_at', 'anonymous_id'])
), utm AS (
  SELECT
    *,
    LOWER(TRIM(context_campaign_source)) AS utm_source,
    LOWER(TRIM(context_campaign_medium)) AS utm_medium
  FROM deduplicated
)
SELECT
  utm.id::STRING AS page_view_id, /* Segment message id */
  utm.anonymous_id::STRING AS anonymous_id, /* device/browser id before and after identify */
  utm.user_id::STRING AS user_id, /* app user id when the visitor was identified at the time */
  utm.timestamp::TIMESTAMP AS viewed_at, /* when the page was viewed, UTC */
  DATE(utm.timestamp) AS event_date, /* UTC day of viewed_at */
  utm.received_at::TIMESTAMP AS received_at, /* when Segment received the message, UTC */
  utm.raw_copies::INT64 AS raw_copies, /* valid raw copies of this message id that staging read and merged into this row (1 = no duplicate) */
  FLOOR(TIMESTAMP_DIFF(utm.received_at, utm.timestamp, MICROSECOND) / 1000000)::INT64 AS arrival_delay_seconds, /* received_at - viewed_at */
  utm.url::STRING AS url, /* full URL */
  utm.path::STRING AS page_path, /* URL path, e.g. /pricing */
  utm.referrer::STRING AS referrer, /* referring URL, NULL for direct */
  LOWER(REGEXP_EXTRACT(utm.referrer, r'^[a-zA-Z]+://([^/:?#]+)'))::STRING AS referrer_host, /* host of the referrer */
  utm.title::STRING AS page_title, /* document title */
  utm.utm_source::STRING AS utm_source, /* lower-cased utm_source */
  utm.utm_medium::STRING AS utm_medium, /* lower-cased utm_medium */
  utm.context_campaign_name::STRING AS utm_campaign, /* utm_campaign as sent */
  utm.context_campaign_term::STRING AS utm_term, /* utm_term */
  utm.context_campaign_content::STRING AS utm_content, /* utm_content */
  (
    CASE
      WHEN utm.utm_source IS NULL AND utm.utm_medium IS NULL
      THEN NULL
      ELSE COALESCE(ch.channel, 'other')
    END
  )::STRING AS utm_channel, /* channel of this page's own UTMs (seeds.utm_channel_mapping), 'other' if unmapped, NULL without UTMs */
  utm.context_user_agent::STRING AS user_agent, /* browser user agent */
  utm.context_locale::STRING AS locale, /* browser locale, e.g. en-US */
  utm.context_location_country::STRING AS country, /* country from IP geolocation */
  utm.context_location_city::STRING AS city /* city from IP geolocation */
FROM utm
LEFT JOIN seeds.utm_channel_mapping AS ch
  ON ch.utm_source = COALESCE(utm.utm_source, '(direct)')
  AND ch.utm_medium = COALESCE(utm.utm_medium, '(none)')
