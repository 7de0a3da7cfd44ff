/* Users: one row per app user_id seen in a signup event, an identify or activity, with their
   lifecycle dates (DESIGN.md Definitions; a user with neither a signup event nor an
   identify signs up at their first qualifying event), first touch, current plan, lifetime activity and credits.
   "As of" is the last day with activity in product.fct_user_activity_daily, never the
   wall clock. First touch is the first session of the user or of an anonymous_id first
   identified as the user. */
MODEL (
  name product.dim_users,
  kind FULL,
  grain user_id,
  clustered_by (user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'dim_users')]),
  audits (
    unique_values(columns := (user_id)),
    not_null(columns := (user_id, first_seen_at, signup_at, signup_source, lifecycle_stage, current_plan_tier, credits_balance)),
    accepted_values(column := lifecycle_stage, is_in := ('new', 'growing', 'established', 'mature')),
    accepted_values(column := signup_source, is_in := ('signup_event', 'identify', 'first_event')),
    lifecycle_dates_in_order
  )
);

WITH as_of AS (
  SELECT
    MAX(a.activity_date) AS as_of_date
  FROM product.fct_user_activity_daily AS a
), identities AS (
  SELECT
    i.user_id,
    MIN(i.identified_at) AS first_identified_at
  FROM staging.stg_segment__identifies AS i
  GROUP BY
    i.user_id
), signups AS (
  SELECT
    e.user_id,
    MIN(e.event_at) AS signed_up_at
  FROM product.fct_events AS e
  WHERE
    e.event_name = @VAR('signup_event') AND e.user_id IS NOT NULL
  GROUP BY
    e.user_id
), activity AS (
  SELECT
    a.user_id,
    MIN(a.activity_date) AS first_active_date,
    MAX(a.activity_date) AS last_active_date,
    MIN(a.first_event_at) AS first_event_at,
    COUNT(*) AS active_days,
    SUM(a.events) AS events,
    SUM(a.sessions) AS sessions,
    SUM(a.credits_earned) AS credits_earned,
    SUM(a.credits_spent) AS credits_spent
  FROM product.fct_user_activity_daily AS a
  GROUP BY
    a.user_id
), user_ids AS (
  /* every user seen: with a signup event, an identify, or only activity */
  SELECT
    s.user_id
  FROM signups AS s
  UNION DISTINCT
  SELECT
    i.user_id
  FROM identities AS i
  UNION DISTINCT
  SELECT
    a.user_id
  FROM activity AS a
), users AS (
  SELECT
    ui.user_id,
    COALESCE(s.signed_up_at, i.first_identified_at, a.first_event_at) AS signup_at,
    CASE
      WHEN s.signed_up_at IS NOT NULL
      THEN 'signup_event'
      WHEN i.first_identified_at IS NOT NULL
      THEN 'identify'
      ELSE 'first_event'
    END AS signup_source
  FROM user_ids AS ui
  LEFT JOIN signups AS s
    ON s.user_id = ui.user_id
  LEFT JOIN identities AS i
    ON i.user_id = ui.user_id
  LEFT JOIN activity AS a
    ON a.user_id = ui.user_id
), activations AS (
  SELECT
    u.user_id,
    MIN(e.event_at) AS activated_at
  FROM users AS u
  INNER JOIN product.fct_events AS e
    ON e.user_id = u.user_id
    AND @in_list(e.event_name, @VAR('activation_events'))
    AND e.event_at >= u.signup_at
    AND e.event_at <= TIMESTAMP_ADD(u.signup_at, INTERVAL @VAR('activation_window_days') DAY)
  GROUP BY
    u.user_id
), first_touch AS (
  /* the first session of the user or of an anonymous id first identified as the user */
  SELECT
    vs.*
  FROM intermediate.int_visitor_sessions AS vs
  WHERE
    vs.user_id IS NOT NULL AND vs.visitor_session_number = 1
), first_paid AS (
  /* paid (DESIGN.md): the first successful live charge with amount > 0 of a linked customer
     (staging has already dropped test-mode charges) */
  SELECT
    m.user_id,
    c.charge_id,
    c.customer_id,
    c.created_at AS paid_at
  FROM staging.stg_stripe__charge AS c
  INNER JOIN staging.stg_identity_map AS m
    ON m.id_type = 'stripe_customer' AND m.source_id = c.customer_id
  WHERE
    @is_payment(c)
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY m.user_id ORDER BY c.created_at, c.charge_id) = 1
), current_plans AS (
  /* the highest tier among the user's current subscriptions that carry MRR */
  SELECT
    m.user_id,
    MAX_BY(p.tier, p.tier_rank) AS tier
  FROM staging.stg_stripe__subscription_history AS sh
  INNER JOIN staging.stg_stripe__price AS p
    ON p.price_id = sh.price_id
  INNER JOIN staging.stg_identity_map AS m
    ON m.id_type = 'stripe_customer' AND m.source_id = sh.customer_id
  WHERE
    sh.is_current AND @in_list(sh.status, @VAR('mrr_statuses'))
  GROUP BY
    m.user_id
)
SELECT
  u.user_id::STRING AS user_id, /* app user id */
  LEAST(COALESCE(ft.started_at, u.signup_at), u.signup_at)::TIMESTAMP AS first_seen_at, /* first visit (any of the user's anonymous ids) or signup, whichever first, UTC */
  u.signup_at::TIMESTAMP AS signup_at, /* first signup event, else first identify, else first qualifying event, UTC */
  DATE(u.signup_at) AS signup_date, /* UTC day of signup_at */
  u.signup_source::STRING AS signup_source, /* what signup_at is: signup_event | identify | first_event */
  (u.signup_source = 'signup_event')::BOOL AS has_signup_event, /* FALSE when signup_at falls back to the first identify or first event */
  act.activated_at::TIMESTAMP AS activated_at, /* first key action within activation_window_days after signup, UTC */
  (act.activated_at IS NOT NULL)::BOOL AS is_activated, /* activated */
  fp.paid_at::TIMESTAMP AS first_paid_at, /* first successful live charge with amount > 0 of a linked customer, UTC */
  fp.charge_id::STRING AS first_paid_charge_id, /* that charge */
  fp.customer_id::STRING AS first_paid_customer_id, /* its Stripe customer */
  ft.channel::STRING AS first_touch_channel, /* channel of the first session */
  ft.utm_source::STRING AS first_touch_utm_source, /* utm_source of the first session */
  ft.utm_medium::STRING AS first_touch_utm_medium, /* utm_medium of the first session */
  ft.utm_campaign::STRING AS first_touch_utm_campaign, /* utm_campaign of the first session */
  ft.landing_page::STRING AS first_touch_landing_page, /* landing page of the first session */
  ft.platform::STRING AS first_touch_platform, /* platform of the first session */
  ft.country::STRING AS first_touch_country, /* country of the first session */
  ft.city::STRING AS first_touch_city, /* city of the first session */
  COALESCE(cp.tier, 'free')::STRING AS current_plan_tier, /* highest tier of current active/past_due subscriptions, 'free' without */
  a.first_active_date::DATE AS first_active_date, /* first day with a qualifying event */
  a.last_active_date::DATE AS last_active_date, /* last day with a qualifying event */
  COALESCE(a.active_days, 0)::INT64 AS lifetime_active_days, /* days with a qualifying event */
  COALESCE(a.events, 0)::INT64 AS lifetime_events, /* qualifying events */
  COALESCE(a.sessions, 0)::INT64 AS lifetime_sessions, /* sessions, counted per active day */
  ROUND(COALESCE(a.credits_earned, 0), 2)::FLOAT64 AS credits_earned, /* credits earned, all time */
  ROUND(COALESCE(a.credits_spent, 0), 2)::FLOAT64 AS credits_spent, /* credits spent, all time */
  ROUND(COALESCE(a.credits_earned, 0) - COALESCE(a.credits_spent, 0), 2)::FLOAT64 AS credits_balance, /* earned - spent; may be negative */
  ao.as_of_date::DATE AS as_of_date, /* the last day with activity: what "days since" count to */
  DATE_DIFF(ao.as_of_date, DATE(u.signup_at), DAY)::INT64 AS days_since_signup, /* as_of_date - signup day */
  @lifecycle_stage(DATE_DIFF(ao.as_of_date, DATE(u.signup_at), DAY))::STRING AS lifecycle_stage /* new 0-7, growing 8-30, established 31-90, mature 91+ days since signup */
FROM users AS u
CROSS JOIN as_of AS ao
LEFT JOIN activations AS act
  ON act.user_id = u.user_id
LEFT JOIN first_touch AS ft
  ON ft.user_id = u.user_id
LEFT JOIN activity AS a
  ON a.user_id = u.user_id
LEFT JOIN first_paid AS fp
  ON fp.user_id = u.user_id
LEFT JOIN current_plans AS cp
  ON cp.user_id = u.user_id
