/* Channel economics: one row per period_grain ('day', 'month'), period_start, channel,
   utm_source and utm_campaign ('(none)' when absent). Three sides meet on those keys and
   none is dropped by the others: spend, impressions and clicks (staging.stg_ads__ad_spend;
   its channel is the seeds.utm_channel_mapping row of its utm_source with a medium in
   @VAR('paid_utm_mediums'), 'other' without one), traffic (sessions, visitors and new
   visitors from intermediate.int_visitor_sessions and acquisition.funnel_users), and
   conversions credited by each attribution model (acquisition.attribution, on the
   conversion day): signups, paid conversions, new MRR and first-month revenue.
   Ratios per model: CPA = spend / signups, CAC = spend / paid conversions, ROAS =
   first-month revenue / spend, payback months = spend / new MRR; NULL on a zero
   denominator. Visitors are distinct within the row's period, so a month's visitors are
   not the sum of its days. */
MODEL (
  name acquisition.channel_performance,
  kind FULL,
  grain (period_grain, period_start, channel, utm_source, utm_campaign),
  partitioned_by period_start,
  clustered_by (period_grain, channel),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'channel_performance')]),
  audits (
    unique_combination_of_columns(columns := (period_grain, period_start, channel, utm_source, utm_campaign)),
    not_null(columns := (period_grain, period_start, channel, utm_source, utm_campaign, spend_usd, impressions, clicks, sessions, visitors, new_visitors)),
    accepted_values(column := period_grain, is_in := ('day', 'month')),
    accepted_range(column := ctr, min_v := 0, max_v := 1),
    channel_performance_months_add_up
  )
);

@DEF(attribution_models, ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']);

WITH grains AS (
  SELECT
    grain
  FROM UNNEST(['day', 'month']) AS grain
), spend_channels AS (
  SELECT
    m.utm_source,
    MIN(m.channel) AS channel
  FROM seeds.utm_channel_mapping AS m
  WHERE
    @in_list(m.utm_medium, @VAR('paid_utm_mediums'))
  GROUP BY
    m.utm_source
), spend AS (
  SELECT
    g.grain AS period_grain,
    @period_first_day(@period_index(a.spend_date, g.grain), g.grain) AS period_start,
    COALESCE(sc.channel, 'other') AS channel,
    COALESCE(a.utm_source, '(none)') AS utm_source,
    COALESCE(a.utm_campaign, '(none)') AS utm_campaign,
    @exact_sum(a.spend_usd, 6) AS spend_usd,
    SUM(a.impressions) AS impressions,
    SUM(a.clicks) AS clicks
  FROM staging.stg_ads__ad_spend AS a
  CROSS JOIN grains AS g
  LEFT JOIN spend_channels AS sc
    ON sc.utm_source = a.utm_source
  GROUP BY
    1,
    2,
    3,
    4,
    5
), traffic AS (
  SELECT
    g.grain AS period_grain,
    @period_first_day(@period_index(s.session_date, g.grain), g.grain) AS period_start,
    s.channel,
    COALESCE(s.utm_source, '(none)') AS utm_source,
    COALESCE(s.utm_campaign, '(none)') AS utm_campaign,
    COUNT(*) AS sessions,
    COUNT(DISTINCT s.visitor_id) AS visitors
  FROM intermediate.int_visitor_sessions AS s
  CROSS JOIN grains AS g
  GROUP BY
    1,
    2,
    3,
    4,
    5
), new_visitors AS (
  SELECT
    g.grain AS period_grain,
    @period_first_day(@period_index(f.first_visit_date, g.grain), g.grain) AS period_start,
    f.channel,
    COALESCE(f.utm_source, '(none)') AS utm_source,
    COALESCE(f.utm_campaign, '(none)') AS utm_campaign,
    COUNT(*) AS new_visitors
  FROM acquisition.funnel_users AS f
  CROSS JOIN grains AS g
  GROUP BY
    1,
    2,
    3,
    4,
    5
), credited AS (
  SELECT
    g.grain AS period_grain,
    @period_first_day(@period_index(a.conversion_date, g.grain), g.grain) AS period_start,
    a.channel,
    COALESCE(a.utm_source, '(none)') AS utm_source,
    COALESCE(a.utm_campaign, '(none)') AS utm_campaign,
    @EACH(
      @attribution_models,
      _m -> @exact_sum(IF(a.conversion_type = 'signup', a.@{_m}_weight, 0), 9) AS signups_@{_m}
    ),
    @EACH(
      @attribution_models,
      _m -> @exact_sum(IF(a.conversion_type = 'paid', a.@{_m}_weight, 0), 9) AS paid_@{_m}
    ),
    @EACH(
      @attribution_models,
      _m -> @exact_sum(IF(a.conversion_type = 'paid', a.@{_m}_weight * a.conversion_new_mrr_usd, 0), 6) AS new_mrr_usd_@{_m}
    ),
    @EACH(
      @attribution_models,
      _m -> @exact_sum(IF(a.conversion_type = 'paid', a.@{_m}_weight * a.conversion_first_month_revenue_usd, 0), 6) AS first_month_revenue_usd_@{_m}
    )
  FROM acquisition.attribution AS a
  CROSS JOIN grains AS g
  GROUP BY
    1,
    2,
    3,
    4,
    5
), keys AS (
  SELECT period_grain, period_start, channel, utm_source, utm_campaign FROM spend
  UNION DISTINCT
  SELECT period_grain, period_start, channel, utm_source, utm_campaign FROM traffic
  UNION DISTINCT
  SELECT period_grain, period_start, channel, utm_source, utm_campaign FROM new_visitors
  UNION DISTINCT
  SELECT period_grain, period_start, channel, utm_source, utm_campaign FROM credited
)
SELECT
  k.period_grain::STRING AS period_grain, /* day | month */
  k.period_start::DATE AS period_start, /* the day, or the first day of the month */
  k.channel::STRING AS channel, /* acquisition channel; 'unattributed' for conversions without a touch */
  k.utm_source::STRING AS utm_source, /* utm_source, '(none)' when absent */
  k.utm_campaign::STRING AS utm_campaign, /* utm_campaign, '(none)' when absent */
  ROUND(COALESCE(sp.spend_usd, 0), 2)::FLOAT64 AS spend_usd, /* ad spend, USD */
  COALESCE(sp.impressions, 0)::INT64 AS impressions, /* ad impressions */
  COALESCE(sp.clicks, 0)::INT64 AS clicks, /* ad clicks */
  ROUND(SAFE_DIVIDE(sp.clicks, sp.impressions), 4)::FLOAT64 AS ctr, /* clicks / impressions */
  COALESCE(t.sessions, 0)::INT64 AS sessions, /* sessions that started in the period */
  COALESCE(t.visitors, 0)::INT64 AS visitors, /* distinct visitors with a session in the period */
  COALESCE(nv.new_visitors, 0)::INT64 AS new_visitors, /* visitors whose first visit was in the period */
  @EACH(@attribution_models, _m -> ROUND(COALESCE(c.signups_@{_m}, 0), 4)::FLOAT64 AS signups_@{_m}), /* signups credited by each model */
  @EACH(@attribution_models, _m -> ROUND(COALESCE(c.paid_@{_m}, 0), 4)::FLOAT64 AS paid_conversions_@{_m}), /* first payments credited by each model */
  @EACH(@attribution_models, _m -> ROUND(COALESCE(c.new_mrr_usd_@{_m}, 0), 2)::FLOAT64 AS new_mrr_usd_@{_m}), /* new MRR credited by each model, USD */
  @EACH(@attribution_models, _m -> ROUND(COALESCE(c.first_month_revenue_usd_@{_m}, 0), 2)::FLOAT64 AS first_month_revenue_usd_@{_m}), /* first-charge net revenue credited by each model, USD */
  @EACH(@attribution_models, _m -> ROUND(SAFE_DIVIDE(sp.spend_usd, c.signups_@{_m}), 2)::FLOAT64 AS cpa_usd_@{_m}), /* spend / signups */
  @EACH(@attribution_models, _m -> ROUND(SAFE_DIVIDE(sp.spend_usd, c.paid_@{_m}), 2)::FLOAT64 AS cac_usd_@{_m}), /* spend / paid conversions */
  @EACH(@attribution_models, _m -> ROUND(SAFE_DIVIDE(c.first_month_revenue_usd_@{_m}, sp.spend_usd), 4)::FLOAT64 AS roas_@{_m}), /* first-month revenue / spend */
  @EACH(@attribution_models, _m -> ROUND(SAFE_DIVIDE(sp.spend_usd, c.new_mrr_usd_@{_m}), 2)::FLOAT64 AS payback_months_@{_m}) /* spend / new MRR: months of new MRR to earn the spend back */
FROM keys AS k
LEFT JOIN spend AS sp
  ON sp.period_grain = k.period_grain AND sp.period_start = k.period_start AND sp.channel = k.channel AND sp.utm_source = k.utm_source AND sp.utm_campaign = k.utm_campaign
LEFT JOIN traffic AS t
  ON t.period_grain = k.period_grain AND t.period_start = k.period_start AND t.channel = k.channel AND t.utm_source = k.utm_source AND t.utm_campaign = k.utm_campaign
LEFT JOIN new_visitors AS nv
  ON nv.period_grain = k.period_grain AND nv.period_start = k.period_start AND nv.channel = k.channel AND nv.utm_source = k.utm_source AND nv.utm_campaign = k.utm_campaign
LEFT JOIN credited AS c
  ON c.period_grain = k.period_grain AND c.period_start = k.period_start AND c.channel = k.channel AND c.utm_source = k.utm_source AND c.utm_campaign = k.utm_campaign
