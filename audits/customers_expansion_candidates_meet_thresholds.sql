/* customers.health_scores: every expansion candidate is on the starter plan with at least
   expansion_min_features features and expansion_min_active_days active days in the window,
   and has its reason spelled out. Returns the candidates that are not. */
AUDIT (
  name customers_expansion_candidates_meet_thresholds
);

SELECT
  *
FROM @this_model
WHERE
  is_expansion_candidate
  AND (
    current_plan_tier <> 'starter'
    OR window_features_used < @VAR('expansion_min_features')
    OR window_active_days < @VAR('expansion_min_active_days')
    OR flag_reasons IS NULL
  )
