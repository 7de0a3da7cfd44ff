/* Funnel per visitor (DESIGN.md Funnels): visit -> signup -> activation -> paid. Each step
   is the visitor's first qualifying occurrence strictly after the previous step's, at or
   before window_ends_at = visit + @VAR('conversion_window_days') days (boundary inclusive):
   - visit: the first @VAR('funnel_visit_events') event of any of the visitor's sessions
     (intermediate.int_visitor_sessions; later visits never restart the window);
   - signup: a @VAR('funnel_signup_events') track event of the user;
   - activation: a key action (@VAR('activation_events')) within
     @VAR('activation_window_days') days of that signup;
   - paid: a successful live charge with amount > 0 of one of the user's Stripe customers.
   A step done before the previous one does not count (a later occurrence still can), and
   no step counts without the one before it.
   FULL: a new identify can move a visitor's first visit back in time. */
MODEL (
  name acquisition.funnel_users,
  kind FULL,
  grain visitor_id,
  partitioned_by first_visit_date,
  clustered_by (visitor_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'funnel_users')]),
  audits (
    unique_values(columns := (visitor_id)),
    not_null(columns := (visitor_id, first_visit_at, first_visit_date, window_ends_at, channel, furthest_step, is_window_complete)),
    accepted_values(column := furthest_step, is_in := ('visit', 'signup', 'activation', 'paid')),
    funnel_steps_in_order
  )
);

WITH as_of AS (
  /* the end of the data: the day after the last session day, midnight UTC */
  SELECT
    TIMESTAMP(DATE_ADD(MAX(s.session_date), INTERVAL 1 DAY)) AS data_ends_at
  FROM intermediate.int_visitor_sessions AS s
), visits AS (
  SELECT
    s.visitor_id,
    s.user_id,
    s.anonymous_id,
    s.session_id,
    s.first_visit_event_at AS first_visit_at,
    s.channel,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.landing_page,
    s.platform,
    s.country,
    s.city
  FROM intermediate.int_visitor_sessions AS s
  WHERE
    s.first_visit_event_at IS NOT NULL
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY s.visitor_id ORDER BY s.first_visit_event_at, s.session_id) = 1
), windows AS (
  SELECT
    v.*,
    TIMESTAMP_ADD(v.first_visit_at, INTERVAL @VAR('conversion_window_days') DAY) AS window_ends_at
  FROM visits AS v
), signups AS (
  SELECT
    w.visitor_id,
    MIN(e.event_at) AS signed_up_at
  FROM windows AS w
  INNER JOIN product.fct_events AS e
    ON e.user_id = w.user_id
    AND @in_list(e.event_name, @VAR('funnel_signup_events'))
    AND e.event_at > w.first_visit_at
    AND e.event_at <= w.window_ends_at
  GROUP BY
    w.visitor_id
), activations AS (
  SELECT
    w.visitor_id,
    MIN(e.event_at) AS activated_at
  FROM windows AS w
  INNER JOIN signups AS s
    ON s.visitor_id = w.visitor_id
  INNER JOIN product.fct_events AS e
    ON e.user_id = w.user_id
    AND @in_list(e.event_name, @VAR('activation_events'))
    AND e.event_at > s.signed_up_at
    AND e.event_at <= TIMESTAMP_ADD(s.signed_up_at, INTERVAL @VAR('activation_window_days') DAY)
    AND e.event_at <= w.window_ends_at
  GROUP BY
    w.visitor_id
), payments AS (
  SELECT
    w.visitor_id,
    c.charge_id,
    c.created_at AS paid_at,
    c.amount_usd,
    c.amount_refunded_usd
  FROM windows AS w
  INNER JOIN activations AS a
    ON a.visitor_id = w.visitor_id
  INNER JOIN staging.stg_identity_map AS m
    ON m.id_type = 'stripe_customer' AND m.is_primary AND m.user_id = w.user_id
  INNER JOIN staging.stg_stripe__charge AS c
    ON c.customer_id = m.source_id
    AND @is_payment(c)
    AND c.created_at > a.activated_at
    AND c.created_at <= w.window_ends_at
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY w.visitor_id ORDER BY c.created_at, c.charge_id) = 1
)
SELECT
  w.visitor_id::STRING AS visitor_id, /* the user, else 'anonymous:' || anonymous_id (intermediate.int_visitor_sessions) */
  w.user_id::STRING AS user_id, /* the app user, NULL for a visitor never identified */
  w.anonymous_id::STRING AS anonymous_id, /* anonymous_id of the first visit */
  w.session_id::STRING AS first_visit_session_id, /* session of the first visit */
  w.first_visit_at::TIMESTAMP AS first_visit_at, /* step 1: first visit event, UTC */
  DATE(w.first_visit_at) AS first_visit_date, /* UTC day of first_visit_at: the funnel cohort */
  w.window_ends_at::TIMESTAMP AS window_ends_at, /* first_visit_at + conversion_window_days; a step at this instant still counts */
  w.channel::STRING AS channel, /* channel of the first visit's session */
  w.utm_source::STRING AS utm_source, /* utm_source of the first visit's session */
  w.utm_medium::STRING AS utm_medium, /* utm_medium of the first visit's session */
  w.utm_campaign::STRING AS utm_campaign, /* utm_campaign of the first visit's session */
  w.landing_page::STRING AS landing_page, /* landing page of the first visit's session */
  w.platform::STRING AS platform, /* platform of the first visit's session */
  w.country::STRING AS country, /* country of the first visit's session */
  w.city::STRING AS city, /* city of the first visit's session */
  s.signed_up_at::TIMESTAMP AS signed_up_at, /* step 2: first signup event after the visit, within the window, UTC */
  a.activated_at::TIMESTAMP AS activated_at, /* step 3: first key action after that signup, within activation_window_days of it and the window, UTC */
  p.paid_at::TIMESTAMP AS paid_at, /* step 4: first successful live charge > 0 after activation, within the window, UTC */
  p.charge_id::STRING AS paid_charge_id, /* that charge */
  ROUND(p.amount_usd, 2)::FLOAT64 AS paid_amount_usd, /* its gross amount in USD */
  (p.amount_refunded_usd > 0)::BOOL AS paid_charge_is_refunded, /* the paying charge was later refunded, in part or whole; NULL when not paid */
  CASE
    WHEN p.paid_at IS NOT NULL
    THEN 'paid'
    WHEN a.activated_at IS NOT NULL
    THEN 'activation'
    WHEN s.signed_up_at IS NOT NULL
    THEN 'signup'
    ELSE 'visit'
  END::STRING AS furthest_step, /* the last step reached: visit | signup | activation | paid */
  FLOOR(TIMESTAMP_DIFF(s.signed_up_at, w.first_visit_at, MICROSECOND) / 1000000)::INT64 AS seconds_to_signup, /* visit -> signup, whole seconds */
  FLOOR(TIMESTAMP_DIFF(a.activated_at, s.signed_up_at, MICROSECOND) / 1000000)::INT64 AS seconds_to_activation, /* signup -> activation, whole seconds */
  FLOOR(TIMESTAMP_DIFF(p.paid_at, a.activated_at, MICROSECOND) / 1000000)::INT64 AS seconds_to_paid, /* activation -> paid, whole seconds */
  FLOOR(TIMESTAMP_DIFF(p.paid_at, w.first_visit_at, MICROSECOND) / 1000000)::INT64 AS seconds_visit_to_paid, /* visit -> paid, whole seconds */
  (w.window_ends_at <= ao.data_ends_at)::BOOL AS is_window_complete /* the whole window lies inside the data: the visitor's outcome is final */
FROM windows AS w
CROSS JOIN as_of AS ao
LEFT JOIN signups AS s
  ON s.visitor_id = w.visitor_id
LEFT JOIN activations AS a
  ON a.visitor_id = w.visitor_id
LEFT JOIN payments AS p
  ON p.visitor_id = w.visitor_id
