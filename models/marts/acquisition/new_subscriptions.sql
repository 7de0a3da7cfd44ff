/* New paid subscriptions: one row per subscription that has had a successful live charge
   with amount > 0, on the day of that first charge (a subscription's later charges are
   renewals and prorations, never new). The charge is tied to its subscription through its
   invoice. Plan and MRR are those of the subscription version in force at the charge;
   acquisition context is the user's first touch (product.dim_users). Test-mode Stripe
   data never reaches staging, so it never appears here. A refunded first charge stays,
   flagged: the subscription was sold, the money came back. */
MODEL (
  name acquisition.new_subscriptions,
  kind FULL,
  grain subscription_id,
  partitioned_by subscription_date,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'new_subscriptions')]),
  audits (
    unique_values(columns := (subscription_id)),
    unique_values(columns := (first_charge_id)),
    not_null(columns := (subscription_id, subscription_date, subscribed_at, customer_id, first_charge_id, amount, currency, amount_usd, net_amount_usd, is_refunded, is_first_subscription_of_customer)),
    accepted_range(column := amount_usd, min_v := 0, inclusive := FALSE),
    accepted_range(column := net_amount_usd, min_v := 0)
  )
);

WITH first_charges AS (
  SELECT
    i.subscription_id,
    c.*
  FROM staging.stg_stripe__charge AS c
  INNER JOIN staging.stg_stripe__invoice AS i
    ON i.invoice_id = c.invoice_id
  WHERE
    @is_payment(c) AND i.subscription_id IS NOT NULL
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY i.subscription_id ORDER BY c.created_at, c.charge_id) = 1
), versions AS (
  /* the subscription version in force at the first charge (else its earliest version) */
  SELECT
    fc.subscription_id,
    sh.price_id,
    sh.quantity,
    sh.status
  FROM first_charges AS fc
  INNER JOIN staging.stg_stripe__subscription_history AS sh
    ON sh.subscription_id = fc.subscription_id
  QUALIFY
    ROW_NUMBER() OVER (
      PARTITION BY fc.subscription_id
      ORDER BY
        IF(sh.valid_from <= fc.created_at, 0, 1),
        IF(sh.valid_from <= fc.created_at, -UNIX_MICROS(sh.valid_from), UNIX_MICROS(sh.valid_from))
    ) = 1
), users AS (
  @stripe_customer_users()
)
SELECT
  DATE(fc.created_at) AS subscription_date, /* UTC day of the first successful charge */
  fc.created_at::TIMESTAMP AS subscribed_at, /* the first successful charge, UTC */
  fc.subscription_id::STRING AS subscription_id, /* Stripe subscription id */
  fc.customer_id::STRING AS customer_id, /* Stripe customer id */
  u.user_id::STRING AS user_id, /* app user of the customer (staging.stg_identity_map), NULL when unlinked */
  p.product_id::STRING AS product_id, /* Stripe product id */
  prod.product_name::STRING AS product_name, /* product name */
  v.price_id::STRING AS price_id, /* price billed at the first charge */
  p.price_nickname::STRING AS plan, /* price nickname, e.g. pro_monthly */
  p.tier::STRING AS tier, /* starter | pro | enterprise */
  p.recurring_interval::STRING AS billing_interval, /* day | week | month | year */
  v.quantity::INT64 AS quantity, /* seats */
  ROUND(p.unit_mrr_usd * v.quantity, 2)::FLOAT64 AS mrr_usd, /* new MRR: price normalised to a month x quantity, USD */
  fc.charge_id::STRING AS first_charge_id, /* the first successful charge */
  fc.amount::FLOAT64 AS amount, /* its gross amount, charge currency */
  fc.currency::STRING AS currency, /* its currency */
  fc.amount_usd::FLOAT64 AS amount_usd, /* its gross amount, USD */
  fc.amount_refunded_usd::FLOAT64 AS amount_refunded_usd, /* refunded so far, USD */
  fc.net_amount_usd::FLOAT64 AS net_amount_usd, /* gross - refunded, USD */
  (fc.amount_refunded_minor > 0)::BOOL AS is_refunded, /* the first charge was refunded, in part or whole */
  fc.is_fully_refunded::BOOL AS is_fully_refunded, /* ... in whole */
  (ROW_NUMBER() OVER (PARTITION BY fc.customer_id ORDER BY fc.created_at, fc.subscription_id) = 1)::BOOL AS is_first_subscription_of_customer, /* the customer's first paid subscription: a new customer */
  d.first_touch_channel::STRING AS first_touch_channel, /* the user's first-touch channel */
  d.first_touch_utm_source::STRING AS first_touch_utm_source, /* ... utm_source */
  d.first_touch_utm_medium::STRING AS first_touch_utm_medium, /* ... utm_medium */
  d.first_touch_utm_campaign::STRING AS first_touch_utm_campaign, /* ... utm_campaign */
  d.first_touch_landing_page::STRING AS first_touch_landing_page, /* ... landing page */
  d.first_touch_country::STRING AS first_touch_country, /* ... country */
  d.first_touch_city::STRING AS first_touch_city /* ... city */
FROM first_charges AS fc
LEFT JOIN versions AS v
  ON v.subscription_id = fc.subscription_id
LEFT JOIN staging.stg_stripe__price AS p
  ON p.price_id = v.price_id
LEFT JOIN staging.stg_stripe__product AS prod
  ON prod.product_id = p.product_id
LEFT JOIN users AS u
  ON u.customer_id = fc.customer_id
LEFT JOIN product.dim_users AS d
  ON d.user_id = u.user_id
