/* customers.health_scores: health_score is the mean of the four sub-scores weighted by the
   health_weight_* variables (as a share of their sum), to the rounding of the displayed
   sub-scores (0.05 each) and of the score itself (0.05). Returns the rows that are not. */
AUDIT (
  name customers_health_score_is_weighted_mean
);

SELECT
  *
FROM @this_model
WHERE
  ABS(
    health_score - (
      @VAR('health_weight_engagement') * engagement_score
      + @VAR('health_weight_feature_breadth') * feature_breadth_score
      + @VAR('health_weight_recency') * recency_score
      + @VAR('health_weight_payment') * payment_score
    ) / (
      @VAR('health_weight_engagement')
      + @VAR('health_weight_feature_breadth')
      + @VAR('health_weight_recency')
      + @VAR('health_weight_payment')
    )
  ) > 0.1001
