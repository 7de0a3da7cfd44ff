/* MRR by day: one row per Stripe customer, product and day on which the customer's
   subscriptions to that product carry MRR > 0, measured at the end of the day (the
   subscription versions of staging.stg_stripe__subscription_history in force just before
   midnight UTC). A version carries MRR when its status is in @VAR('mrr_statuses'); its MRR
   is ROUND(unit_mrr_usd x quantity, 2) (DESIGN.md MRR), summed over the customer's
   subscriptions to the product. Each day depends only on the versions in force that day,
   so restating any range gives the same rows: nothing cumulative inside the interval. */
MODEL (
  name revenue.fct_mrr_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column mrr_date
  ),
  grain (mrr_date, customer_id, product_id),
  partitioned_by mrr_date,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_mrr_daily')]),
  audits (
    unique_combination_of_columns(columns := (mrr_date, customer_id, product_id)),
    not_null(columns := (mrr_date, customer_id, product_id, mrr_usd, subscriptions, quantity)),
    accepted_range(column := mrr_usd, min_v := 0, inclusive := FALSE)
  )
);

WITH days AS (
  SELECT
    day
  FROM UNNEST(GENERATE_DATE_ARRAY(@start_date, @end_date)) AS day
), versions AS (
  SELECT
    sh.subscription_id,
    sh.customer_id,
    p.product_id,
    p.currency,
    sh.quantity,
    sh.valid_from,
    sh.valid_to,
    ROUND(p.unit_mrr_usd * sh.quantity, 2) AS mrr_usd,
    ROUND(p.unit_mrr * sh.quantity, 2) AS mrr
  FROM staging.stg_stripe__subscription_history AS sh
  INNER JOIN staging.stg_stripe__price AS p
    ON p.price_id = sh.price_id
  WHERE
    @in_list(sh.status, @VAR('mrr_statuses'))
    AND ROUND(p.unit_mrr_usd * sh.quantity, 2) > 0
    AND sh.valid_from < TIMESTAMP(DATE_ADD(@end_date, INTERVAL 1 DAY))
    AND (sh.valid_to IS NULL OR sh.valid_to > TIMESTAMP(@start_date))
), in_force AS (
  /* the versions in force at the end of each day: valid_from < next midnight <= valid_to */
  SELECT
    d.day,
    v.*
  FROM days AS d
  INNER JOIN versions AS v
    ON v.valid_from < TIMESTAMP(DATE_ADD(d.day, INTERVAL 1 DAY))
    AND (v.valid_to IS NULL OR v.valid_to >= TIMESTAMP(DATE_ADD(d.day, INTERVAL 1 DAY)))
), users AS (
  @stripe_customer_users()
)
SELECT
  f.day::DATE AS mrr_date, /* UTC day; MRR as of its end */
  f.customer_id::STRING AS customer_id, /* Stripe customer id */
  MAX(u.user_id)::STRING AS user_id, /* app user of the customer, NULL when unlinked */
  f.product_id::STRING AS product_id, /* Stripe product id */
  COUNT(*)::INT64 AS subscriptions, /* subscriptions carrying MRR > 0 (a version at 0 seats or a free price is left out) */
  SUM(f.quantity)::INT64 AS quantity, /* seats over those subscriptions */
  ROUND(@exact_sum(f.mrr_usd, 6), 2)::FLOAT64 AS mrr_usd, /* sum of each subscription's MRR, each rounded to the cent, USD */
  IF(COUNT(DISTINCT f.currency) = 1, MIN(f.currency), NULL)::STRING AS currency, /* the subscriptions' currency; NULL when they mix currencies */
  IF(COUNT(DISTINCT f.currency) = 1, ROUND(@exact_sum(f.mrr, 6), 2), NULL)::FLOAT64 AS mrr /* MRR in that currency; NULL when mixed */
FROM in_force AS f
LEFT JOIN users AS u
  ON u.customer_id = f.customer_id
GROUP BY
  f.day,
  f.customer_id,
  f.product_id
HAVING
  @exact_sum(f.mrr_usd, 6) > 0
