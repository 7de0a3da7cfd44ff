/* Feature adoption: one row per feature (seeds.feature_catalog), calendar month and plan
   tier, plus an 'all' tier row, for every month from the first active month to the month
   of the as-of day (the last day with activity); a combination nobody used has zeros.
   A user's tier in a month is the highest tier among their subscription versions in an
   MRR-carrying status (@VAR('mrr_statuses')) valid at any moment of that month, else
   'free'. Uses are qualifying events (as for active users) of identified users with a
   feature; the adoption rate is over the month's active users of the same tier. The
   as-of month is partial: is_complete_month says so. */
MODEL (
  name product.feature_adoption,
  kind FULL,
  grain (feature, month_start, plan_tier),
  partitioned_by month_start,
  clustered_by (feature, plan_tier),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'feature_adoption')]),
  audits (
    unique_combination_of_columns(columns := (feature, month_start, plan_tier)),
    not_null(columns := (feature, month_start, plan_tier, active_users, feature_users, uses, first_time_adopters, is_complete_month)),
    accepted_range(column := adoption_rate, min_v := 0, max_v := 1),
    feature_adoption_tiers_add_up
  )
);

WITH activity_range AS (
  SELECT
    MIN(a.activity_date) AS first_activity_date,
    MAX(a.activity_date) AS as_of_date
  FROM product.fct_user_activity_daily AS a
), months AS (
  SELECT
    month_start,
    DATE(DATE_ADD(month_start, INTERVAL 1 MONTH)) AS next_month_start,
    ar.as_of_date
  FROM activity_range AS ar
  CROSS JOIN UNNEST(
    GENERATE_DATE_ARRAY(DATE(DATE_TRUNC(ar.first_activity_date, MONTH)), ar.as_of_date, INTERVAL 1 MONTH)
  ) AS month_start
), features AS (
  SELECT
    fc.feature,
    MIN(fc.product) AS product
  FROM seeds.feature_catalog AS fc
  GROUP BY
    fc.feature
), tiers AS (
  SELECT DISTINCT
    p.tier AS plan_tier
  FROM staging.stg_stripe__price AS p
  WHERE
    p.tier IS NOT NULL
  UNION DISTINCT
  SELECT
    'free' AS plan_tier
  UNION DISTINCT
  SELECT
    'all' AS plan_tier
), monthly_active AS (
  SELECT
    a.user_id,
    DATE(DATE_TRUNC(a.activity_date, MONTH)) AS month_start
  FROM product.fct_user_activity_daily AS a
  GROUP BY
    1,
    2
), paid_versions AS (
  /* subscription versions that carry a paid tier, by user */
  SELECT
    m.user_id,
    p.tier,
    p.tier_rank,
    sh.valid_from,
    sh.valid_to
  FROM staging.stg_stripe__subscription_history AS sh
  INNER JOIN staging.stg_stripe__price AS p
    ON p.price_id = sh.price_id
  INNER JOIN staging.stg_identity_map AS m
    ON m.id_type = 'stripe_customer' AND m.source_id = sh.customer_id
  WHERE
    @in_list(sh.status, @VAR('mrr_statuses')) AND p.tier IS NOT NULL
), paid_months AS (
  /* each paying user's highest MRR-carrying tier per month: versions x months, a few rows per subscriber */
  SELECT
    pv.user_id,
    mo.month_start,
    MAX_BY(pv.tier, pv.tier_rank) AS plan_tier
  FROM paid_versions AS pv
  INNER JOIN months AS mo
    ON pv.valid_from < TIMESTAMP(mo.next_month_start)
    AND COALESCE(pv.valid_to, TIMESTAMP(mo.next_month_start)) > TIMESTAMP(mo.month_start)
  GROUP BY
    1,
    2
), user_month_tier AS (
  SELECT
    ma.user_id,
    ma.month_start,
    COALESCE(pm.plan_tier, 'free') AS plan_tier
  FROM monthly_active AS ma
  LEFT JOIN paid_months AS pm
    ON pm.user_id = ma.user_id AND pm.month_start = ma.month_start
), feature_use AS (
  /* each user's qualifying uses of each feature per month */
  SELECT
    e.user_id,
    e.feature,
    DATE(DATE_TRUNC(e.event_date, MONTH)) AS month_start,
    COUNT(*) AS uses
  FROM product.fct_events AS e
  WHERE
    e.user_id IS NOT NULL
    AND e.feature IS NOT NULL
    AND @in_list(e.event_type, @VAR('active_event_types'))
    AND NOT @in_list(e.event_name, @VAR('inactive_events'))
  GROUP BY
    1,
    2,
    3
), feature_use_by_tier AS (
  SELECT
    fu.user_id,
    fu.feature,
    fu.month_start,
    fu.uses,
    umt.plan_tier
  FROM feature_use AS fu
  INNER JOIN user_month_tier AS umt
    ON umt.user_id = fu.user_id AND umt.month_start = fu.month_start
), first_use_by_tier AS (
  /* each user's first month with each feature, and their tier in that month */
  SELECT
    f.feature,
    f.month_start,
    umt.plan_tier
  FROM (
    SELECT
      fu.user_id,
      fu.feature,
      MIN(fu.month_start) AS month_start
    FROM feature_use AS fu
    GROUP BY
      1,
      2
  ) AS f
  INNER JOIN user_month_tier AS umt
    ON umt.user_id = f.user_id AND umt.month_start = f.month_start
), usage_by_tier AS (
  SELECT
    f.feature,
    f.month_start,
    f.plan_tier,
    COUNT(*) AS feature_users,
    SUM(f.uses) AS uses
  FROM feature_use_by_tier AS f
  GROUP BY
    1,
    2,
    3
  UNION ALL
  SELECT
    f.feature,
    f.month_start,
    'all' AS plan_tier,
    COUNT(*) AS feature_users,
    SUM(f.uses) AS uses
  FROM feature_use_by_tier AS f
  GROUP BY
    1,
    2
), adopters_by_tier AS (
  SELECT
    f.feature,
    f.month_start,
    f.plan_tier,
    COUNT(*) AS first_time_adopters
  FROM first_use_by_tier AS f
  GROUP BY
    1,
    2,
    3
  UNION ALL
  SELECT
    f.feature,
    f.month_start,
    'all' AS plan_tier,
    COUNT(*) AS first_time_adopters
  FROM first_use_by_tier AS f
  GROUP BY
    1,
    2
), actives_by_tier AS (
  SELECT
    umt.month_start,
    umt.plan_tier,
    COUNT(*) AS active_users
  FROM user_month_tier AS umt
  GROUP BY
    1,
    2
  UNION ALL
  SELECT
    umt.month_start,
    'all' AS plan_tier,
    COUNT(*) AS active_users
  FROM user_month_tier AS umt
  GROUP BY
    1
), grid AS (
  SELECT
    f.feature,
    f.product,
    mo.month_start,
    mo.next_month_start,
    mo.as_of_date,
    t.plan_tier
  FROM features AS f
  CROSS JOIN months AS mo
  CROSS JOIN tiers AS t
)
SELECT
  g.feature::STRING AS feature, /* product feature (seeds.feature_catalog) */
  g.product::STRING AS product, /* product the feature belongs to */
  g.month_start::DATE AS month_start, /* first day of the calendar month, UTC */
  g.plan_tier::STRING AS plan_tier, /* free | starter | pro | enterprise: the user's highest MRR-carrying tier during the month; 'all' = every tier */
  COALESCE(a.active_users, 0)::INT64 AS active_users, /* users of the tier active in the month */
  COALESCE(u.feature_users, 0)::INT64 AS feature_users, /* users of the tier who used the feature in the month */
  COALESCE(u.uses, 0)::INT64 AS uses, /* qualifying events of the feature by those users in the month */
  ROUND(SAFE_DIVIDE(COALESCE(u.feature_users, 0), a.active_users), 4)::FLOAT64 AS adoption_rate, /* feature_users / active_users, 0-1; NULL when the tier had no active user */
  COALESCE(fa.first_time_adopters, 0)::INT64 AS first_time_adopters, /* users whose first use of the feature ever is in this month */
  ROUND(SAFE_DIVIDE(u.uses, u.feature_users), 2)::FLOAT64 AS uses_per_user, /* uses / feature_users; NULL when nobody used it */
  (g.next_month_start <= DATE(DATE_ADD(g.as_of_date, INTERVAL 1 DAY)))::BOOL AS is_complete_month, /* the whole month is on or before the as-of day; FALSE for the as-of day's (partial) month */
  g.as_of_date::DATE AS as_of_date /* the last day with activity (product.fct_user_activity_daily) */
FROM grid AS g
LEFT JOIN usage_by_tier AS u
  ON u.feature = g.feature AND u.month_start = g.month_start AND u.plan_tier = g.plan_tier
LEFT JOIN adopters_by_tier AS fa
  ON fa.feature = g.feature AND fa.month_start = g.month_start AND fa.plan_tier = g.plan_tier
LEFT JOIN actives_by_tier AS a
  ON a.month_start = g.month_start AND a.plan_tier = g.plan_tier
