"""`replace_keys`: an incremental materialization for models whose rows are not fixed by their
day. A new identify re-attributes a visitor's old sessions, so the rows a run must rewrite are
those of its interval and some older rows anywhere in history, found by the model's query.

The model's query, rendered for the interval being processed, returns every row that is new or
changed: the rows dated from the interval's start on, and any older row whose content changed
(it reads the table's previous contents through @this_model to find them). The materialization
then, in one transaction,

1. deletes the rows dated from the interval's start on (`time_column >= start`), so a row that
   disappeared upstream in that range disappears here too, and the rows whose key
   (`unique_key`) the query returned;
2. inserts the query's rows.

Everything else is kept. The first insert (an empty table, or a restatement of the whole
history) replaces the table's contents with the query's result. A run killed between the two
statements changes nothing: SQLMesh evaluates a model inside a transaction and records the
interval only after it commits.

    kind CUSTOM (
      materialization 'replace_keys',
      materialization_properties (unique_key = 'session_id', time_column = 'session_date'),
      lookback 7
    )

`time_column` is a DATE column; `unique_key` is one column.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlmesh import CustomMaterialization
from sqlmesh.utils.date import to_date
from sqlmesh.utils.errors import ConfigError

if t.TYPE_CHECKING:
    from sqlmesh import Model
    from sqlmesh.core.engine_adapter._typing import QueryOrDF


class ReplaceKeys(CustomMaterialization):
    NAME = "replace_keys"

    def insert(
        self,
        table_name: str,
        query_or_df: QueryOrDF,
        model: Model,
        is_first_insert: bool,
        render_kwargs: t.Dict[str, t.Any],
        **kwargs: t.Any,
    ) -> None:
        properties = model.custom_materialization_properties
        missing = [p for p in ("unique_key", "time_column") if not properties.get(p)]
        if missing:
            raise ConfigError(f"{model.name}: materialization 'replace_keys' needs materialization_properties "
                              f"{', '.join(missing)}")
        key = exp.column(str(properties["unique_key"]))
        time_column = exp.column(str(properties["time_column"]))
        columns_to_types = model.columns_to_types
        with self.adapter.transaction():
            if is_first_insert:
                self.adapter.delete_from(table_name, exp.true())
                self.adapter.insert_append(table_name, query_or_df, target_columns_to_types=columns_to_types)
                return
            start = exp.cast(exp.Literal.string(to_date(kwargs["start"]).isoformat()), exp.DataType.build("DATE"))
            with self.adapter.temp_table(query_or_df, name=table_name,
                                         target_columns_to_types=columns_to_types) as changed:
                self.adapter.delete_from(
                    table_name,
                    exp.or_(
                        time_column >= start,
                        key.isin(query=exp.select(key).from_(changed)),
                    ),
                )
                self.adapter.insert_append(table_name, exp.select(*columns_to_types).from_(changed),
                                           target_columns_to_types=columns_to_types)
