/* MRR moves only through its movements: mrr - previous_mrr = new + expansion +
   reactivation - contraction - churned, to the cent, on every row. */
AUDIT (
  name revenue_movement_identity_per_row
);

SELECT
  *
FROM @this_model
WHERE
  ABS(
    (mrr_usd - previous_mrr_usd)
    - (new_mrr_usd + expansion_mrr_usd + reactivation_mrr_usd - contraction_mrr_usd - churned_mrr_usd)
  ) >= 0.005
