/* Identify calls: an anonymous_id tied to a user_id, with the user's traits at that time.
   One row per Segment identify message id (the first copy received wins); rejected rows
   are in staging.stg_quarantine. Incremental by the day the identify happened, as the
   events are; the lookback re-reads recent days so late-arriving messages land in their
   own day. */
MODEL (
  name staging.stg_segment__identifies,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column identify_date,
    lookback 7,
    batch_size 366 /* a first build or restatement goes a year at a time */
  ),
  grain identify_id,
  partitioned_by identify_date,
  clustered_by (anonymous_id, user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_segment__identifies')]),
  audits (
    unique_values(columns := (identify_id)),
    not_null(columns := (identify_id, user_id, identified_at, identify_date))
  )
);

WITH source AS (
  SELECT
    id,
    anonymous_id,
    user_id,
    timestamp,
    received_at,
    email,
    name,
    company_id,
    company_name,
    COUNT(*) OVER (PARTITION BY id) AS raw_copies
  FROM raw_segment.identifies
  WHERE
    @is_valid_raw_row('raw_segment.identifies')
    AND timestamp BETWEEN @start_ts AND @end_ts
), deduplicated AS (
  @deduplicate(source, [id], ['received_at', 'anonymous_id'])
)
SELECT
  i.id::STRING AS identify_id, /* Segment message id */
  i.anonymous_id::STRING AS anonymous_id, /* the device/browser id being identified (NULL for server-side identifies) */
  i.user_id::STRING AS user_id, /* app user id */
  i.timestamp::TIMESTAMP AS identified_at, /* when the identify happened, UTC */
  DATE(i.timestamp) AS identify_date, /* UTC day of identified_at */
  i.received_at::TIMESTAMP AS received_at, /* when Segment received it, UTC */
  i.raw_copies::INT64 AS raw_copies, /* valid raw copies of this message id that staging read and merged into this row (1 = no duplicate) */
  i.email::STRING AS email, /* email trait as sent */
  @normalize_email(i.email)::STRING AS email_normalized, /* lower-case, trimmed email: the key for matching Stripe customers */
  i.name::STRING AS user_name, /* name trait */
  i.company_id::STRING AS company_id, /* B2B company id trait */
  i.company_name::STRING AS company_name /* B2B company name trait */
FROM deduplicated AS i
