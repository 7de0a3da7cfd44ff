/* Web sessions and the purchases they led to: one row per web session (platform 'web'),
   converted or not. A session converts when its visitor (the user, through any of their
   anonymous_ids: intermediate.int_visitor_sessions) starts a paid subscription
   (acquisition.new_subscriptions: its first successful live charge) after the session
   starts and within @VAR('conversion_window_days') days of it, boundary inclusive;
   renewals never convert. With several such purchases the first one is reported.

   Incremental (materializations/replace_keys.py): a run rewrites the sessions from its
   interval's start on, and of the older ones only those that changed: a session whose
   visitor or number changed (intermediate.int_visitor_sessions re-attributes and renumbers
   old sessions), and a session that converts now or did before and now converts
   differently (a purchase within the window of an old session). */
MODEL (
  name acquisition.web_session_conversions,
  kind CUSTOM (
    materialization 'replace_keys',
    materialization_properties (unique_key = 'session_id', time_column = 'session_date'),
    lookback 7 /* intermediate.int_visitor_sessions rewrites its last 7 days on every run */
  ),
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

WITH conversions AS (
  /* the paying users' web sessions and their first purchase within the window */
  SELECT
    s.session_id,
    n.subscription_id,
    n.first_charge_id,
    n.subscribed_at,
    n.amount_usd,
    n.mrr_usd,
    n.is_first_subscription_of_customer
  FROM intermediate.int_visitor_sessions AS s
  INNER JOIN acquisition.new_subscriptions AS n
    ON n.user_id = s.user_id
    AND n.subscribed_at > s.started_at
    AND n.subscribed_at <= TIMESTAMP_ADD(s.started_at, INTERVAL @VAR('conversion_window_days') DAY)
  WHERE
    s.platform = 'web'
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY s.session_id ORDER BY n.subscribed_at, n.subscription_id) = 1
), candidates AS (
  /* the sessions this run may change: those from the interval's start on, the older ones
     whose visitor or number changed since they were written, and every session that
     converts now or did when written (few: their visitor bought within the window).
     Each CTE reads intermediate.int_visitor_sessions itself: one shared CTE over every
     session would be materialized whole */
  SELECT
    s.session_id
  FROM intermediate.int_visitor_sessions AS s
  LEFT JOIN @this_model AS t
    ON t.session_id = s.session_id
  WHERE
    s.platform = 'web'
    AND (
      s.session_date >= @start_ds
      OR t.session_id IS NULL
      OR t.visitor_id <> s.visitor_id
      OR t.user_id IS DISTINCT FROM s.user_id
      OR t.visitor_session_number <> s.visitor_session_number
      OR t.converted
    )
  UNION DISTINCT
  SELECT
    c.session_id
  FROM conversions AS c
), web_sessions AS (
  SELECT
    s.*
  FROM intermediate.int_visitor_sessions AS s
  INNER JOIN candidates AS k
    ON k.session_id = s.session_id
  WHERE
    s.platform = 'web'
), evaluated AS (
  SELECT
    s.session_id,
    s.visitor_id,
    s.user_id,
    s.session_date,
    s.started_at,
    s.visitor_session_number,
    s.landing_page,
    s.channel,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.country,
    s.city,
    (c.session_id IS NOT NULL) AS converted,
    c.subscription_id AS subscription_id,
    c.first_charge_id AS charge_id,
    c.subscribed_at AS converted_at,
    ROUND(c.amount_usd, 2) AS revenue_usd,
    ROUND(c.mrr_usd, 2) AS new_mrr_usd,
    c.is_first_subscription_of_customer AS is_new_customer,
    ROUND(TIMESTAMP_DIFF(c.subscribed_at, s.started_at, MICROSECOND) / 3600000000, 2) AS hours_to_conversion
  FROM web_sessions AS s
  LEFT JOIN conversions AS c
    ON c.session_id = s.session_id
), changed AS (
  /* the interval's rows, and the older candidates that differ from what the table holds */
  SELECT
    r.*
  FROM evaluated AS r
  WHERE
    r.session_date >= @start_ds
  UNION ALL
  (
    SELECT
      r.*
    FROM evaluated AS r
    WHERE
      r.session_date < @start_ds
    EXCEPT DISTINCT
    SELECT
      t.session_id,
      t.visitor_id,
      t.user_id,
      t.session_date,
      t.started_at,
      t.visitor_session_number,
      t.landing_page,
      t.channel,
      t.utm_source,
      t.utm_medium,
      t.utm_campaign,
      t.country,
      t.city,
      t.converted,
      t.subscription_id,
      t.charge_id,
      t.converted_at,
      t.revenue_usd,
      t.new_mrr_usd,
      t.is_new_customer,
      t.hours_to_conversion
    FROM @this_model AS t
    INNER JOIN candidates AS k
      ON k.session_id = t.session_id
    WHERE
      t.session_date < @start_ds
  )
)
SELECT
  c.session_id::STRING AS session_id, /* session id */
  c.visitor_id::STRING AS visitor_id, /* the user, else 'anonymous:' || anonymous_id */
  c.user_id::STRING AS user_id, /* the user, NULL for a never-identified visitor */
  c.session_date::DATE AS session_date, /* UTC day the session started */
  c.started_at::TIMESTAMP AS started_at, /* session start, UTC */
  c.visitor_session_number::INT64 AS visitor_session_number, /* 1 = the visitor's first session */
  c.landing_page::STRING AS landing_page, /* path of the first page */
  c.channel::STRING AS channel, /* acquisition channel of the landing event */
  c.utm_source::STRING AS utm_source, /* landing utm_source */
  c.utm_medium::STRING AS utm_medium, /* landing utm_medium */
  c.utm_campaign::STRING AS utm_campaign, /* landing utm_campaign */
  c.country::STRING AS country, /* country of the landing event */
  c.city::STRING AS city, /* city of the landing event */
  c.converted::BOOL AS converted, /* a new paid subscription followed within the window */
  c.subscription_id::STRING AS subscription_id, /* the first such subscription */
  c.charge_id::STRING AS charge_id, /* its first charge */
  c.converted_at::TIMESTAMP AS converted_at, /* when that charge succeeded, UTC */
  c.revenue_usd::FLOAT64 AS revenue_usd, /* its gross amount in USD; NULL when not converted */
  c.new_mrr_usd::FLOAT64 AS new_mrr_usd, /* its new MRR in USD; NULL when not converted */
  c.is_new_customer::BOOL AS is_new_customer, /* the purchase made the visitor a customer */
  c.hours_to_conversion::FLOAT64 AS hours_to_conversion /* session start -> purchase, hours */
FROM changed AS c
