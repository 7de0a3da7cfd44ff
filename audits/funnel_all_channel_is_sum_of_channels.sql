/* The 'all' channel row of each cohort equals the sum of its channel rows, step by step. */
AUDIT (
  name funnel_all_channel_is_sum_of_channels
);

WITH sums AS (
  SELECT
    cohort_grain,
    cohort_start,
    SUM(IF(channel = 'all', visitors, -visitors)) AS visitors_gap,
    SUM(IF(channel = 'all', signups, -signups)) AS signups_gap,
    SUM(IF(channel = 'all', activated, -activated)) AS activated_gap,
    SUM(IF(channel = 'all', paid, -paid)) AS paid_gap,
    COUNTIF(channel = 'all') AS all_rows
  FROM @this_model
  GROUP BY
    cohort_grain,
    cohort_start
)
SELECT
  *
FROM sums
WHERE
  visitors_gap <> 0 OR signups_gap <> 0 OR activated_gap <> 0 OR paid_gap <> 0 OR all_rows <> 1
