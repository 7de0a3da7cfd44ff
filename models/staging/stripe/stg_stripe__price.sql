/* Stripe prices with their tier (seeds.plan_tiers) and amount in major units and USD.
   One row per price id; prices in an unknown currency or interval are quarantined. */
MODEL (
  name staging.stg_stripe__price,
  kind FULL,
  grain price_id,
  clustered_by (price_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_stripe__price')]),
  audits (
    unique_values(columns := (price_id)),
    not_null(columns := (price_id, product_id, currency, unit_amount, unit_amount_usd, recurring_interval, recurring_interval_count, months_factor, unit_mrr_usd)),
    accepted_values(column := recurring_interval, is_in := ('day', 'week', 'month', 'year'))
  )
);

WITH source AS (
  SELECT
    id,
    product_id,
    nickname,
    unit_amount,
    currency,
    recurring_interval,
    recurring_interval_count,
    active,
    created
  FROM raw_stripe.price
  WHERE
    @is_valid_raw_row('raw_stripe.price')
), deduplicated AS (
  @deduplicate(source, [id], ['created DESC', 'nickname'])
), normalized AS (
  /* DESIGN.md MRR: a billing period's amount to a month (day x365/12, week x52/12, year /12),
     divided by the interval count */
  SELECT
    d.*,
    CASE d.recurring_interval
      WHEN 'day' THEN 365 / 12
      WHEN 'week' THEN 52 / 12
      WHEN 'month' THEN 1
      WHEN 'year' THEN 1 / 12
    END / d.recurring_interval_count AS months_factor
  FROM deduplicated AS d
)
SELECT
  p.id::STRING AS price_id, /* Stripe price id */
  p.product_id::STRING AS product_id, /* Stripe product id */
  p.nickname::STRING AS price_nickname, /* price nickname, key of seeds.plan_tiers */
  pt.tier::STRING AS tier, /* starter | pro | enterprise; NULL when the nickname is not in seeds.plan_tiers */
  pt.tier_rank::INT64 AS tier_rank, /* 1 = starter ... 3 = enterprise; higher is an upgrade */
  p.unit_amount::INT64 AS unit_amount_minor, /* price per unit in minor units (cents) */
  @minor_to_major(p.unit_amount, fx)::FLOAT64 AS unit_amount, /* price per unit in the price's currency */
  @minor_to_usd(p.unit_amount, fx)::FLOAT64 AS unit_amount_usd, /* price per unit in USD (seeds.fx_rates) */
  UPPER(p.currency)::STRING AS currency, /* upper-case ISO code */
  p.recurring_interval::STRING AS recurring_interval, /* day | week | month | year */
  p.recurring_interval_count::INT64 AS recurring_interval_count, /* billed every N intervals */
  p.months_factor::FLOAT64 AS months_factor, /* a billing period's amount x this = its monthly amount (day x365/12, week x52/12, year /12, / interval count) */
  (@minor_to_major(p.unit_amount, fx) * p.months_factor)::FLOAT64 AS unit_mrr, /* monthly recurring amount per unit, price currency, unrounded */
  (@minor_to_usd(p.unit_amount, fx) * p.months_factor)::FLOAT64 AS unit_mrr_usd, /* monthly recurring amount per unit in USD, unrounded: MRR = ROUND(unit_mrr_usd x quantity, 2) */
  COALESCE(p.active, FALSE)::BOOL AS is_active, /* still offered */
  p.created::TIMESTAMP AS created_at /* when the price was created, UTC */
FROM normalized AS p
INNER JOIN seeds.fx_rates AS fx
  ON fx.currency = UPPER(p.currency)
LEFT JOIN seeds.plan_tiers AS pt
  ON pt.price_nickname = p.nickname
