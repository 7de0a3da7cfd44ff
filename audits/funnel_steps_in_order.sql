/* Funnel steps happen in order, each strictly after the previous one and inside the
   conversion window, and a step is only reached through the one before it. */
AUDIT (
  name funnel_steps_in_order
);

SELECT
  *
FROM @this_model
WHERE
  signed_up_at <= first_visit_at
  OR activated_at <= signed_up_at
  OR paid_at <= activated_at
  OR (activated_at IS NOT NULL AND signed_up_at IS NULL)
  OR (paid_at IS NOT NULL AND activated_at IS NULL)
  OR GREATEST(COALESCE(signed_up_at, first_visit_at), COALESCE(activated_at, first_visit_at), COALESCE(paid_at, first_visit_at)) > window_ends_at
