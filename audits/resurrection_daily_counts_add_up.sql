/* product.resurrection_daily: every active user is new, retained or resurrected, and every
   resurrection falls in exactly one dormancy bucket. Returns the days that break it. */
AUDIT (
  name resurrection_daily_counts_add_up
);

SELECT
  *
FROM @this_model
WHERE
  daily_active_users <> new_users + retained_users + resurrected_users
  OR resurrected_users <> short_dormancy_resurrections + medium_dormancy_resurrections + long_dormancy_resurrections + very_long_dormancy_resurrections
  OR (resurrected_users = 0 AND resurrection_pattern <> 'No Resurrections')
