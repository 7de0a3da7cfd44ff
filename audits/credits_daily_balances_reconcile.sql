/* product.credits_daily: net = earned - spent each day, the cumulative balance moves by
   exactly the day's net (cumulative(t) = cumulative(t-1) + net(t), for consecutive days of
   the audited range), and no more users earn or spend than are active. Amounts are
   compared to half a hundredth of a credit. Returns the days that break it. */
AUDIT (
  name credits_daily_balances_reconcile
);

SELECT
  *
FROM (
  SELECT
    c.*,
    LAG(c.activity_date) OVER (ORDER BY c.activity_date) AS previous_date,
    LAG(c.cumulative_net_credits) OVER (ORDER BY c.activity_date) AS previous_cumulative_net_credits
  FROM @this_model AS c
) AS c
WHERE
  ABS(c.net_credits - (c.credits_earned - c.credits_spent)) > 0.005
  OR ABS(c.cumulative_net_credits - (c.cumulative_credits_earned - c.cumulative_credits_spent)) > 0.005
  OR (
    c.previous_date = DATE(DATE_SUB(c.activity_date, INTERVAL 1 DAY))
    AND ABS(c.cumulative_net_credits - (c.previous_cumulative_net_credits + c.net_credits)) > 0.005
  )
  OR c.earning_users > c.daily_active_users
  OR c.spending_users > c.daily_active_users
