/* Sessions are well formed: a session's first event is the only one flagged as its start
   and the only one numbered 1. A session that began before the audited rows (it crossed
   into them from an earlier day) has its start outside them and is not counted missing. */
AUDIT (
  name one_session_start_per_session
);

WITH audited AS (
  SELECT
    session_id,
    session_started_at,
    event_date,
    is_session_start,
    event_sequence_in_session
  FROM @this_model
)
SELECT
  a.session_id
FROM audited AS a
GROUP BY
  a.session_id
HAVING
  COUNTIF(a.is_session_start) > 1
  OR COUNTIF(a.is_session_start <> (a.event_sequence_in_session = 1)) > 0
  OR (
    COUNTIF(a.is_session_start) = 0
    AND DATE(MIN(a.session_started_at)) >= (SELECT MIN(b.event_date) FROM audited AS b)
  )
