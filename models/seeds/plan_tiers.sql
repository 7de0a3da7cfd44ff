/* Stripe price nickname -> product, tier and tier rank (1 = starter, 2 = pro,
   3 = enterprise). One row per price nickname; a higher rank is an upgrade. */
MODEL (
  name seeds.plan_tiers,
  kind SEED (
    path '../../seeds/plan_tiers.csv'
  ),
  columns (
    price_nickname STRING,
    product_key STRING,
    tier STRING,
    tier_rank INT64,
    billing_interval STRING
  ),
  ignored_rules (nomissingunittest), /* a seed is its CSV; its audits check it */
  grain (price_nickname),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'seed'), ('model', 'plan_tiers')]),
  audits (
    unique_values(columns := (price_nickname)),
    not_null(columns := (price_nickname, tier, tier_rank)),
    accepted_values(column := tier, is_in := ('starter', 'pro', 'enterprise'))
  )
);
