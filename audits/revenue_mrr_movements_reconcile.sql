/* The MRR bridge holds on every row, to the cent: ending = starting + new + expansion +
   reactivation - contraction - churned, and starting = the previous month's ending. */
AUDIT (
  name revenue_mrr_movements_reconcile
);

WITH rows_with_previous AS (
  SELECT
    *,
    LAG(ending_mrr_usd) OVER (PARTITION BY scope ORDER BY month_start) AS previous_ending_mrr_usd
  FROM @this_model
)
SELECT
  *
FROM rows_with_previous
WHERE
  ABS(
    ending_mrr_usd
    - (starting_mrr_usd + new_mrr_usd + expansion_mrr_usd + reactivation_mrr_usd - contraction_mrr_usd - churned_mrr_usd)
  ) >= 0.005
  OR ABS(starting_mrr_usd - COALESCE(previous_ending_mrr_usd, 0)) >= 0.005
