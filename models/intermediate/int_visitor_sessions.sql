/* Sessions by visitor: one row per session of product.fct_sessions, with the visitor it
   belongs to. A visitor is an app user together with every anonymous_id first identified
   as that user (staging.stg_identity_map), so a user's anonymous sessions from before the
   signup count as theirs; an anonymous_id never identified is a visitor of its own,
   'anonymous:<anonymous_id>'. Unlike product.fct_events, which stitches only from the
   identify day on (so a day's rows never change), this looks back through all history:
   a new identify re-attributes old sessions.

   Incremental all the same (materializations/replace_keys.py): a run rewrites the sessions
   from its interval's start on, and of the older ones only those whose visitor changed and
   the sessions of the visitors they left or joined (renumbered). An older session's visitor
   changes only when it was not the session's own user (identified_by <> 'session') and its
   anonymous_id's primary user is now another. A visitor with new sessions and no moved ones
   keeps its older sessions' numbers; the new ones continue from them. */
MODEL (
  name intermediate.int_visitor_sessions,
  kind CUSTOM (
    materialization 'replace_keys',
    materialization_properties (unique_key = 'session_id', time_column = 'session_date'),
    lookback 7 /* product.fct_sessions rewrites its last 7 days on every run */
  ),
  grain session_id,
  partitioned_by session_date,
  clustered_by (visitor_id),
  session_properties (query_label = [('app', 'growthmesh'), ('layer', 'intermediate'), ('model', 'int_visitor_sessions')]),
  audits (
    unique_values(columns := (session_id)),
    not_null(columns := (session_id, visitor_id, session_date, started_at, channel, visitor_session_number))
  )
);

WITH identities AS (
  SELECT
    m.source_id AS anonymous_id,
    m.user_id
  FROM staging.stg_identity_map AS m
  WHERE
    m.id_type = 'anonymous_id' AND m.is_primary
), recent AS (
  /* the sessions from the interval's start on, stitched now */
  SELECT
    s.session_id,
    COALESCE(s.user_id, m.user_id) AS user_id,
    CASE WHEN s.user_id IS NOT NULL THEN 'session' WHEN m.user_id IS NOT NULL THEN 'identify' END AS identified_by,
    s.anonymous_id,
    s.session_date,
    s.started_at,
    s.ended_at,
    s.first_visit_event_at,
    s.events,
    s.page_views,
    s.channel,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.landing_page,
    s.platform,
    s.country,
    s.city
  FROM product.fct_sessions AS s
  LEFT JOIN identities AS m
    ON m.anonymous_id = s.anonymous_id
  WHERE
    s.session_date >= @start_ds
), restitched AS (
  /* this table's sessions from before the interval, restitched with today's identities:
     the one pass over every older session, on the few columns it needs */
  SELECT
    p.session_id,
    p.visitor_id AS previous_visitor_id,
    p.user_id,
    p.anonymous_id,
    IF(p.identified_by = 'session', p.user_id, m.user_id) AS new_user_id
  FROM @this_model AS p
  LEFT JOIN identities AS m
    ON m.anonymous_id = p.anonymous_id
  WHERE
    p.session_date < @start_ds
), moved AS (
  /* the older sessions whose user changed (few) */
  SELECT
    r.*
  FROM restitched AS r
  WHERE
    r.new_user_id IS DISTINCT FROM r.user_id
), moved_visitors AS (
  /* visitors that gained or lost an older session */
  SELECT
    m.previous_visitor_id AS visitor_id
  FROM moved AS m
  UNION DISTINCT
  SELECT
    @visitor_id(m.new_user_id, m.anonymous_id) AS visitor_id
  FROM moved AS m
), kept AS (
  /* the older sessions to rewrite: every session of a moved visitor (a moved session's
     previous visitor is one), restitched */
  SELECT
    p.session_id,
    IF(p.identified_by = 'session', p.user_id, m.user_id) AS new_user_id,
    p.identified_by,
    p.anonymous_id,
    p.session_date,
    p.started_at,
    p.ended_at,
    p.first_visit_event_at,
    p.events,
    p.page_views,
    p.channel,
    p.utm_source,
    p.utm_medium,
    p.utm_campaign,
    p.landing_page,
    p.platform,
    p.country,
    p.city
  FROM @this_model AS p
  LEFT JOIN identities AS m
    ON m.anonymous_id = p.anonymous_id
  WHERE
    p.session_date < @start_ds
    AND p.visitor_id IN (SELECT mv.visitor_id FROM moved_visitors AS mv)
), sessions AS (
  /* the recent sessions, and the older ones of moved visitors: the rows to write */
  SELECT
    r.*,
    @visitor_id(r.user_id, r.anonymous_id) AS visitor_id,
    FALSE AS is_kept
  FROM recent AS r
  UNION ALL
  SELECT
    k.session_id,
    k.new_user_id AS user_id,
    CASE
      WHEN k.identified_by = 'session'
      THEN 'session'
      WHEN k.new_user_id IS NOT NULL
      THEN 'identify'
    END AS identified_by,
    k.anonymous_id,
    k.session_date,
    k.started_at,
    k.ended_at,
    k.first_visit_event_at,
    k.events,
    k.page_views,
    k.channel,
    k.utm_source,
    k.utm_medium,
    k.utm_campaign,
    k.landing_page,
    k.platform,
    k.country,
    k.city,
    @visitor_id(k.new_user_id, k.anonymous_id) AS visitor_id,
    TRUE AS is_kept
  FROM kept AS k
), earlier_sessions AS (
  /* how many older sessions a visitor that did not move already has */
  SELECT
    p.visitor_id,
    COUNT(*) AS sessions
  FROM @this_model AS p
  WHERE
    p.session_date < @start_ds
    AND p.visitor_id IN (SELECT r.visitor_id FROM sessions AS r WHERE NOT r.is_kept)
    AND NOT p.visitor_id IN (SELECT mv.visitor_id FROM moved_visitors AS mv)
  GROUP BY
    p.visitor_id
), numbered AS (
  SELECT
    s.*,
    COALESCE(e.sessions, 0) + ROW_NUMBER() OVER (PARTITION BY s.visitor_id ORDER BY s.started_at, s.session_id) AS visitor_session_number
  FROM sessions AS s
  LEFT JOIN earlier_sessions AS e
    ON e.visitor_id = s.visitor_id
)
SELECT
  s.session_id::STRING AS session_id, /* session id (product.fct_sessions) */
  s.visitor_id::STRING AS visitor_id, /* the user, else 'anonymous:' || anonymous_id */
  s.user_id::STRING AS user_id, /* the user the session belongs to, through any of their anonymous_ids; NULL for a never-identified visitor */
  s.identified_by::STRING AS identified_by, /* how user_id was found: 'session' (the session's own user), 'identify' (its anonymous_id's first identify), NULL (never identified) */
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
  s.visitor_session_number::INT64 AS visitor_session_number /* 1 = the visitor's first session */
FROM numbered AS s
