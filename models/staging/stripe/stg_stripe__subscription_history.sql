/* Versions of Stripe subscriptions (live mode only). One row per subscription id and
   updated_at (exact sync duplicates dropped); each version is valid from valid_from until
   the next version's valid_from (valid_to NULL for the current one). */
MODEL (
  name staging.stg_stripe__subscription_history,
  kind FULL,
  grain (subscription_id, valid_from),
  clustered_by (subscription_id, customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__subscription_history')]),
  audits (
    unique_combination_of_columns(columns := (subscription_id, valid_from)),
    not_null(columns := (subscription_id, customer_id, status, valid_from, is_current))
  )
);

WITH source AS (
  SELECT
    id,
    customer_id,
    status,
    price_id,
    quantity,
    created,
    start_date,
    current_period_start,
    current_period_end,
    cancel_at_period_end,
    canceled_at,
    ended_at,
    trial_start,
    trial_end,
    updated_at
  FROM raw_stripe.subscription_history
  WHERE
    @is_valid_raw_row('raw_stripe.subscription_history')
), deduplicated AS (
  @deduplicate(source, [id, updated_at], ['status', 'price_id', 'quantity'])
)
SELECT
  s.id::STRING AS subscription_id, /* Stripe subscription id */
  s.customer_id::STRING AS customer_id, /* Stripe customer id */
  s.status::STRING AS status, /* trialing | active | past_due | canceled | unpaid | incomplete, as of this version */
  s.price_id::STRING AS price_id, /* the price billed in this version */
  COALESCE(s.quantity, 1)::INT64 AS quantity, /* seats billed */
  s.created::TIMESTAMP AS created_at, /* when the subscription was created, UTC */
  s.start_date::TIMESTAMP AS started_at, /* subscription start date, UTC */
  s.current_period_start::TIMESTAMP AS current_period_start, /* start of the billing period, UTC */
  s.current_period_end::TIMESTAMP AS current_period_end, /* end of the billing period, UTC */
  COALESCE(s.cancel_at_period_end, FALSE)::BOOL AS cancel_at_period_end, /* a cancellation is scheduled for the period end */
  s.canceled_at::TIMESTAMP AS canceled_at, /* when the cancellation was requested, UTC */
  s.ended_at::TIMESTAMP AS ended_at, /* when the subscription ended, UTC */
  s.trial_start::TIMESTAMP AS trial_start, /* trial start, UTC */
  s.trial_end::TIMESTAMP AS trial_end, /* trial end, UTC */
  s.updated_at::TIMESTAMP AS valid_from, /* this version is valid from here (updated_at), UTC */
  LEAD(s.updated_at) OVER (PARTITION BY s.id ORDER BY s.updated_at)::TIMESTAMP AS valid_to, /* the next version's valid_from; NULL for the current version */
  (LEAD(s.updated_at) OVER (PARTITION BY s.id ORDER BY s.updated_at) IS NULL)::BOOL AS is_current /* the latest version */
FROM deduplicated AS s
