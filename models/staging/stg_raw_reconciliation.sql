/* Where every raw row went. One row per raw table and processed day (the last day of each
   batch a plan or run processes): raw rows = staged + duplicates + rejected + pending,
   audited on every build. Pending rows are valid rows of an incremental source dated
   after that day, and rejected Segment rows received after it (the quarantine collects
   them by arrival day). Segment's history is not re-checked: rejected rows are counted in
   staging.stg_quarantine__segment and duplicates from the staging models' raw_copies, so
   a daily run reads only what arrived. A failure means staging
   lost rows: typically events that arrived later than the incremental lookback, which a
   restatement of the staging model recovers (README, "Late data"). */
MODEL (
  name staging.stg_raw_reconciliation,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column as_of_date
  ),
  grain (as_of_date, raw_table),
  partitioned_by as_of_date,
  clustered_by (raw_table),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_raw_reconciliation')]),
  audits (
    unique_combination_of_columns(columns := (as_of_date, raw_table)),
    raw_rows_reconcile(blocking := FALSE)
  )
);

WITH accounts AS (
  @raw_row_accounts(@end_ts)
)
SELECT
  DATE(@end_ts) AS as_of_date, /* the last processed day these counts are as of (UTC) */
  a.raw_table::STRING AS raw_table, /* raw table, e.g. raw_segment.tracks */
  a.staging_model::STRING AS staging_model, /* the staging model that keeps its valid rows */
  a.raw_rows::INT64 AS raw_rows, /* rows in the raw table */
  a.staged_rows::INT64 AS staged_rows, /* rows in the staging model */
  a.duplicate_rows::INT64 AS duplicate_rows, /* valid rows repeating a key already staged (Segment: the copies staging merged, raw_copies - 1) */
  a.rejected_rows::INT64 AS rejected_rows, /* rows in staging.stg_quarantine (Segment: collected by the end of the processed day) */
  a.pending_rows::INT64 AS pending_rows, /* valid rows dated after the last processed interval (Segment: also rejected rows received after it) */
  (a.raw_rows - a.staged_rows - a.duplicate_rows - a.rejected_rows - a.pending_rows)::INT64 AS unaccounted_rows /* must be 0 */
FROM accounts AS a
