/* Charges as revenue: one row per staged Stripe charge, every status (succeeded, failed,
   pending), with its customer, the app user the customer links to (primary
   'stripe_customer' link of staging.stg_identity_map, NULL when unlinked), its invoice and,
   through the invoice, the subscription and billing reason (NULL for a one-off charge).
   Money is gross (amount charged), refunded (refunded so far) and net = gross - refunded,
   in the charge currency and in USD; the USD figures come from staging (converted through
   seeds.fx_rates and rounded to the cent per charge, so net_usd = gross_usd - refunded_usd
   exactly). Only succeeded charges are revenue: the status columns say which rows count
   (revenue.revenue_daily does the counting). Test-mode Stripe charges are removed in
   staging and never appear here. */
MODEL (
  name revenue.fct_revenue,
  kind FULL,
  grain charge_id,
  partitioned_by charge_date,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_revenue')]),
  audits (
    unique_values(columns := (charge_id)),
    not_null(columns := (charge_id, customer_id, created_at, charge_date, status, is_paid, currency, amount_minor, amount_refunded_minor, amount, amount_refunded, net_amount, amount_usd, amount_refunded_usd, net_amount_usd, is_refunded, is_fully_refunded)),
    accepted_values(column := status, is_in := ('succeeded', 'failed', 'pending')),
    accepted_range(column := amount_minor, min_v := 0),
    refund_within_amount
  )
);

WITH users AS (
  @stripe_customer_users()
)
SELECT
  c.charge_id::STRING AS charge_id, /* Stripe charge id */
  c.customer_id::STRING AS customer_id, /* Stripe customer id */
  u.user_id::STRING AS user_id, /* app user of the customer (staging.stg_identity_map), NULL when unlinked */
  c.invoice_id::STRING AS invoice_id, /* the invoice paid, NULL for a one-off charge */
  i.subscription_id::STRING AS subscription_id, /* the subscription billed, through the invoice; NULL for one-off charges and invoices */
  i.billing_reason::STRING AS billing_reason, /* the invoice's subscription_create | subscription_cycle | subscription_update | manual */
  c.created_at::TIMESTAMP AS created_at, /* when the charge was attempted, UTC */
  c.charge_date::DATE AS charge_date, /* UTC day of created_at */
  c.status::STRING AS status, /* succeeded | failed | pending; only succeeded is revenue */
  c.failure_code::STRING AS failure_code, /* why a failed charge failed, e.g. card_declined; NULL otherwise */
  c.is_paid::BOOL AS is_paid, /* Stripe's paid flag: the charge succeeded and was paid */
  c.currency::STRING AS currency, /* charge currency, upper-case ISO code */
  c.amount_minor::INT64 AS amount_minor, /* gross amount in the currency's minor unit (exact) */
  c.amount_refunded_minor::INT64 AS amount_refunded_minor, /* refunded in the minor unit (exact) */
  c.amount::FLOAT64 AS amount, /* gross amount, charge currency */
  c.amount_refunded::FLOAT64 AS amount_refunded, /* refunded so far, charge currency */
  c.net_amount::FLOAT64 AS net_amount, /* gross - refunded, charge currency */
  c.amount_usd::FLOAT64 AS amount_usd, /* gross amount, USD */
  c.amount_refunded_usd::FLOAT64 AS amount_refunded_usd, /* refunded so far, USD */
  c.net_amount_usd::FLOAT64 AS net_amount_usd, /* gross - refunded, USD (to the cent) */
  (c.amount_refunded_minor > 0)::BOOL AS is_refunded, /* refunded in part or in whole */
  c.is_fully_refunded::BOOL AS is_fully_refunded /* Stripe's refunded flag: the whole amount was refunded */
FROM staging.stg_stripe__charge AS c
LEFT JOIN staging.stg_stripe__invoice AS i
  ON i.invoice_id = c.invoice_id
LEFT JOIN users AS u
  ON u.customer_id = c.customer_id
