/* Rejected Segment rows (pages, tracks, identifies), with the reason, collected by the day
   they arrived: one row per rejected raw row, dated by received_at. A row received before
   the project start, or with no received_at, counts as arriving at the project start.
   Incremental, so a daily run reads only the rows delivered since the last one (the
   lookback re-reads a week, for a loader that delivers a day's rows late); the rules are
   those of macros/staging.py, as for the staging models. Read it through
   staging.stg_quarantine, which adds the other sources' rejected rows. No grain: two
   copies of one rejected message are two rows, as they are two raw rows. */
MODEL (
  name staging.stg_quarantine__segment,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column arrival_date,
    lookback 7
  ),
  partitioned_by arrival_date,
  clustered_by (raw_table, reject_reason),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_quarantine__segment')]),
  audits (
    not_null(columns := (raw_table, raw_key, reject_reason, arrived_at, arrival_date)),
    accepted_values(column := reject_reason, is_in := (
      'missing_id', 'missing_identity', 'missing_user_id', 'unparsable_timestamp',
      'before_project_start', 'future_timestamp', 'unknown_event', 'malformed_properties',
      'invalid_amount'
    ))
  )
);

WITH rejected AS (
  @quarantined_rows('arrivals', @start_ts, @end_ts)
)
SELECT
  r.raw_table::STRING AS raw_table, /* raw_segment.pages, raw_segment.tracks or raw_segment.identifies */
  r.raw_key::STRING AS raw_key, /* the row's id; '<null>' when missing */
  r.raw_timestamp::TIMESTAMP AS raw_timestamp, /* the row's own timestamp, as loaded (may be the very reason) */
  r.reject_reason::STRING AS reject_reason, /* the first staging rule the row breaks */
  r.arrived_at::TIMESTAMP AS arrived_at, /* received_at; the project start for a row received before it or never */
  DATE(r.arrived_at) AS arrival_date /* UTC day of arrived_at: the interval the row is collected in */
FROM rejected AS r
