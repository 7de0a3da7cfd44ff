/* CRM (Salesforce-like) accounts of the B2B subset. One row per account id; linked to a
   Stripe customer through stripe_customer_id. */
MODEL (
  name staging.stg_crm__account,
  kind FULL,
  grain account_id,
  clustered_by (account_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_crm__account')]),
  audits (
    unique_values(columns := (account_id)),
    not_null(columns := (account_id, account_name))
  )
);

WITH source AS (
  SELECT
    id,
    name,
    industry,
    employee_count,
    created_date,
    stripe_customer_id
  FROM raw_crm.account
  WHERE
    @is_valid_raw_row('raw_crm.account')
), deduplicated AS (
  @deduplicate(source, [id], ['created_date DESC', 'name'])
)
SELECT
  a.id::STRING AS account_id, /* CRM account id */
  a.name::STRING AS account_name, /* company name */
  a.industry::STRING AS industry, /* industry */
  a.employee_count::INT64 AS employee_count, /* employees */
  a.created_date::TIMESTAMP AS created_at, /* when the account was created in the CRM, UTC */
  NULLIF(TRIM(a.stripe_customer_id), '')::STRING AS stripe_customer_id /* the paying Stripe customer, NULL if none */
FROM deduplicated AS a
