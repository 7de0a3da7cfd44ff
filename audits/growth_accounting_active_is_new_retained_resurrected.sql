/* Growth accounting decomposes the active users of every period: every active user is
   exactly one of new, retained or resurrected, and retained users and churned users split
   the previous period's actives (retained + churned = previous active). */
AUDIT (
  name growth_accounting_active_is_new_retained_resurrected
);

SELECT
  *
FROM @this_model
WHERE
  active_users <> new_users + retained_users + resurrected_users
  OR retained_users + churned_users <> previous_active_users
  OR LEAST(new_users, retained_users, resurrected_users, churned_users) < 0
