/* Raw rows staging rejected, with the reason. One row per rejected raw row (test-mode
   Stripe rows included, reason 'test_mode'). The rules live in macros/staging.py and are
   the same ones the staging models filter with, so nothing is dropped unseen:
   raw = staged + duplicates + rejected (+ pending) is audited in
   staging.stg_raw_reconciliation.

   A view: Segment's rejected rows come from staging.stg_quarantine__segment, collected
   incrementally by the day they arrived (so a daily run does not re-check years of
   events); the other sources' tables are small and change in place, so their rules are
   applied to the whole table whenever the view is read. */
MODEL (
  name staging.stg_quarantine,
  kind VIEW,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_quarantine')]),
  audits (
    not_null(columns := (raw_table, raw_key, reject_reason)),
    accepted_values(column := reject_reason, is_in := (
      'missing_id', 'missing_identity', 'missing_user_id', 'missing_timestamp',
      'unparsable_timestamp', 'before_project_start', 'future_timestamp',
      'unknown_event', 'malformed_properties', 'invalid_amount', 'unknown_currency',
      'unknown_interval', 'test_mode'
    ))
  )
);

WITH rejected AS (
  SELECT
    s.raw_table,
    s.raw_key,
    s.raw_timestamp,
    s.reject_reason
  FROM staging.stg_quarantine__segment AS s
  UNION ALL
  @quarantined_rows('snapshots')
)
SELECT
  r.raw_table::STRING AS raw_table, /* the raw table the row came from, e.g. raw_segment.tracks */
  r.raw_key::STRING AS raw_key, /* the row's key (id, or the composite key joined by '|'); '<null>' for a missing part */
  r.raw_timestamp::TIMESTAMP AS raw_timestamp, /* the row's own timestamp, as loaded (may be the very reason) */
  r.reject_reason::STRING AS reject_reason /* the first staging rule the row breaks */
FROM rejected AS r
