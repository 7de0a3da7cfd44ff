/* A daily model has a row for every day between its first and last day (no gaps), e.g.
   gapless_day_spine(column := activity_date). Returns a row when days are missing. */
AUDIT (
  name gapless_day_spine
);

SELECT
  *
FROM (
  SELECT
    MIN(@column) AS first_day,
    MAX(@column) AS last_day,
    COUNT(DISTINCT @column) AS days
  FROM @this_model
) AS s
WHERE
  s.days > 0 AND s.days <> DATE_DIFF(s.last_day, s.first_day, DAY) + 1
