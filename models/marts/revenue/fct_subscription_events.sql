/* Subscription lifecycle events: one row per subscription, event time and event type,
   derived by comparing each version of revenue.dim_subscriptions with the one before it
   (LAG over valid_from per subscription). Events happen at the version's valid_from,
   except trial_started (at trial_start). MRR is revenue.dim_subscriptions.mrr_usd (0 for
   statuses outside @VAR('mrr_statuses')).
   A version change yields at most one MRR movement, the first that applies of:
   - created          the subscription's first version (MRR 0 -> its MRR)
   - trial_converted  trialing -> active | past_due
   - trial_expired    trialing -> canceled | incomplete | unpaid (the trial ended unpaid)
   - reactivated      canceled -> active | past_due
   - canceled         the status becomes canceled from anything but trialing (effective:
                      a scheduled cancellation counts here when its period ends)
   - upgraded / downgraded / quantity_changed, only when both versions carry MRR: up or down
     by tier_rank; at equal (or unknown) tier by the price's unit MRR in USD; with neither
     moving, quantity_changed when the quantity differs. A plan change that also changes
     the quantity (starter x1 -> pro x3) is one upgraded (or downgraded) event whose
     mrr/quantity before/after show both changes: quantity_changed is a quantity change
     on an equivalent price only. Plan changes while trialing or canceled carry no MRR and
     yield no event.
   and MRR-neutral events, which can come with the movement of the same version change:
   - trial_started    the first version is trialing (alongside created)
   - cancellation_scheduled / cancellation_withdrawn  cancel_at_period_end false -> true /
                      true -> false while neither version is canceled (the flag a canceled
                      subscription keeps or drops is not a decision)
   Before/after columns of a movement describe the previous and this version (no previous
   version: MRR 0, the rest NULL); those of an MRR-neutral event describe this version on
   both sides (mrr_change_usd 0), so summing mrr_change_usd over any set of events never
   counts a version change twice. A change of status between MRR-carrying statuses alone
   (active <-> past_due) is no event. */
MODEL (
  name revenue.fct_subscription_events,
  kind FULL,
  grain (subscription_id, event_at, event_type),
  partitioned_by event_date,
  clustered_by (subscription_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'mart'), ('model', 'fct_subscription_events')]),
  audits (
    unique_combination_of_columns(columns := (subscription_id, event_at, event_type)),
    not_null(columns := (subscription_id, customer_id, event_type, event_at, event_date, version_valid_from, is_mrr_movement, mrr_usd_before, mrr_usd_after, mrr_change_usd, status_after)),
    accepted_values(column := event_type, is_in := ('created', 'trial_started', 'trial_converted', 'trial_expired', 'upgraded', 'downgraded', 'quantity_changed', 'cancellation_scheduled', 'cancellation_withdrawn', 'canceled', 'reactivated')),
    accepted_range(column := mrr_usd_before, min_v := 0),
    accepted_range(column := mrr_usd_after, min_v := 0),
    subscription_events_mrr_change_is_after_minus_before
  )
);

WITH versions AS (
  SELECT
    s.subscription_id,
    s.customer_id,
    s.user_id,
    s.product_id,
    s.valid_from,
    s.status,
    s.plan,
    s.tier,
    s.tier_rank,
    s.quantity,
    s.unit_mrr_usd,
    s.cancel_at_period_end,
    s.trial_start,
    s.is_mrr_status,
    s.mrr_usd,
    LAG(s.valid_from) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) IS NULL AS is_first,
    LAG(s.status) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_status,
    LAG(s.plan) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_plan,
    LAG(s.tier) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_tier,
    LAG(s.tier_rank) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_tier_rank,
    LAG(s.quantity) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_quantity,
    LAG(s.unit_mrr_usd) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_unit_mrr_usd,
    LAG(s.cancel_at_period_end) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_cancel_at_period_end,
    LAG(s.is_mrr_status) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_is_mrr_status,
    LAG(s.mrr_usd) OVER (PARTITION BY s.subscription_id ORDER BY s.valid_from) AS prev_mrr_usd
  FROM revenue.dim_subscriptions AS s
), changes AS (
  /* what each version change is: its status movement, its plan direction, its flag flip */
  SELECT
    v.*,
    CASE
      WHEN v.is_first
      THEN 'created'
      WHEN v.prev_status = 'trialing' AND v.status IN ('active', 'past_due')
      THEN 'trial_converted'
      WHEN v.prev_status = 'trialing' AND v.status IN ('canceled', 'incomplete', 'unpaid')
      THEN 'trial_expired'
      WHEN v.prev_status = 'canceled' AND v.status IN ('active', 'past_due')
      THEN 'reactivated'
      WHEN v.prev_status <> 'canceled' AND v.status = 'canceled'
      THEN 'canceled'
    END AS status_event,
    /* +1 up, -1 down, 0 same: tier first, then the price's unit MRR */
    COALESCE(
      NULLIF(SIGN(v.tier_rank - v.prev_tier_rank), 0),
      SIGN(v.unit_mrr_usd - v.prev_unit_mrr_usd),
      0
    ) AS plan_direction,
    CASE
      WHEN v.is_first OR v.status = 'canceled' OR v.prev_status = 'canceled'
      THEN NULL
      WHEN v.cancel_at_period_end AND NOT v.prev_cancel_at_period_end
      THEN 'cancellation_scheduled'
      WHEN NOT v.cancel_at_period_end AND v.prev_cancel_at_period_end
      THEN 'cancellation_withdrawn'
    END AS cancellation_event
  FROM versions AS v
), movements AS (
  SELECT
    c.*,
    COALESCE(
      c.status_event,
      CASE
        WHEN NOT (c.is_mrr_status AND c.prev_is_mrr_status)
        THEN NULL
        WHEN c.plan_direction > 0
        THEN 'upgraded'
        WHEN c.plan_direction < 0
        THEN 'downgraded'
        WHEN c.quantity <> c.prev_quantity
        THEN 'quantity_changed'
      END
    ) AS movement_event
  FROM changes AS c
), events AS (
  SELECT
    m.*,
    m.movement_event AS event_type,
    m.valid_from AS event_at,
    TRUE AS is_mrr_movement
  FROM movements AS m
  WHERE
    m.movement_event IS NOT NULL
  UNION ALL
  SELECT
    m.*,
    m.cancellation_event AS event_type,
    m.valid_from AS event_at,
    FALSE AS is_mrr_movement
  FROM movements AS m
  WHERE
    m.cancellation_event IS NOT NULL
  UNION ALL
  SELECT
    m.*,
    'trial_started' AS event_type,
    COALESCE(m.trial_start, m.valid_from) AS event_at,
    FALSE AS is_mrr_movement
  FROM movements AS m
  WHERE
    m.is_first AND m.status = 'trialing'
)
SELECT
  e.subscription_id::STRING AS subscription_id, /* Stripe subscription id */
  e.event_at::TIMESTAMP AS event_at, /* when it happened: the version's valid_from (trial_started: trial_start), UTC */
  e.event_type::STRING AS event_type, /* created | trial_started | trial_converted | trial_expired | upgraded | downgraded | quantity_changed | cancellation_scheduled | cancellation_withdrawn | canceled | reactivated */
  DATE(e.event_at) AS event_date, /* UTC day of event_at */
  e.customer_id::STRING AS customer_id, /* Stripe customer id */
  e.user_id::STRING AS user_id, /* app user of the customer, NULL when unlinked */
  e.product_id::STRING AS product_id, /* Stripe product id of the version */
  e.valid_from::TIMESTAMP AS version_valid_from, /* the version that produced the event (revenue.dim_subscriptions key with subscription_id) */
  e.is_mrr_movement::BOOL AS is_mrr_movement, /* the event is the version change's MRR movement (at most one per change); FALSE for trial_started and the cancellation flag events */
  e.cancel_at_period_end::BOOL AS cancel_at_period_end, /* the version's flag: a cancellation is scheduled */
  IF(e.is_mrr_movement, e.prev_status, e.status)::STRING AS status_before, /* status before the event (NULL for created) */
  e.status::STRING AS status_after, /* status after the event */
  IF(e.is_mrr_movement, e.prev_plan, e.plan)::STRING AS plan_before, /* price nickname before the event */
  e.plan::STRING AS plan_after, /* price nickname after the event */
  IF(e.is_mrr_movement, e.prev_tier, e.tier)::STRING AS tier_before, /* tier before the event */
  e.tier::STRING AS tier_after, /* tier after the event */
  IF(e.is_mrr_movement, e.prev_quantity, e.quantity)::INT64 AS quantity_before, /* seats before the event */
  e.quantity::INT64 AS quantity_after, /* seats after the event */
  ROUND(IF(e.is_mrr_movement, COALESCE(e.prev_mrr_usd, 0), e.mrr_usd), 2)::FLOAT64 AS mrr_usd_before, /* subscription MRR before the event, USD (0 before created) */
  ROUND(e.mrr_usd, 2)::FLOAT64 AS mrr_usd_after, /* subscription MRR after the event, USD */
  ROUND(e.mrr_usd - IF(e.is_mrr_movement, COALESCE(e.prev_mrr_usd, 0), e.mrr_usd), 2)::FLOAT64 AS mrr_change_usd /* mrr_usd_after - mrr_usd_before, USD; 0 for MRR-neutral events */
FROM events AS e
