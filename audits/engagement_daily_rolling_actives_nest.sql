/* Rolling actives nest: a user active today is active in the trailing 7 days, which are in
   the trailing 28, which are in the trailing 30 -- so 0 <= dau <= wau <= mau <= mau_30. */
AUDIT (
  name engagement_daily_rolling_actives_nest
);

SELECT
  *
FROM @this_model
WHERE
  dau < 0
  OR dau > wau
  OR wau > mau
  OR mau > mau_30
