/* Stripe products. One row per product id. */
MODEL (
  name staging.stg_stripe__product,
  kind FULL,
  grain product_id,
  clustered_by (product_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__product')]),
  audits (
    unique_values(columns := (product_id)),
    not_null(columns := (product_id, product_name))
  )
);

WITH source AS (
  SELECT
    id,
    name,
    active,
    created
  FROM raw_stripe.product
  WHERE
    @is_valid_raw_row('raw_stripe.product')
), deduplicated AS (
  @deduplicate(source, [id], ['created DESC', 'name'])
)
SELECT
  p.id::STRING AS product_id, /* Stripe product id */
  p.name::STRING AS product_name, /* product name, e.g. Insights */
  COALESCE(p.active, FALSE)::BOOL AS is_active, /* still sold */
  p.created::TIMESTAMP AS created_at /* when the product was created, UTC */
FROM deduplicated AS p
