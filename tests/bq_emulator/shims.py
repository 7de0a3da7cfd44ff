"""Client-side shims that let google-cloud-bigquery and SQLMesh's BigQuery adapter run
against the `bqemulator` BigQuery API emulator. Test-only: nothing here is needed, or
wanted, against real BigQuery. Each shim works around one emulator gap
(../shared/notes/bigquery-emulator.md):

1. uploads: the client sends load-job data with Content-Type `*/*`, which the emulator
   refuses (`400 multipart upload's second part has unsupported Content-Type '*/*'`);
   send `application/octet-stream`.
2. `to_dataframe()` goes to the Storage Read API at bigquerystorage.googleapis.com
   (unreachable, and not the emulator); page through REST instead.
3. SQLMesh quotes `` `proj`.`ds`.`INFORMATION_SCHEMA.COLUMNS` `` as one identifier, which the
   emulator fails to tokenize (HTTP 500, retried by the client for minutes); rewrite it
   to the equivalent `` `proj`.`ds`.INFORMATION_SCHEMA.COLUMNS ``.
4. `SET @@query_label = "..."` (sent when a model's session opens, from its
   `session_properties` query_label) fails with `Expected identifier, got AT_AT`; drop
   the statement (labels are metadata: no effect on results).

`apply()` installs all four and returns the statements each rewrite touched through
`STATS` so a test can prove the shims were exercised.
"""

from __future__ import annotations

import collections
import re

STATS: collections.Counter = collections.Counter()

_QUOTED_INFO_SCHEMA = re.compile(r"`([^`]+)`\.`([^`]+)`\.`INFORMATION_SCHEMA\.([A-Za-z_]+)`", re.IGNORECASE)
_QUERY_LABEL = re.compile(r"SET\s+@@query_label\s*=\s*(\"[^\"]*\"|'[^']*')\s*;?", re.IGNORECASE)


def rewrite_sql(sql: str) -> str:
    """The SQL text with shims 3 and 4 applied."""
    new, n = _QUOTED_INFO_SCHEMA.subn(r"`\1`.`\2`.INFORMATION_SCHEMA.\3", sql)
    STATS["information_schema"] += n
    new, n = _QUERY_LABEL.subn("", new)
    STATS["query_label"] += n
    return new.strip() or "SELECT 1"


_applied = False


def apply() -> None:
    """Install the four shims (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True

    import google.cloud.bigquery.client as bq_client
    import google.cloud.bigquery.job.query as bq_query
    import google.cloud.bigquery.table as bq_table

    # 1. upload content type
    bq_client._GENERIC_CONTENT_TYPE = "application/octet-stream"

    # 2. no Storage Read API
    def no_bqstorage(original):
        def wrapper(self, *args, **kwargs):
            kwargs["create_bqstorage_client"] = False
            kwargs.pop("bqstorage_client", None)
            STATS["rest_dataframe"] += 1
            return original(self, *args, **kwargs)

        return wrapper

    for cls in (bq_table.RowIterator, bq_query.QueryJob):
        for name in ("to_dataframe", "to_arrow"):
            if hasattr(cls, name):
                setattr(cls, name, no_bqstorage(getattr(cls, name)))

    # 3 + 4. SQL rewrites on every query
    original_query = bq_client.Client.query

    def query(self, query, *args, **kwargs):
        return original_query(self, rewrite_sql(query), *args, **kwargs)

    bq_client.Client.query = query
    if hasattr(bq_client.Client, "query_and_wait"):
        original_qaw = bq_client.Client.query_and_wait

        def query_and_wait(self, query, *args, **kwargs):
            return original_qaw(self, rewrite_sql(query), *args, **kwargs)

        bq_client.Client.query_and_wait = query_and_wait
