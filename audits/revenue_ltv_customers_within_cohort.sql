/* A cohort never has more paying customers than members, nor net revenue that shrinks
   below zero overall. */
AUDIT (
  name revenue_ltv_customers_within_cohort
);

SELECT
  *
FROM @this_model
WHERE
  customers_paying > cohort_customers OR cumulative_net_revenue_usd < 0
