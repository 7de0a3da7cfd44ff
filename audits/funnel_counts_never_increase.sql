/* A funnel loses people, never gains them: visitors >= signups >= activated >= paid. */
AUDIT (
  name funnel_counts_never_increase
);

SELECT
  *
FROM @this_model
WHERE
  signups > visitors OR activated > signups OR paid > activated
