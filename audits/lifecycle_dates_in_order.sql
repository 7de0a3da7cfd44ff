/* A user's lifecycle happens in order: first seen <= signup <= activation, and
   activation within the activation window. */
AUDIT (
  name lifecycle_dates_in_order
);

SELECT
  *
FROM @this_model
WHERE
  first_seen_at > signup_at
  OR activated_at < signup_at
  OR activated_at > TIMESTAMP_ADD(signup_at, INTERVAL @VAR('activation_window_days') DAY)
