/* Currency -> US dollars. One row per upper-case ISO currency code: how many USD one unit
   buys, and how many digits its minor unit has (Stripe amounts are
   in minor units: cents, pence). A single fixed rate per currency; amounts in a currency missing here are quarantined. */
MODEL (
  name seeds.fx_rates,
  kind SEED (
    path '../../seeds/fx_rates.csv'
  ),
  columns (
    currency STRING,
    usd_per_unit FLOAT64,
    minor_unit_digits INT64
  ),
  ignored_rules (nomissingunittest), /* a seed is its CSV; its audits check it */
  grain (currency),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'seed'), ('model', 'fx_rates')]),
  audits (
    unique_values(columns := (currency)),
    not_null(columns := (currency, usd_per_unit, minor_unit_digits)),
    accepted_range(column := usd_per_unit, min_v := 0, inclusive := false)
  )
);
