/* sales.pipeline_monthly: a row for every calendar month between its first and last
   month (no gaps), each month_start a first of month and month_end its last day. Returns
   a row when months are missing or misdated. */
AUDIT (
  name sales_pipeline_months_are_gapless
);

SELECT
  *
FROM (
  SELECT
    MIN(p.month_start) AS first_month,
    MAX(p.month_start) AS last_month,
    COUNT(DISTINCT p.month_start) AS months,
    COUNTIF(
      EXTRACT(DAY FROM p.month_start) <> 1
      OR p.month_end <> DATE(DATE_SUB(DATE(DATE_ADD(p.month_start, INTERVAL 1 MONTH)), INTERVAL 1 DAY))
    ) AS misdated_rows
  FROM @this_model AS p
) AS s
WHERE
  s.months > 0
  AND (s.months <> DATE_DIFF(s.last_month, s.first_month, MONTH) + 1 OR s.misdated_rows > 0)
