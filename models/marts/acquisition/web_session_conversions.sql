/* Web sessions and the purchases they led to: one row per web session (platform 'web'),
   converted or not. A session converts when its visitor (the user, through any of their
   anonymous_ids: intermediate.int_visitor_sessions) starts a paid subscription
   (acquisition.new_subscriptions: its first successful live charge) after the session
   starts and within @VAR('conversion_window_days') days of it, boundary inclusive;
   renewals never convert. With several such purchases the first one is reported. */
MODEL (
  name acquisition.web_session_conversions,
  kind FULL,
  grain session_id,
  partitioned_by session_date,
  clustered_by (channel),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'web_session_conversions')]),
  audits (
    unique_values(columns := (session_id)),
    not_null(columns := (session_id, visitor_id, session_date, started_at, channel, converted)),
    accepted_range(column := hours_to_conversion, min_v := 0, max_v := @VAR('conversion_window_days') * 24),
    accepted_range(column := revenue_usd, min_v := 0, inclusive := FALSE)
  )
);

WITH web_sessions AS (
  SELECT
    s.*
  FROM intermediate.int_visitor_sessions AS s
  WHERE
    s.platform = 'web'
), conversions AS (
  SELECT
    s.session_id,
    n.subscription_id,
    n.first_charge_id,
    n.subscribed_at,
    n.amount_usd,
    n.mrr_usd,
    n.is_first_subscription_of_customer
  FROM web_sessions AS s
  INNER JOIN acquisition.new_subscriptions AS n
    ON n.user_id = s.user_id
    AND n.subscribed_at > s.started_at
    AND n.subscribed_at <= TIMESTAMP_ADD(s.started_at, INTERVAL @VAR('conversion_window_days') DAY)
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY s.session_id ORDER BY n.subscribed_at, n.subscription_id) = 1
)
SELECT
  s.session_id::STRING AS session_id, /* session id */
  s.visitor_id::STRING AS visitor_id, /* the user, else 'anonymous:' || anonymous_id */
  s.user_id::STRING AS user_id, /* the user, NULL for a never-identified visitor */
  s.session_date::DATE AS session_date, /* UTC day the session started */
  s.started_at::TIMESTAMP AS started_at, /* session start, UTC */
  s.visitor_session_number::INT64 AS visitor_session_number, /* 1 = the visitor's first session */
  s.landing_page::STRING AS landing_page, /* path of the first page */
  s.channel::STRING AS channel, /* acquisition channel of the landing event */
  s.utm_source::STRING AS utm_source, /* landing utm_source */
  s.utm_medium::STRING AS utm_medium, /* landing utm_medium */
  s.utm_campaign::STRING AS utm_campaign, /* landing utm_campaign */
  s.country::STRING AS country, /* country of the landing event */
  s.city::STRING AS city, /* city of the landing event */
  (c.session_id IS NOT NULL)::BOOL AS converted, /* a new paid subscription followed within the window */
  c.subscription_id::STRING AS subscription_id, /* the first such subscription */
  c.first_charge_id::STRING AS charge_id, /* its first charge */
  c.subscribed_at::TIMESTAMP AS converted_at, /* when that charge succeeded, UTC */
  ROUND(c.amount_usd, 2)::FLOAT64 AS revenue_usd, /* its gross amount in USD; NULL when not converted */
  ROUND(c.mrr_usd, 2)::FLOAT64 AS new_mrr_usd, /* its new MRR in USD; NULL when not converted */
  c.is_first_subscription_of_customer::BOOL AS is_new_customer, /* the purchase made the visitor a customer */
  ROUND(TIMESTAMP_DIFF(c.subscribed_at, s.started_at, MICROSECOND) / 3600000000, 2)::FLOAT64 AS hours_to_conversion /* session start -> purchase, hours */
FROM web_sessions AS s
LEFT JOIN conversions AS c
  ON c.session_id = s.session_id
