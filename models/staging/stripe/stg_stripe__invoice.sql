/* Stripe invoices (live mode only) in major units and USD. One row per invoice id;
   rejected and test-mode rows are in staging.stg_quarantine. */
MODEL (
  name staging.stg_stripe__invoice,
  kind FULL,
  grain invoice_id,
  partitioned_by invoice_date,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__invoice')]),
  audits (
    unique_values(columns := (invoice_id)),
    not_null(columns := (invoice_id, customer_id, created_at, currency, total, total_usd))
  )
);

WITH source AS (
  SELECT
    id,
    customer_id,
    subscription_id,
    status,
    billing_reason,
    created,
    period_start,
    period_end,
    subtotal,
    tax,
    total,
    amount_paid,
    currency
  FROM raw_stripe.invoice
  WHERE
    @is_valid_raw_row('raw_stripe.invoice')
), deduplicated AS (
  @deduplicate(source, [id], ['created DESC', 'status'])
)
SELECT
  i.id::STRING AS invoice_id, /* Stripe invoice id */
  i.customer_id::STRING AS customer_id, /* Stripe customer id */
  i.subscription_id::STRING AS subscription_id, /* the subscription billed, NULL for one-off invoices */
  i.status::STRING AS status, /* draft | open | paid | uncollectible | void */
  i.billing_reason::STRING AS billing_reason, /* subscription_create | subscription_cycle | subscription_update | manual */
  i.created::TIMESTAMP AS created_at, /* when the invoice was created, UTC */
  DATE(i.created) AS invoice_date, /* UTC day of created_at */
  i.period_start::TIMESTAMP AS period_start, /* start of the billed period, UTC */
  i.period_end::TIMESTAMP AS period_end, /* end of the billed period, UTC */
  UPPER(i.currency)::STRING AS currency, /* upper-case ISO code */
  @minor_to_major(i.subtotal, fx)::FLOAT64 AS subtotal, /* before tax, invoice currency */
  @minor_to_major(i.tax, fx)::FLOAT64 AS tax, /* tax, invoice currency */
  @minor_to_major(i.total, fx)::FLOAT64 AS total, /* subtotal + tax, invoice currency */
  @minor_to_major(i.amount_paid, fx)::FLOAT64 AS amount_paid, /* paid so far, invoice currency */
  @minor_to_usd(i.subtotal, fx)::FLOAT64 AS subtotal_usd, /* subtotal in USD */
  @minor_to_usd(i.tax, fx)::FLOAT64 AS tax_usd, /* tax in USD */
  @minor_to_usd(i.total, fx)::FLOAT64 AS total_usd, /* total in USD */
  @minor_to_usd(i.amount_paid, fx)::FLOAT64 AS amount_paid_usd /* amount paid in USD */
FROM deduplicated AS i
INNER JOIN seeds.fx_rates AS fx
  ON fx.currency = UPPER(i.currency)
