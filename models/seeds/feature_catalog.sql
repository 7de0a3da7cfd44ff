/* Product events the app sends. One row per track event name: the feature and product it
   belongs to, and whether it is a key action (activation). Track events not listed here are
   quarantined as unknown. */
MODEL (
  name seeds.feature_catalog,
  kind SEED (
    path '../../seeds/feature_catalog.csv'
  ),
  columns (
    event STRING,
    feature STRING,
    product STRING,
    is_key_action BOOL,
    is_billable_usage BOOL
  ),
  ignored_rules (nomissingunittest), /* a seed is its CSV; its audits check it */
  grain (event),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'seed'), ('model', 'feature_catalog')]),
  audits (
    unique_values(columns := (event)),
    not_null(columns := (event, feature, product, is_key_action))
  )
);
