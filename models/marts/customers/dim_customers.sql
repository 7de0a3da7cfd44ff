/* Stripe customers: one row per live customer of staging.stg_stripe__customer (test-mode
   customers never reach staging; customers deleted in Stripe stay, flagged), with their app
   user, CRM account, first payment, what they pay now and what they have paid so far.
   - user: the customer's primary stripe_customer link in staging.stg_identity_map.
   - CRM account: the staging.stg_crm__account row with this stripe_customer_id (the
     earliest created, then lowest id, if several).
   - first_paid_at: the first succeeded charge with amount > 0 (DESIGN.md "paid").
   - current MRR: revenue.fct_mrr_daily summed over products on that table's last mrr_date
     (mrr_as_of_date, the latest day processed with any MRR); 0 without a row that day.
   - current plan: among the customer's current subscription versions (is_current) with a
     status in @VAR('mrr_statuses'), the one of highest tier_rank (ties: higher MRR, then
     subscription id); NULL without one.
   - status, first match wins: past_due (a current subscription is past_due), active (current
     MRR > 0), trialing (a current subscription is trialing), churned (paid before, no MRR
     now), never_paid.
   - is_delinquent: a current subscription is past_due or unpaid (Stripe's own customer flag
     is is_stripe_delinquent).
   - lifetime revenue: succeeded charges in USD (converted per charge in staging through
     seeds.fx_rates); net = gross - refunded. failed_payments: failed charges, all time.
   Ids only: the customer's email and name and the CRM account's name stay in staging
   (staging.stg_stripe__customer by customer_id, staging.stg_crm__account by
   crm_account_id); no mart carries personal data. */
MODEL (
  name customers.dim_customers,
  kind FULL,
  grain customer_id,
  clustered_by (customer_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'dim_customers')]),
  audits (
    unique_values(columns := (customer_id)),
    not_null(columns := (customer_id, created_at, current_mrr_usd, current_arr_usd, current_subscriptions, status, is_delinquent, is_stripe_delinquent, is_deleted, lifetime_gross_usd, lifetime_refunded_usd, lifetime_net_usd, successful_payments, failed_payments)),
    accepted_values(column := status, is_in := ('active', 'past_due', 'trialing', 'churned', 'never_paid')),
    accepted_range(column := current_mrr_usd, min_v := 0),
    accepted_range(column := lifetime_refunded_usd, min_v := 0),
    customers_lifetime_net_is_gross_minus_refunded,
    customers_status_is_consistent
  )
);

WITH users AS (
  @stripe_customer_users()
), accounts AS (
  SELECT
    a.stripe_customer_id AS customer_id,
    a.account_id,
    a.industry,
    a.employee_count
  FROM staging.stg_crm__account AS a
  WHERE
    a.stripe_customer_id IS NOT NULL
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY a.stripe_customer_id ORDER BY a.created_at, a.account_id) = 1
), payments AS (
  SELECT
    c.customer_id,
    MIN(IF(@is_payment(c), c.created_at, NULL)) AS first_paid_at,
    @exact_sum(IF(c.status = 'succeeded', c.amount_usd, 0), 6) AS gross_usd,
    @exact_sum(IF(c.status = 'succeeded', c.amount_refunded_usd, 0), 6) AS refunded_usd,
    @exact_sum(IF(c.status = 'succeeded', c.net_amount_usd, 0), 6) AS net_usd,
    COUNTIF(@is_payment(c)) AS successful_payments,
    COUNTIF(c.status = 'failed') AS failed_payments,
    MAX(IF(c.status = 'failed', c.created_at, NULL)) AS last_failed_payment_at
  FROM staging.stg_stripe__charge AS c
  GROUP BY
    c.customer_id
), mrr_as_of AS (
  SELECT
    MAX(f.mrr_date) AS mrr_as_of_date
  FROM revenue.fct_mrr_daily AS f
), current_mrr AS (
  SELECT
    f.customer_id,
    @exact_sum(f.mrr_usd, 6) AS mrr_usd
  FROM revenue.fct_mrr_daily AS f
  INNER JOIN mrr_as_of AS a
    ON f.mrr_date = a.mrr_as_of_date
  GROUP BY
    f.customer_id
), current_subscriptions AS (
  /* the current version of each subscription, with its price */
  SELECT
    sh.customer_id,
    sh.subscription_id,
    sh.status,
    sh.quantity,
    p.price_nickname,
    p.tier,
    p.tier_rank,
    p.unit_mrr_usd * sh.quantity AS mrr_usd
  FROM staging.stg_stripe__subscription_history AS sh
  LEFT JOIN staging.stg_stripe__price AS p
    ON p.price_id = sh.price_id
  WHERE
    sh.is_current
), subscription_states AS (
  SELECT
    s.customer_id,
    COUNTIF(@in_list(s.status, @VAR('mrr_statuses'))) AS mrr_subscriptions,
    LOGICAL_OR(s.status = 'past_due') AS has_past_due,
    LOGICAL_OR(s.status = 'trialing') AS has_trialing,
    LOGICAL_OR(s.status IN ('past_due', 'unpaid')) AS has_delinquent
  FROM current_subscriptions AS s
  GROUP BY
    s.customer_id
), current_plans AS (
  SELECT
    s.customer_id,
    s.subscription_id,
    s.price_nickname,
    s.tier,
    s.tier_rank
  FROM current_subscriptions AS s
  WHERE
    @in_list(s.status, @VAR('mrr_statuses'))
  QUALIFY
    ROW_NUMBER() OVER (
      PARTITION BY s.customer_id
      ORDER BY s.tier_rank DESC NULLS LAST, s.mrr_usd DESC NULLS LAST, s.subscription_id
    ) = 1
), customers AS (
  SELECT
    c.customer_id,
    c.currency,
    c.created_at,
    c.is_deleted,
    c.is_delinquent,
    COALESCE(m.mrr_usd, 0) AS mrr_usd,
    CASE
      WHEN COALESCE(ss.has_past_due, FALSE)
      THEN 'past_due'
      WHEN COALESCE(m.mrr_usd, 0) > 0
      THEN 'active'
      WHEN COALESCE(ss.has_trialing, FALSE)
      THEN 'trialing'
      WHEN pay.first_paid_at IS NOT NULL
      THEN 'churned'
      ELSE 'never_paid'
    END AS status
  FROM staging.stg_stripe__customer AS c
  LEFT JOIN current_mrr AS m
    ON m.customer_id = c.customer_id
  LEFT JOIN subscription_states AS ss
    ON ss.customer_id = c.customer_id
  LEFT JOIN payments AS pay
    ON pay.customer_id = c.customer_id
)
SELECT
  c.customer_id::STRING AS customer_id, /* Stripe customer id */
  c.currency::STRING AS currency, /* default currency, upper-case ISO code (money columns below are USD) */
  c.created_at::TIMESTAMP AS created_at, /* when the customer was created, UTC */
  c.is_deleted::BOOL AS is_deleted, /* deleted in Stripe (kept: its history is real) */
  u.user_id::STRING AS user_id, /* app user of the customer (primary link of staging.stg_identity_map), NULL when unlinked */
  a.account_id::STRING AS crm_account_id, /* CRM account with this stripe_customer_id, NULL if none */
  a.industry::STRING AS industry, /* the CRM account's industry */
  a.employee_count::INT64 AS employee_count, /* the CRM account's employees */
  pay.first_paid_at::TIMESTAMP AS first_paid_at, /* first succeeded charge with amount > 0, UTC; NULL if never paid */
  ao.mrr_as_of_date::DATE AS mrr_as_of_date, /* the day current MRR is read on: the last mrr_date of revenue.fct_mrr_daily */
  ROUND(c.mrr_usd, 2)::FLOAT64 AS current_mrr_usd, /* MRR on mrr_as_of_date summed over products, USD; 0 without MRR */
  ROUND(12 * c.mrr_usd, 2)::FLOAT64 AS current_arr_usd, /* 12 x current MRR, USD */
  COALESCE(ss.mrr_subscriptions, 0)::INT64 AS current_subscriptions, /* current subscriptions with a status in mrr_statuses */
  cp.subscription_id::STRING AS current_plan_subscription_id, /* the subscription of the current plan */
  cp.price_nickname::STRING AS current_plan, /* price nickname of the current plan (highest tier), NULL without one */
  cp.tier::STRING AS current_tier, /* starter | pro | enterprise, NULL without a current plan */
  cp.tier_rank::INT64 AS current_tier_rank, /* 1 = starter ... 3 = enterprise */
  c.status::STRING AS status, /* past_due | active | trialing | churned | never_paid (first match wins) */
  COALESCE(ss.has_delinquent, FALSE)::BOOL AS is_delinquent, /* a current subscription is past_due or unpaid */
  c.is_delinquent::BOOL AS is_stripe_delinquent, /* Stripe's customer flag: latest invoice unpaid */
  ROUND(COALESCE(pay.gross_usd, 0), 2)::FLOAT64 AS lifetime_gross_usd, /* succeeded charges, gross, USD */
  ROUND(COALESCE(pay.refunded_usd, 0), 2)::FLOAT64 AS lifetime_refunded_usd, /* refunded on them, USD */
  ROUND(COALESCE(pay.net_usd, 0), 2)::FLOAT64 AS lifetime_net_usd, /* gross - refunded, USD */
  COALESCE(pay.successful_payments, 0)::INT64 AS successful_payments, /* succeeded charges with amount > 0 */
  COALESCE(pay.failed_payments, 0)::INT64 AS failed_payments, /* failed charges, all time */
  pay.last_failed_payment_at::TIMESTAMP AS last_failed_payment_at /* the latest failed charge, UTC */
FROM customers AS c
CROSS JOIN mrr_as_of AS ao
LEFT JOIN users AS u
  ON u.customer_id = c.customer_id
LEFT JOIN accounts AS a
  ON a.customer_id = c.customer_id
LEFT JOIN payments AS pay
  ON pay.customer_id = c.customer_id
LEFT JOIN subscription_states AS ss
  ON ss.customer_id = c.customer_id
LEFT JOIN current_plans AS cp
  ON cp.customer_id = c.customer_id
