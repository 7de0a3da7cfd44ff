/* Raw rows staging rejected, with the reason. One row per rejected raw row (test-mode
   Stripe rows included, reason 'test_mode'). The rules live in macros/staging.py and are
   the same ones the staging models filter with, so nothing is dropped unseen:
   raw = staged + duplicates + rejected (+ pending) is audited in
   staging.stg_raw_reconciliation. */
MODEL (
  name staging.stg_quarantine,
  kind FULL,
  clustered_by (raw_table, reject_reason),
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
  @quarantined_rows()
)
SELECT
  r.raw_table::STRING AS raw_table, /* the raw table the row came from, e.g. raw_segment.tracks */
  r.raw_key::STRING AS raw_key, /* the row's key (id, or the composite key joined by '|'); '<null>' for a missing part */
  r.raw_timestamp::TIMESTAMP AS raw_timestamp, /* the row's own timestamp, as loaded (may be the very reason) */
  r.reject_reason::STRING AS reject_reason /* the first staging rule the row breaks */
FROM rejected AS r
