/* The versions of a subscription tile its history without gap or overlap: each version
   ends (valid_to, exclusive) exactly where the next one starts (valid_from), after it
   starts; only the latest version is open (valid_to NULL) and it alone is current. */
AUDIT (
  name subscription_versions_do_not_overlap
);

WITH versions AS (
  SELECT
    subscription_id,
    valid_from,
    valid_to,
    is_current,
    LEAD(valid_from) OVER (PARTITION BY subscription_id ORDER BY valid_from) AS next_valid_from
  FROM @this_model
)
SELECT
  *
FROM versions
WHERE
  valid_to IS DISTINCT FROM next_valid_from
  OR valid_to <= valid_from
  OR is_current IS DISTINCT FROM (next_valid_from IS NULL)
