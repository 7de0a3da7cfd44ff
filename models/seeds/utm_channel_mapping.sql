/* UTM source/medium pair -> marketing channel. One row per (utm_source, utm_medium).
   Sources and mediums are lower-case; '(direct)' / '(none)' stand for a visit with no UTM. */
MODEL (
  name seeds.utm_channel_mapping,
  kind SEED (
    path '../../seeds/utm_channel_mapping.csv'
  ),
  columns (
    utm_source STRING,
    utm_medium STRING,
    channel STRING
  ),
  ignored_rules (nomissingunittest), /* a seed is its CSV; its audits check it */
  grain (utm_source, utm_medium),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'seed'), ('model', 'utm_channel_mapping')]),
  audits (
    unique_combination_of_columns(columns := (utm_source, utm_medium)),
    not_null(columns := (utm_source, utm_medium, channel))
  )
);
