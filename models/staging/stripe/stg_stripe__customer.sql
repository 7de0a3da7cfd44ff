/* Stripe customers (live mode only). One row per customer id; rejected and test-mode rows
   are in staging.stg_quarantine. The user link is resolved in staging.stg_identity_map. */
MODEL (
  name staging.stg_stripe__customer,
  kind FULL,
  grain customer_id,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__customer')]),
  audits (
    unique_values(columns := (customer_id)),
    not_null(columns := (customer_id, created_at))
  )
);

WITH source AS (
  SELECT
    id,
    email,
    name,
    created,
    currency,
    delinquent,
    livemode,
    metadata,
    is_deleted
  FROM raw_stripe.customer
  WHERE
    @is_valid_raw_row('raw_stripe.customer')
), deduplicated AS (
  @deduplicate(source, [id], ['created DESC', 'email'])
)
SELECT
  c.id::STRING AS customer_id, /* Stripe customer id */
  c.email::STRING AS email, /* email as entered in Stripe */
  @normalize_email(c.email)::STRING AS email_normalized, /* lower-case, trimmed email (identity fallback) */
  c.name::STRING AS customer_name, /* customer name */
  c.created::TIMESTAMP AS created_at, /* when the customer was created, UTC */
  UPPER(c.currency)::STRING AS currency, /* default currency, upper-case ISO code */
  COALESCE(c.delinquent, FALSE)::BOOL AS is_delinquent, /* Stripe's delinquent flag: latest invoice unpaid */
  COALESCE(c.is_deleted, FALSE)::BOOL AS is_deleted, /* deleted in Stripe */
  CASE WHEN @json_is_valid(c.metadata) THEN JSON_VALUE(c.metadata, '$.user_id') END::STRING AS metadata_user_id /* metadata.user_id: the product user this customer belongs to */
FROM deduplicated AS c
