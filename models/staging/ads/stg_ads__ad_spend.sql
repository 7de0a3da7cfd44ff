/* Daily ad spend per platform and campaign, in the account currency and USD. One row per
   day, platform and campaign (sync duplicates dropped); rows in an unknown currency or
   with negative figures are in staging.stg_quarantine. */
MODEL (
  name staging.stg_ads__ad_spend,
  kind FULL,
  grain (spend_date, platform, campaign_id),
  partitioned_by spend_date,
  clustered_by (platform, utm_source),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_ads__ad_spend')]),
  audits (
    unique_combination_of_columns(columns := (spend_date, platform, campaign_id)),
    not_null(columns := (spend_date, platform, campaign_id, spend, spend_usd, impressions, clicks))
  )
);

WITH source AS (
  SELECT
    date,
    platform,
    account_id,
    campaign_id,
    campaign_name,
    utm_source,
    utm_campaign,
    spend,
    currency,
    impressions,
    clicks
  FROM raw_ads.ad_spend
  WHERE
    @is_valid_raw_row('raw_ads.ad_spend')
), deduplicated AS (
  @deduplicate(source, [date, platform, campaign_id], ['spend DESC', 'account_id'])
)
SELECT
  a.date::DATE AS spend_date, /* UTC day of the spend */
  a.platform::STRING AS platform, /* google_ads | meta_ads | linkedin_ads */
  a.account_id::STRING AS account_id, /* ad account id */
  a.campaign_id::STRING AS campaign_id, /* platform campaign id */
  a.campaign_name::STRING AS campaign_name, /* campaign name */
  LOWER(TRIM(a.utm_source))::STRING AS utm_source, /* utm_source the campaign's links carry */
  a.utm_campaign::STRING AS utm_campaign, /* utm_campaign the campaign's links carry */
  UPPER(a.currency)::STRING AS currency, /* account currency, upper-case ISO code */
  ROUND(a.spend, 2)::FLOAT64 AS spend, /* spend in the account currency */
  @major_to_usd(a.spend, fx)::FLOAT64 AS spend_usd, /* spend in USD (seeds.fx_rates) */
  COALESCE(a.impressions, 0)::INT64 AS impressions, /* ad impressions */
  COALESCE(a.clicks, 0)::INT64 AS clicks /* ad clicks */
FROM deduplicated AS a
INNER JOIN seeds.fx_rates AS fx
  ON fx.currency = UPPER(a.currency)
