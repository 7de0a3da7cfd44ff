/* Every Segment row can be tied to someone: anonymous_id or user_id is set. */
AUDIT (
  name at_least_one_identity
);

SELECT
  *
FROM @this_model
WHERE
  anonymous_id IS NULL AND user_id IS NULL
