/* Who is who: links anonymous ids and Stripe customers to app users (DESIGN.md, Identity).
   One row per id_type, source_id and user_id. For an anonymous_id the first identify wins
   (is_primary); later users it was identified as are kept as aliases. A Stripe customer
   links through metadata.user_id, else through a case- and space-insensitive email match
   with identifies (the first user identified with that email). Customers with neither are
   absent. Join on is_primary to get exactly one user per source id. */
MODEL (
  name staging.stg_identity_map,
  kind FULL,
  grain (id_type, source_id, user_id),
  clustered_by (source_id, user_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'staging'), ('model', 'stg_identity_map')]),
  audits (
    unique_combination_of_columns(columns := (id_type, source_id, user_id)),
    not_null(columns := (id_type, source_id, user_id, is_primary, match_method)),
    accepted_values(column := id_type, is_in := ('anonymous_id', 'stripe_customer')),
    one_primary_per_source_id
  )
);

WITH anonymous_links AS (
  SELECT
    i.anonymous_id,
    i.user_id,
    MIN(i.identified_at) AS first_linked_at
  FROM staging.stg_segment__identifies AS i
  WHERE
    i.anonymous_id IS NOT NULL
  GROUP BY
    i.anonymous_id,
    i.user_id
), email_owners AS (
  /* the first user identified with each normalized email */
  SELECT
    i.email_normalized,
    i.user_id
  FROM staging.stg_segment__identifies AS i
  WHERE
    i.email_normalized IS NOT NULL
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY i.email_normalized ORDER BY i.identified_at, i.user_id) = 1
), customer_links AS (
  SELECT
    c.customer_id,
    COALESCE(c.metadata_user_id, e.user_id) AS user_id,
    CASE WHEN c.metadata_user_id IS NOT NULL THEN 'metadata' ELSE 'email' END AS match_method,
    c.created_at AS first_linked_at
  FROM staging.stg_stripe__customer AS c
  LEFT JOIN email_owners AS e
    ON e.email_normalized = c.email_normalized
  WHERE
    COALESCE(c.metadata_user_id, e.user_id) IS NOT NULL
), links AS (
  SELECT
    'anonymous_id' AS id_type,
    a.anonymous_id AS source_id,
    a.user_id,
    'identify' AS match_method,
    a.first_linked_at,
    ROW_NUMBER() OVER (PARTITION BY a.anonymous_id ORDER BY a.first_linked_at, a.user_id) = 1 AS is_primary
  FROM anonymous_links AS a
  UNION ALL
  SELECT
    'stripe_customer' AS id_type,
    cl.customer_id AS source_id,
    cl.user_id,
    cl.match_method,
    cl.first_linked_at,
    TRUE AS is_primary
  FROM customer_links AS cl
)
SELECT
  l.id_type::STRING AS id_type, /* anonymous_id | stripe_customer */
  l.source_id::STRING AS source_id, /* the anonymous_id or Stripe customer id */
  l.user_id::STRING AS user_id, /* the app user it belongs to */
  l.match_method::STRING AS match_method, /* identify | metadata | email: how the link was made */
  l.first_linked_at::TIMESTAMP AS first_linked_at, /* first identify, or the customer's creation, UTC */
  l.is_primary::BOOL AS is_primary /* the link to use: the first identify of an anonymous_id; always TRUE for customers */
FROM links AS l
