/* CRM opportunities (new business, expansion, renewal) with amounts in USD. One row per
   opportunity id. */
MODEL (
  name staging.stg_crm__opportunity,
  kind FULL,
  grain opportunity_id,
  clustered_by (account_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_crm__opportunity')]),
  audits (
    unique_values(columns := (opportunity_id)),
    not_null(columns := (opportunity_id, account_id, opportunity_type, stage_name, is_closed, is_won)),
    accepted_values(column := opportunity_type, is_in := ('new', 'expansion', 'renewal'))
  )
);

WITH source AS (
  SELECT
    id,
    account_id,
    name,
    type,
    stage_name,
    amount,
    currency,
    created_date,
    close_date,
    is_closed,
    is_won,
    lead_source
  FROM raw_crm.opportunity
  WHERE
    @is_valid_raw_row('raw_crm.opportunity')
), deduplicated AS (
  @deduplicate(source, [id], ['created_date DESC', 'stage_name'])
)
SELECT
  o.id::STRING AS opportunity_id, /* CRM opportunity id */
  o.account_id::STRING AS account_id, /* CRM account id */
  o.name::STRING AS opportunity_name, /* opportunity name */
  LOWER(o.type)::STRING AS opportunity_type, /* new | expansion | renewal */
  o.stage_name::STRING AS stage_name, /* pipeline stage, e.g. Closed Won */
  UPPER(COALESCE(o.currency, 'USD'))::STRING AS currency, /* amount currency (USD when unset) */
  ROUND(o.amount, 2)::FLOAT64 AS amount, /* amount in its currency */
  @major_to_usd(o.amount, fx)::FLOAT64 AS amount_usd, /* amount in USD (seeds.fx_rates) */
  o.created_date::TIMESTAMP AS created_at, /* when the opportunity was created, UTC */
  o.close_date::DATE AS close_date, /* expected or actual close date */
  COALESCE(o.is_closed, FALSE)::BOOL AS is_closed, /* closed won or lost */
  COALESCE(o.is_won, FALSE)::BOOL AS is_won, /* closed won */
  o.lead_source::STRING AS lead_source /* where the lead came from */
FROM deduplicated AS o
INNER JOIN seeds.fx_rates AS fx
  ON fx.currency = UPPER(COALESCE(o.currency, 'USD'))
