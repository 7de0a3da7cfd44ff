/* Users whose credits balance is negative: one row per user with credits earned - spent
   < 0 as of the as-of day (the last day with activity; product.dim_users), for
   investigation (seed 003's users_with_negative_miles). The day-by-day balance is
   replayed from product.fct_user_activity_daily to find when it first went below zero and
   since when it has stayed below zero. */
MODEL (
  name product.users_with_negative_credits,
  kind FULL,
  grain user_id,
  clustered_by (user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'users_with_negative_credits')]),
  audits (
    unique_values(columns := (user_id)),
    not_null(columns := (user_id, credits_balance, negative_amount, credits_earned, credits_spent, first_negative_date, negative_since_date, negative_episodes, days_negative, current_plan_tier, as_of_date)),
    accepted_range(column := negative_episodes, min_v := 1),
    negative_credits_balance_reconciles
  )
);

WITH negative_users AS (
  SELECT
    u.user_id,
    u.credits_earned,
    u.credits_spent,
    u.credits_balance,
    u.current_plan_tier,
    u.lifecycle_stage,
    u.signup_date,
    u.first_active_date,
    u.last_active_date,
    u.as_of_date
  FROM product.dim_users AS u
  WHERE
    u.credits_balance < 0
), daily_balance AS (
  /* the balance at the end of each active day of those users */
  SELECT
    a.user_id,
    a.activity_date,
    ROUND(
      SUM(a.credits_earned - a.credits_spent) OVER (
        PARTITION BY a.user_id
        ORDER BY a.activity_date
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ),
      2
    ) AS balance
  FROM product.fct_user_activity_daily AS a
  WHERE
    a.user_id IN (
      SELECT
        nu.user_id
      FROM negative_users AS nu
    )
), transitions AS (
  SELECT
    db.user_id,
    db.activity_date,
    db.balance,
    db.balance < 0
    AND COALESCE(
      LAG(db.balance) OVER (PARTITION BY db.user_id ORDER BY db.activity_date) >= 0,
      TRUE
    ) AS goes_negative,
    MAX(IF(db.balance >= 0, db.activity_date, NULL)) OVER (PARTITION BY db.user_id) AS last_non_negative_date
  FROM daily_balance AS db
), spans AS (
  SELECT
    t.user_id,
    MIN(IF(t.balance < 0, t.activity_date, NULL)) AS first_negative_date,
    MIN(
      IF(
        t.balance < 0 AND (t.last_non_negative_date IS NULL OR t.activity_date > t.last_non_negative_date),
        t.activity_date,
        NULL
      )
    ) AS negative_since_date,
    SUM(IF(t.goes_negative, 1, 0)) AS negative_episodes,
    MAX_BY(t.balance, t.activity_date) AS replayed_balance
  FROM transitions AS t
  GROUP BY
    t.user_id
)
SELECT
  nu.user_id::STRING AS user_id, /* app user id */
  nu.credits_balance::FLOAT64 AS credits_balance, /* credits earned - spent, all time; always < 0 here */
  (-nu.credits_balance)::FLOAT64 AS negative_amount, /* ABS(credits_balance): how far below zero */
  nu.credits_earned::FLOAT64 AS credits_earned, /* credits earned, all time */
  nu.credits_spent::FLOAT64 AS credits_spent, /* credits spent, all time */
  s.replayed_balance::FLOAT64 AS replayed_balance, /* the balance replayed day by day at the last active day; equals credits_balance */
  s.first_negative_date::DATE AS first_negative_date, /* first day whose closing balance was below zero */
  s.negative_since_date::DATE AS negative_since_date, /* first day of the current run below zero (after the last day that closed at zero or above) */
  s.negative_episodes::INT64 AS negative_episodes, /* times the balance went from zero or above (or no balance) to below zero */
  DATE_DIFF(nu.as_of_date, s.negative_since_date, DAY)::INT64 AS days_negative, /* as_of_date - negative_since_date */
  nu.current_plan_tier::STRING AS current_plan_tier, /* free | starter | pro | enterprise (product.dim_users) */
  nu.lifecycle_stage::STRING AS lifecycle_stage, /* new | growing | established | mature as of as_of_date */
  nu.signup_date::DATE AS signup_date, /* UTC day of signup */
  nu.first_active_date::DATE AS first_active_date, /* first day with a qualifying event */
  nu.last_active_date::DATE AS last_active_date, /* last day with a qualifying event */
  nu.as_of_date::DATE AS as_of_date /* the last day with activity: the balance is as of this day */
FROM negative_users AS nu
LEFT JOIN spans AS s
  ON s.user_id = nu.user_id
