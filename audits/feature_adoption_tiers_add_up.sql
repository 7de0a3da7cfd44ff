/* product.feature_adoption: the plan tiers of a feature and month add up to its 'all' row
   (active users, feature users, uses, first-time adopters: every user has one tier a
   month), and no more users use a feature than are active, nor adopt it than use it.
   Returns the offending feature-months. */
AUDIT (
  name feature_adoption_tiers_add_up
);

WITH by_month AS (
  SELECT
    f.feature,
    f.month_start,
    SUM(IF(f.plan_tier = 'all', f.active_users, -f.active_users)) AS active_users_diff,
    SUM(IF(f.plan_tier = 'all', f.feature_users, -f.feature_users)) AS feature_users_diff,
    SUM(IF(f.plan_tier = 'all', f.uses, -f.uses)) AS uses_diff,
    SUM(IF(f.plan_tier = 'all', f.first_time_adopters, -f.first_time_adopters)) AS first_time_adopters_diff,
    SUM(IF(f.plan_tier = 'all', 1, 0)) AS all_rows,
    MAX(IF(f.feature_users > f.active_users OR f.first_time_adopters > f.feature_users, 1, 0)) AS exceeds
  FROM @this_model AS f
  GROUP BY
    f.feature,
    f.month_start
)
SELECT
  *
FROM by_month
WHERE
  active_users_diff <> 0
  OR feature_users_diff <> 0
  OR uses_diff <> 0
  OR first_time_adopters_diff <> 0
  OR all_rows <> 1
  OR exceeds = 1
