/* Sessions by visitor: one row per session of product.fct_sessions, with the visitor it
   belongs to. A visitor is an app user together with every anonymous_id first identified
   as that user (staging.stg_identity_map), so a user's anonymous sessions from before the
   signup count as theirs; an anonymous_id never identified is a visitor of its own,
   'anonymous:<anonymous_id>'. Unlike product.fct_events, which stitches only from the
   identify day on (so a day's rows never change), this looks back through all history,
   which is why it is FULL: a new identify re-attributes old sessions. */
MODEL (
  name intermediate.int_visitor_sessions,
  kind FULL,
  grain session_id,
  partitioned_by session_date,
  clustered_by (visitor_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'intermediate'), ('model', 'int_visitor_sessions')]),
  audits (
    unique_values(columns := (session_id)),
    not_null(columns := (session_id, visitor_id, session_date, started_at, channel, visitor_session_number))
  )
);

WITH stitched AS (
  SELECT
    s.*,
    COALESCE(s.user_id, m.user_id) AS visitor_user_id
  FROM product.fct_sessions AS s
  LEFT JOIN staging.stg_identity_map AS m
    ON m.id_type = 'anonymous_id' AND m.is_primary AND m.source_id = s.anonymous_id
)
SELECT
  s.session_id::STRING AS session_id, /* session id (product.fct_sessions) */
  COALESCE(s.visitor_user_id, CONCAT('anonymous:', s.anonymous_id))::STRING AS visitor_id, /* the user, else 'anonymous:' || anonymous_id */
  s.visitor_user_id::STRING AS user_id, /* the user the session belongs to, through any of their anonymous_ids; NULL for a never-identified visitor */
  s.anonymous_id::STRING AS anonymous_id, /* anonymous_id of the landing event */
  s.session_date::DATE AS session_date, /* UTC day the session started */
  s.started_at::TIMESTAMP AS started_at, /* first event, UTC */
  s.ended_at::TIMESTAMP AS ended_at, /* last event, UTC */
  s.first_visit_event_at::TIMESTAMP AS first_visit_event_at, /* first funnel "visit" event in the session, UTC */
  s.events::INT64 AS events, /* events and page views in the session */
  s.page_views::INT64 AS page_views, /* page views in the session */
  s.channel::STRING AS channel, /* acquisition channel of the landing event */
  s.utm_source::STRING AS utm_source, /* landing utm_source */
  s.utm_medium::STRING AS utm_medium, /* landing utm_medium */
  s.utm_campaign::STRING AS utm_campaign, /* landing utm_campaign */
  s.landing_page::STRING AS landing_page, /* path of the first page */
  s.platform::STRING AS platform, /* platform of the landing event */
  s.country::STRING AS country, /* country of the landing event */
  s.city::STRING AS city, /* city of the landing event */
  ROW_NUMBER() OVER (
    PARTITION BY COALESCE(s.visitor_user_id, CONCAT('anonymous:', s.anonymous_id))
    ORDER BY s.started_at, s.session_id
  )::INT64 AS visitor_session_number /* 1 = the visitor's first session */
FROM stitched AS s
