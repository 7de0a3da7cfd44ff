/* Each conversion's credit is whole under every attribution model: its weights sum to 1. */
AUDIT (
  name attribution_weights_sum_to_one
);

SELECT
  conversion_id,
  SUM(first_touch_weight) AS first_touch,
  SUM(last_touch_weight) AS last_touch,
  SUM(linear_weight) AS linear,
  SUM(position_based_weight) AS position_based,
  SUM(time_decay_weight) AS time_decay
FROM @this_model
GROUP BY
  conversion_id
HAVING
  ABS(SUM(first_touch_weight) - 1) > 1e-9
  OR ABS(SUM(last_touch_weight) - 1) > 1e-9
  OR ABS(SUM(linear_weight) - 1) > 1e-9
  OR ABS(SUM(position_based_weight) - 1) > 1e-9
  OR ABS(SUM(time_decay_weight) - 1) > 1e-9
