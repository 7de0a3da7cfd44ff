/* Every source id resolves to exactly one user: one is_primary row per (id_type, source_id). */
AUDIT (
  name one_primary_per_source_id
);

SELECT
  id_type,
  source_id,
  COUNTIF(is_primary) AS primary_links
FROM @this_model
GROUP BY
  id_type,
  source_id
HAVING
  COUNTIF(is_primary) <> 1
