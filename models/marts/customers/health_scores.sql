/* User health: one row per user of product.dim_users, scored as of its as_of_date (the last
   day with activity, never the wall clock), with their Stripe customer if any. N is
   @VAR('health_window_days'); "inactive days" are the days from the last active day to
   as_of_date (a user never active: from the signup day).
   Sub-scores, 0-100, 1 decimal:
   - engagement = active days in the N days ending as_of_date (product.fct_user_activity_daily) / N x 100;
   - feature breadth = distinct features of the user's qualifying track events in those N days
     (product.fct_events.feature, minus @VAR('health_breadth_excluded_features'), which are
     not product usage) / @VAR('health_feature_breadth_target') x 100, capped at 100;
   - recency = 100 x (1 - inactive days / @VAR('health_recency_zero_days')), floored at 0;
   - payment = 100 for a user without a customer or with a clean record; 0 when a customer of
     the user is delinquent (customers.dim_customers.is_delinquent); else 100 minus
     @VAR('health_payment_failed_penalty') per failed charge of the user's customers in the
     @VAR('health_payment_window_days') days ending as_of_date, floored at 0.
   health_score = the mean of the sub-scores weighted by health_weight_engagement,
   _feature_breadth, _recency, _payment (divided by their sum, so it stays in [0, 100]
   whatever they sum to; they sum to 1), computed on unrounded sub-scores.
   churn_risk_category: high at >= @VAR('churn_risk_inactive_days') inactive days, medium at
   >= @VAR('churn_risk_medium_days'), else low.
   is_expansion_candidate: the current plan is the lowest tier (tier_rank 1, starter) AND at
   least @VAR('expansion_min_features') features AND at least @VAR('expansion_min_active_days')
   active days in the N days. flag_reasons spells out why a user is at risk, has payment
   trouble or is a candidate. A user with several customers: the customer shown is the one
   with the highest current tier (then MRR, then oldest); payment counts all of them. */
MODEL (
  name customers.health_scores,
  kind FULL,
  grain user_id,
  clustered_by (user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'health_scores')]),
  audits (
    unique_values(columns := (user_id)),
    not_null(columns := (user_id, as_of_date, customers, current_plan_tier, inactive_days, window_active_days, window_features_used, recent_failed_payments, is_delinquent, engagement_score, feature_breadth_score, recency_score, payment_score, health_score, churn_risk_category, is_expansion_candidate)),
    accepted_range(column := engagement_score, min_v := 0, max_v := 100),
    accepted_range(column := feature_breadth_score, min_v := 0, max_v := 100),
    accepted_range(column := recency_score, min_v := 0, max_v := 100),
    accepted_range(column := payment_score, min_v := 0, max_v := 100),
    accepted_range(column := health_score, min_v := 0, max_v := 100),
    accepted_values(column := churn_risk_category, is_in := ('low', 'medium', 'high')),
    customers_health_score_is_weighted_mean,
    customers_expansion_candidates_meet_thresholds
  )
);

WITH users AS (
  SELECT
    d.user_id,
    d.as_of_date,
    d.signup_date,
    d.last_active_date,
    DATE(DATE_SUB(d.as_of_date, INTERVAL (@VAR('health_window_days') - 1) DAY)) AS window_start,
    DATE(DATE_SUB(d.as_of_date, INTERVAL (@VAR('health_payment_window_days') - 1) DAY)) AS payment_window_start,
    GREATEST(DATE_DIFF(d.as_of_date, COALESCE(d.last_active_date, d.signup_date), DAY), 0) AS inactive_days
  FROM product.dim_users AS d
), activity AS (
  SELECT
    u.user_id,
    COUNT(*) AS active_days
  FROM users AS u
  INNER JOIN product.fct_user_activity_daily AS a
    ON a.user_id = u.user_id AND a.activity_date BETWEEN u.window_start AND u.as_of_date
  GROUP BY
    u.user_id
), features AS (
  /* the same qualifying events as product.fct_user_activity_daily, with a product feature */
  SELECT
    u.user_id,
    COUNT(DISTINCT e.feature) AS features_used
  FROM users AS u
  INNER JOIN product.fct_events AS e
    ON e.user_id = u.user_id AND e.event_date BETWEEN u.window_start AND u.as_of_date
  WHERE
    e.feature IS NOT NULL
    AND NOT @in_list(e.feature, @VAR('health_breadth_excluded_features'))
    AND @in_list(e.event_type, @VAR('active_event_types'))
    AND NOT @in_list(e.event_name, @VAR('inactive_events'))
  GROUP BY
    u.user_id
), user_customers AS (
  SELECT
    c.user_id,
    COUNT(*) AS customers,
    LOGICAL_OR(c.is_delinquent) AS is_delinquent
  FROM customers.dim_customers AS c
  WHERE
    c.user_id IS NOT NULL
  GROUP BY
    c.user_id
), main_customers AS (
  SELECT
    c.user_id,
    c.customer_id,
    c.current_tier,
    c.current_tier_rank
  FROM customers.dim_customers AS c
  WHERE
    c.user_id IS NOT NULL
  QUALIFY
    ROW_NUMBER() OVER (
      PARTITION BY c.user_id
      ORDER BY c.current_tier_rank DESC NULLS LAST, c.current_mrr_usd DESC, c.created_at, c.customer_id
    ) = 1
), failed_payments AS (
  SELECT
    u.user_id,
    COUNT(*) AS failed_payments
  FROM users AS u
  INNER JOIN customers.dim_customers AS c
    ON c.user_id = u.user_id
  INNER JOIN staging.stg_stripe__charge AS ch
    ON ch.customer_id = c.customer_id
  WHERE
    ch.status = 'failed' AND ch.charge_date BETWEEN u.payment_window_start AND u.as_of_date
  GROUP BY
    u.user_id
), measures AS (
  SELECT
    u.*,
    mc.customer_id,
    COALESCE(uc.customers, 0) AS customers,
    COALESCE(mc.current_tier, 'free') AS current_plan_tier,
    mc.current_tier_rank,
    COALESCE(a.active_days, 0) AS active_days,
    COALESCE(f.features_used, 0) AS features_used,
    COALESCE(fp.failed_payments, 0) AS failed_payments,
    COALESCE(uc.is_delinquent, FALSE) AS is_delinquent
  FROM users AS u
  LEFT JOIN activity AS a
    ON a.user_id = u.user_id
  LEFT JOIN features AS f
    ON f.user_id = u.user_id
  LEFT JOIN user_customers AS uc
    ON uc.user_id = u.user_id
  LEFT JOIN main_customers AS mc
    ON mc.user_id = u.user_id
  LEFT JOIN failed_payments AS fp
    ON fp.user_id = u.user_id
), scores AS (
  SELECT
    m.*,
    100 * m.active_days / @VAR('health_window_days') AS engagement_score,
    LEAST(100, 100 * m.features_used / @VAR('health_feature_breadth_target')) AS feature_breadth_score,
    GREATEST(0, 100 * (1 - m.inactive_days / @VAR('health_recency_zero_days'))) AS recency_score,
    CASE
      WHEN m.is_delinquent
      THEN 0
      ELSE GREATEST(0, 100 - @VAR('health_payment_failed_penalty') * m.failed_payments)
    END AS payment_score,
    CASE
      WHEN m.inactive_days >= @VAR('churn_risk_inactive_days')
      THEN 'high'
      WHEN m.inactive_days >= @VAR('churn_risk_medium_days')
      THEN 'medium'
      ELSE 'low'
    END AS churn_risk_category,
    COALESCE(m.current_tier_rank = 1, FALSE)
    AND m.features_used >= @VAR('expansion_min_features')
    AND m.active_days >= @VAR('expansion_min_active_days') AS is_expansion_candidate
  FROM measures AS m
), weighted AS (
  SELECT
    s.*,
    (
      @VAR('health_weight_engagement') * s.engagement_score
      + @VAR('health_weight_feature_breadth') * s.feature_breadth_score
      + @VAR('health_weight_recency') * s.recency_score
      + @VAR('health_weight_payment') * s.payment_score
    ) / (
      @VAR('health_weight_engagement')
      + @VAR('health_weight_feature_breadth')
      + @VAR('health_weight_recency')
      + @VAR('health_weight_payment')
    ) AS health_score,
    CONCAT(
      CASE
        WHEN s.churn_risk_category = 'low'
        THEN ''
        WHEN s.last_active_date IS NULL
        THEN CONCAT('never active, signed up ', CAST(s.inactive_days AS STRING), ' days ago; ')
        ELSE CONCAT('inactive ', CAST(s.inactive_days AS STRING), ' days; ')
      END,
      IF(s.is_delinquent, 'delinquent; ', ''),
      IF(
        s.failed_payments > 0,
        CONCAT(
          CAST(s.failed_payments AS STRING),
          IF(s.failed_payments = 1, ' failed payment', ' failed payments'),
          ' in ',
          CAST(@VAR('health_payment_window_days') AS STRING),
          ' days; '
        ),
        ''
      ),
      IF(
        s.is_expansion_candidate,
        CONCAT(
          'expansion: ',
          s.current_plan_tier,
          ' plan, ',
          CAST(s.features_used AS STRING),
          ' features and ',
          CAST(s.active_days AS STRING),
          ' active days in ',
          CAST(@VAR('health_window_days') AS STRING),
          ' days; '
        ),
        ''
      )
    ) AS reasons
  FROM scores AS s
)
SELECT
  w.user_id::STRING AS user_id, /* app user id */
  w.as_of_date::DATE AS as_of_date, /* the last day with activity (product.dim_users): what windows end on */
  w.customer_id::STRING AS customer_id, /* the user's Stripe customer (highest current tier), NULL without one */
  w.customers::INT64 AS customers, /* Stripe customers linked to the user */
  w.current_plan_tier::STRING AS current_plan_tier, /* tier of that customer's current plan: starter | pro | enterprise, 'free' without one */
  w.signup_date::DATE AS signup_date, /* UTC day of signup */
  w.last_active_date::DATE AS last_active_date, /* last day with a qualifying event, NULL if never active */
  w.inactive_days::INT64 AS inactive_days, /* as_of_date - last_active_date (never active: - signup_date), at least 0 */
  w.active_days::INT64 AS window_active_days, /* active days in the health_window_days days ending as_of_date */
  w.features_used::INT64 AS window_features_used, /* distinct product features used in those days */
  w.failed_payments::INT64 AS recent_failed_payments, /* failed charges of the user's customers in the health_payment_window_days days ending as_of_date */
  w.is_delinquent::BOOL AS is_delinquent, /* a customer of the user has a current subscription past_due or unpaid */
  ROUND(w.engagement_score, 1)::FLOAT64 AS engagement_score, /* window_active_days / health_window_days x 100 */
  ROUND(w.feature_breadth_score, 1)::FLOAT64 AS feature_breadth_score, /* window_features_used / health_feature_breadth_target x 100, capped at 100 */
  ROUND(w.recency_score, 1)::FLOAT64 AS recency_score, /* 100 at 0 inactive days, 0 at health_recency_zero_days or more */
  ROUND(w.payment_score, 1)::FLOAT64 AS payment_score, /* 100 clean or no customer; - penalty per recent failed payment; 0 delinquent */
  ROUND(w.health_score, 1)::FLOAT64 AS health_score, /* weighted mean of the four sub-scores (health_weight_*) */
  w.churn_risk_category::STRING AS churn_risk_category, /* high >= churn_risk_inactive_days inactive days, medium >= churn_risk_medium_days, else low */
  w.is_expansion_candidate::BOOL AS is_expansion_candidate, /* starter plan with broad (expansion_min_features) and sustained (expansion_min_active_days) use */
  NULLIF(RTRIM(w.reasons, '; '), '')::STRING AS flag_reasons /* why: 'inactive 21 days; delinquent; 2 failed payments in 90 days; expansion: ...'; NULL when nothing is flagged */
FROM weighted AS w
