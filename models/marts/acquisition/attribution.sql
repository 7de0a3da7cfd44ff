/* Multi-touch attribution (DESIGN.md Attribution): one row per conversion and touching
   session. Conversions are each user's signup (product.dim_users.signup_at, from a signup
   event or the first identify) and first payment (first_paid_at, carrying the new MRR of
   the subscriptions it started and the net amount of that first charge). Touches are the
   user's sessions, through any of their anonymous_ids, that started at or before the
   conversion and at most @VAR('attribution_lookback_days') days before it, except sessions
   of @VAR('attribution_excluded_channels') (default 'app': a session that starts inside
   the product is not a marketing touch). With n
   touches, numbered 1 (oldest) to n, the weights are:
   - first touch: 1 for touch 1; last touch: 1 for touch n; linear: 1/n;
   - position-based: @VAR('attribution_position_first_share') each to touch 1 and touch
     n, the rest shared equally by the touches between; with two touches 1/2 each, with
     one touch 1;
   - time decay: 0.5 ^ (age / half-life), age = conversion - session start, half-life
     @VAR('attribution_time_decay_half_life_days') days, normalised to sum to 1.
   A conversion with no touch in the window gets one 'unattributed' row (no session,
   every weight 1). So each conversion's weights sum to 1 under every model (audited). */
MODEL (
  name acquisition.attribution,
  kind FULL,
  grain (conversion_id, touch_number),
  partitioned_by conversion_date,
  clustered_by (channel),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'attribution')]),
  audits (
    unique_combination_of_columns(columns := (conversion_id, touch_number)),
    not_null(columns := (conversion_id, conversion_type, user_id, converted_at, conversion_date, touch_number, touches, channel, first_touch_weight, last_touch_weight, linear_weight, position_based_weight, time_decay_weight)),
    accepted_values(column := conversion_type, is_in := ('signup', 'paid')),
    attribution_weights_sum_to_one
  )
);

WITH paid_values AS (
  SELECT
    d.user_id,
    ROUND(COALESCE(@exact_sum(n.mrr_usd, 6), 0), 2) AS new_mrr_usd,
    ROUND(MAX(c.net_amount_usd), 2) AS first_month_revenue_usd
  FROM product.dim_users AS d
  INNER JOIN staging.stg_stripe__charge AS c
    ON c.charge_id = d.first_paid_charge_id
  LEFT JOIN acquisition.new_subscriptions AS n
    ON n.first_charge_id = d.first_paid_charge_id
  GROUP BY
    d.user_id
), conversions AS (
  SELECT
    'signup' AS conversion_type,
    d.user_id,
    d.signup_at AS converted_at,
    CAST(NULL AS FLOAT64) AS new_mrr_usd,
    CAST(NULL AS FLOAT64) AS first_month_revenue_usd
  FROM product.dim_users AS d
  WHERE
    d.signup_source IN ('signup_event', 'identify')
  UNION ALL
  SELECT
    'paid' AS conversion_type,
    d.user_id,
    d.first_paid_at AS converted_at,
    pv.new_mrr_usd,
    pv.first_month_revenue_usd
  FROM product.dim_users AS d
  INNER JOIN paid_values AS pv
    ON pv.user_id = d.user_id
), touches AS (
  SELECT
    c.conversion_type,
    c.user_id,
    s.session_id,
    s.started_at,
    s.channel,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.landing_page,
    TIMESTAMP_DIFF(c.converted_at, s.started_at, MICROSECOND) / 1000000 AS age_seconds,
    ROW_NUMBER() OVER (PARTITION BY c.conversion_type, c.user_id ORDER BY s.started_at, s.session_id) AS touch_number,
    COUNT(*) OVER (PARTITION BY c.conversion_type, c.user_id) AS touches
  FROM conversions AS c
  INNER JOIN intermediate.int_visitor_sessions AS s
    ON s.user_id = c.user_id
    AND s.started_at <= c.converted_at
    AND s.started_at >= TIMESTAMP_SUB(c.converted_at, INTERVAL @VAR('attribution_lookback_days') DAY)
    AND NOT @in_list(s.channel, @VAR('attribution_excluded_channels'))
), decayed AS (
  SELECT
    t.*,
    POWER(0.5, t.age_seconds / (@VAR('attribution_time_decay_half_life_days') * 86400)) AS decay
  FROM touches AS t
), weighted AS (
  SELECT
    t.conversion_type,
    t.user_id,
    t.touch_number,
    t.touches,
    t.session_id,
    t.started_at,
    t.channel,
    t.utm_source,
    t.utm_medium,
    t.utm_campaign,
    t.landing_page,
    t.age_seconds,
    IF(t.touch_number = 1, 1.0, 0.0) AS first_touch_weight,
    IF(t.touch_number = t.touches, 1.0, 0.0) AS last_touch_weight,
    1.0 / t.touches AS linear_weight,
    CASE
      WHEN t.touches <= 2
      THEN 1.0 / t.touches
      WHEN t.touch_number = 1 OR t.touch_number = t.touches
      THEN @VAR('attribution_position_first_share')
      ELSE (1 - 2 * @VAR('attribution_position_first_share')) / (t.touches - 2)
    END AS position_based_weight,
    t.decay / SUM(t.decay) OVER (PARTITION BY t.conversion_type, t.user_id) AS time_decay_weight
  FROM decayed AS t
  UNION ALL
  /* no touch in the lookback window: the whole conversion is unattributed */
  SELECT
    c.conversion_type,
    c.user_id,
    1 AS touch_number,
    0 AS touches,
    CAST(NULL AS STRING) AS session_id,
    CAST(NULL AS TIMESTAMP) AS started_at,
    'unattributed' AS channel,
    CAST(NULL AS STRING) AS utm_source,
    CAST(NULL AS STRING) AS utm_medium,
    CAST(NULL AS STRING) AS utm_campaign,
    CAST(NULL AS STRING) AS landing_page,
    CAST(NULL AS FLOAT64) AS age_seconds,
    1.0 AS first_touch_weight,
    1.0 AS last_touch_weight,
    1.0 AS linear_weight,
    1.0 AS position_based_weight,
    1.0 AS time_decay_weight
  FROM conversions AS c
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM touches AS t
      WHERE
        t.conversion_type = c.conversion_type AND t.user_id = c.user_id
    )
)
SELECT
  CONCAT(w.conversion_type, ':', w.user_id)::STRING AS conversion_id, /* conversion_type:user_id */
  w.conversion_type::STRING AS conversion_type, /* signup | paid */
  w.user_id::STRING AS user_id, /* the converting user */
  c.converted_at::TIMESTAMP AS converted_at, /* when the conversion happened, UTC */
  DATE(c.converted_at) AS conversion_date, /* UTC day of converted_at: the day credit lands on */
  w.touch_number::INT64 AS touch_number, /* 1 = the oldest touch in the window */
  w.touches::INT64 AS touches, /* touching sessions of the conversion; 0 when unattributed */
  w.session_id::STRING AS session_id, /* the touching session, NULL when unattributed */
  w.started_at::TIMESTAMP AS session_started_at, /* its start, UTC */
  ROUND(w.age_seconds / 86400, 4)::FLOAT64 AS days_before_conversion, /* conversion - session start, days */
  w.channel::STRING AS channel, /* the session's channel, 'unattributed' without a touch */
  w.utm_source::STRING AS utm_source, /* the session's utm_source */
  w.utm_medium::STRING AS utm_medium, /* the session's utm_medium */
  w.utm_campaign::STRING AS utm_campaign, /* the session's utm_campaign */
  w.landing_page::STRING AS landing_page, /* the session's landing page */
  w.first_touch_weight::FLOAT64 AS first_touch_weight, /* first touch: 1 for the oldest touch */
  w.last_touch_weight::FLOAT64 AS last_touch_weight, /* last touch: 1 for the newest touch */
  w.linear_weight::FLOAT64 AS linear_weight, /* linear: 1 / touches */
  w.position_based_weight::FLOAT64 AS position_based_weight, /* position-based 40/20/40 */
  w.time_decay_weight::FLOAT64 AS time_decay_weight, /* time decay, 7-day half-life by default */
  c.new_mrr_usd::FLOAT64 AS conversion_new_mrr_usd, /* paid: new MRR of the subscriptions the first charge started, USD; NULL for signups */
  c.first_month_revenue_usd::FLOAT64 AS conversion_first_month_revenue_usd /* paid: net amount of the first charge, USD; NULL for signups */
FROM weighted AS w
INNER JOIN conversions AS c
  ON c.conversion_type = w.conversion_type AND c.user_id = w.user_id
