/* sales.pipeline_monthly: each month has exactly one row per type (new, expansion,
   renewal) and one 'all' row, and the 'all' row is the sum of the type rows for every
   count and amount (money within rounding: four values each rounded to the cent).
   won_customers and their MRR are distinct customers per row, so not additive, and are
   not checked here. Returns the offending months. */
AUDIT (
  name sales_pipeline_all_row_is_sum_of_types
);

WITH gaps AS (
  SELECT
    p.month_start,
    COUNTIF(p.opportunity_type = 'all') AS all_rows,
    COUNTIF(p.opportunity_type IN ('new', 'expansion', 'renewal')) AS type_rows,
    COUNT(DISTINCT p.opportunity_type) AS distinct_types,
    SUM(IF(p.opportunity_type = 'all', p.created_count, -p.created_count)) AS created_count_gap,
    SUM(IF(p.opportunity_type = 'all', p.won_count, -p.won_count)) AS won_count_gap,
    SUM(IF(p.opportunity_type = 'all', p.lost_count, -p.lost_count)) AS lost_count_gap,
    SUM(IF(p.opportunity_type = 'all', p.closed_count, -p.closed_count)) AS closed_count_gap,
    SUM(IF(p.opportunity_type = 'all', p.open_count, -p.open_count)) AS open_count_gap,
    SUM(IF(p.opportunity_type = 'all', p.won_deals_with_customer, -p.won_deals_with_customer)) AS with_customer_gap,
    SUM(IF(p.opportunity_type = 'all', p.won_deals_without_customer, -p.won_deals_without_customer)) AS without_customer_gap,
    SUM(IF(p.opportunity_type = 'all', p.created_amount_usd, -p.created_amount_usd)) AS created_amount_gap,
    SUM(IF(p.opportunity_type = 'all', p.won_amount_usd, -p.won_amount_usd)) AS won_amount_gap,
    SUM(IF(p.opportunity_type = 'all', p.lost_amount_usd, -p.lost_amount_usd)) AS lost_amount_gap,
    SUM(IF(p.opportunity_type = 'all', p.open_amount_usd, -p.open_amount_usd)) AS open_amount_gap,
    SUM(IF(p.opportunity_type = 'all', p.linked_won_amount_usd, -p.linked_won_amount_usd)) AS linked_won_amount_gap
  FROM @this_model AS p
  GROUP BY
    p.month_start
)
SELECT
  *
FROM gaps
WHERE
  all_rows <> 1
  OR type_rows <> 3
  OR distinct_types <> 4
  OR created_count_gap <> 0
  OR won_count_gap <> 0
  OR lost_count_gap <> 0
  OR closed_count_gap <> 0
  OR open_count_gap <> 0
  OR with_customer_gap <> 0
  OR without_customer_gap <> 0
  OR ABS(created_amount_gap) > 0.02
  OR ABS(won_amount_gap) > 0.02
  OR ABS(lost_amount_gap) > 0.02
  OR ABS(open_amount_gap) > 0.02
  OR ABS(linked_won_amount_gap) > 0.02
