/* Stripe charges (live mode only): gross, refunded and net in the charge currency and USD.
   One row per charge id (sync duplicates dropped); rejected and test-mode rows are in
   staging.stg_quarantine. */
MODEL (
  name staging.stg_stripe__charge,
  kind FULL,
  grain charge_id,
  partitioned_by charge_date,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__charge')]),
  audits (
    unique_values(columns := (charge_id)),
    not_null(columns := (charge_id, customer_id, created_at, status, amount, amount_usd, net_amount_usd)),
    accepted_values(column := status, is_in := ('succeeded', 'failed', 'pending')),
    refund_within_amount
  )
);

WITH source AS (
  SELECT
    id,
    customer_id,
    invoice_id,
    amount,
    amount_refunded,
    currency,
    status,
    failure_code,
    paid,
    refunded,
    created
  FROM raw_stripe.charge
  WHERE
    @is_valid_raw_row('raw_stripe.charge')
), deduplicated AS (
  @deduplicate(source, [id], ['created DESC', 'status'])
)
SELECT
  c.id::STRING AS charge_id, /* Stripe charge id */
  c.customer_id::STRING AS customer_id, /* Stripe customer id */
  c.invoice_id::STRING AS invoice_id, /* the invoice paid, NULL for one-off charges */
  c.status::STRING AS status, /* succeeded | failed | pending */
  c.failure_code::STRING AS failure_code, /* why a failed charge failed, e.g. card_declined */
  COALESCE(c.paid, FALSE)::BOOL AS is_paid, /* the charge succeeded and was paid */
  COALESCE(c.refunded, FALSE)::BOOL AS is_fully_refunded, /* Stripe's refunded flag: the whole amount was refunded */
  c.created::TIMESTAMP AS created_at, /* when the charge was attempted, UTC */
  DATE(c.created) AS charge_date, /* UTC day of created_at */
  UPPER(c.currency)::STRING AS currency, /* upper-case ISO code */
  c.amount::INT64 AS amount_minor, /* gross amount in minor units */
  COALESCE(c.amount_refunded, 0)::INT64 AS amount_refunded_minor, /* refunded amount in minor units */
  @minor_to_major(c.amount, fx)::FLOAT64 AS amount, /* gross amount, charge currency */
  @minor_to_major(COALESCE(c.amount_refunded, 0), fx)::FLOAT64 AS amount_refunded, /* refunded, charge currency */
  @minor_to_major(c.amount - COALESCE(c.amount_refunded, 0), fx)::FLOAT64 AS net_amount, /* gross - refunded, charge currency */
  @minor_to_usd(c.amount, fx)::FLOAT64 AS amount_usd, /* gross amount in USD */
  @minor_to_usd(COALESCE(c.amount_refunded, 0), fx)::FLOAT64 AS amount_refunded_usd, /* refunded in USD */
  ROUND(
    @minor_to_usd(c.amount, fx) - @minor_to_usd(COALESCE(c.amount_refunded, 0), fx),
    2
  )::FLOAT64 AS net_amount_usd /* amount_usd - amount_refunded_usd, so USD figures reconcile to the cent */
FROM deduplicated AS c
INNER JOIN seeds.fx_rates AS fx
  ON fx.currency = UPPER(c.currency)
