/* The credits economy: one row per UTC day, gap-free from the first day with any activity
   to the end of the interval (a day without credits movements has zeros and carries the
   balance). Credits are those of identified users' qualifying events
   (product.fct_user_activity_daily, as product.dim_users sums them per user), so the last
   day's cumulative_net_credits is the sum of every user's balance. The cumulative columns
   add the totals of all days before the interval to a running sum inside it, so they are
   identical whatever the batch boundaries. Economy health is seed 003's "miles economy health". */
MODEL (
  name product.credits_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column activity_date,
    lookback 7
  ),
  grain activity_date,
  partitioned_by activity_date,
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'credits_daily')]),
  audits (
    unique_values(columns := (activity_date)),
    not_null(columns := (activity_date, credits_earned, credits_spent, net_credits, cumulative_credits_earned, cumulative_credits_spent, cumulative_net_credits, daily_active_users, earning_users, spending_users, economy_health)),
    accepted_range(column := earning_user_share, min_v := 0, max_v := 1),
    accepted_range(column := spending_user_share, min_v := 0, max_v := 1),
    accepted_range(column := credits_earned, min_v := 0),
    accepted_range(column := credits_spent, min_v := 0),
    accepted_values(column := economy_health, is_in := ('Healthy Growth', 'Stable', 'High Redemption', 'Balanced')),
    gapless_day_spine(column := activity_date),
    credits_daily_balances_reconcile
  )
);

WITH before_interval AS (
  /* totals of every day before the interval: the opening balance of the interval */
  SELECT
    COALESCE(SUM(a.credits_earned), 0) AS credits_earned,
    COALESCE(SUM(a.credits_spent), 0) AS credits_spent
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.activity_date < @start_ds
), interval_activity AS (
  SELECT
    a.activity_date,
    a.user_id,
    a.credits_earned,
    a.credits_spent
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.activity_date BETWEEN @start_ds AND @end_ds
), daily AS (
  SELECT
    ia.activity_date,
    COUNT(*) AS daily_active_users,
    SUM(ia.credits_earned) AS credits_earned,
    SUM(ia.credits_spent) AS credits_spent,
    SUM(IF(ia.credits_earned > 0, 1, 0)) AS earning_users,
    SUM(IF(ia.credits_spent > 0, 1, 0)) AS spending_users
  FROM interval_activity AS ia
  GROUP BY
    ia.activity_date
), spine AS (
  @activity_day_spine(@start_date, @end_date)
), filled AS (
  SELECT
    s.activity_date,
    COALESCE(d.daily_active_users, 0) AS daily_active_users,
    ROUND(COALESCE(d.credits_earned, 0), 2) AS credits_earned,
    ROUND(COALESCE(d.credits_spent, 0), 2) AS credits_spent,
    COALESCE(d.earning_users, 0) AS earning_users,
    COALESCE(d.spending_users, 0) AS spending_users
  FROM spine AS s
  LEFT JOIN daily AS d
    ON d.activity_date = s.activity_date
), cumulative AS (
  SELECT
    f.*,
    bi.credits_earned + SUM(f.credits_earned) OVER (
      ORDER BY f.activity_date
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cumulative_credits_earned,
    bi.credits_spent + SUM(f.credits_spent) OVER (
      ORDER BY f.activity_date
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cumulative_credits_spent
  FROM filled AS f
  CROSS JOIN before_interval AS bi
)
SELECT
  c.activity_date::DATE AS activity_date, /* UTC day */
  c.credits_earned::FLOAT64 AS credits_earned, /* credits earned that day by identified users */
  c.credits_spent::FLOAT64 AS credits_spent, /* credits spent that day, as a positive number */
  ROUND(c.credits_earned - c.credits_spent, 2)::FLOAT64 AS net_credits, /* credits_earned - credits_spent */
  ROUND(c.cumulative_credits_earned, 2)::FLOAT64 AS cumulative_credits_earned, /* credits earned from the first day up to and including this day */
  ROUND(c.cumulative_credits_spent, 2)::FLOAT64 AS cumulative_credits_spent, /* credits spent from the first day up to and including this day */
  ROUND(c.cumulative_credits_earned - c.cumulative_credits_spent, 2)::FLOAT64 AS cumulative_net_credits, /* the economy's balance at the end of the day: sum of net_credits up to this day (previous day's + net_credits) */
  c.daily_active_users::INT64 AS daily_active_users, /* users active that day */
  c.earning_users::INT64 AS earning_users, /* users who earned credits that day */
  c.spending_users::INT64 AS spending_users, /* users who spent credits that day */
  ROUND(SAFE_DIVIDE(c.earning_users, c.daily_active_users), 4)::FLOAT64 AS earning_user_share, /* earning_users / daily_active_users, 0-1; NULL on a day without activity */
  ROUND(SAFE_DIVIDE(c.spending_users, c.daily_active_users), 4)::FLOAT64 AS spending_user_share, /* spending_users / daily_active_users, 0-1; NULL on a day without activity */
  ROUND(SAFE_DIVIDE(c.credits_earned, c.credits_spent), 4)::FLOAT64 AS earn_spend_ratio, /* credits_earned / credits_spent; NULL when nothing was spent */
  CASE
    WHEN c.credits_earned > c.credits_spent * @VAR('credits_economy_imbalance_ratio', 1.2)
    THEN 'Healthy Growth'
    WHEN c.credits_earned > c.credits_spent
    THEN 'Stable'
    WHEN c.credits_spent > c.credits_earned * @VAR('credits_economy_imbalance_ratio', 1.2)
    THEN 'High Redemption'
    ELSE 'Balanced'
  END::STRING AS economy_health /* seed 003: Healthy Growth (earned > 1.2 x spent), Stable (earned > spent), High Redemption (spent > 1.2 x earned), else Balanced (incl. a day with neither) */
FROM cumulative AS c
