/* Nothing vanishes in staging: raw = staged + duplicates + rejected + pending, per table. */
AUDIT (
  name raw_rows_reconcile
);

SELECT
  *
FROM @this_model
WHERE
  raw_rows <> staged_rows + duplicate_rows + rejected_rows + pending_rows
