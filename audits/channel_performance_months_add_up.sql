/* A month's row adds up its days' rows for every additive measure (visitors are distinct
   per period, so they are not). */
AUDIT (
  name channel_performance_months_add_up
);

WITH gaps AS (
  SELECT
    DATE_TRUNC(period_start, MONTH) AS month_start,
    channel,
    utm_source,
    utm_campaign,
    SUM(IF(period_grain = 'month', spend_usd, -spend_usd)) AS spend_gap,
    SUM(IF(period_grain = 'month', clicks, -clicks)) AS clicks_gap,
    SUM(IF(period_grain = 'month', sessions, -sessions)) AS sessions_gap,
    SUM(IF(period_grain = 'month', new_visitors, -new_visitors)) AS new_visitors_gap,
    SUM(IF(period_grain = 'month', signups_linear, -signups_linear)) AS signups_gap,
    SUM(IF(period_grain = 'month', paid_conversions_linear, -paid_conversions_linear)) AS paid_gap
  FROM @this_model
  GROUP BY
    1,
    2,
    3,
    4
)
SELECT
  *
FROM gaps
WHERE
  ABS(spend_gap) > 0.01 * 31
  OR clicks_gap <> 0
  OR sessions_gap <> 0
  OR new_visitors_gap <> 0
  OR ABS(signups_gap) > 0.001
  OR ABS(paid_gap) > 0.001
