"""`replace_run_rows`: how a run's analysis rows (quality metrics, business metrics, lineage) are written.

A run measured again (a retry, a re-run of a step) replaces the rows it wrote before instead of doubling
them: its earlier rows in the same scope are deleted (a synchronous mutation, skipped when there are none,
since a mutation costs a rewrite of parts even when it matches nothing), then the new rows are inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analytics.clickhouse.client import ClickHouseTarget
from analytics.clickhouse.cluster import mutation_table
from analytics.queries.ident import identifier

RUN_COLUMN = "pipeline_run_id"


def _scope(run_id: int, also: Mapping[str, str | list[str]]) -> tuple[str, dict]:
    conditions = [f"{RUN_COLUMN} = {{run:UInt64}}"]
    params: dict[str, Any] = {"run": int(run_id)}
    for index, (column, value) in enumerate(also.items()):
        kind = "Array(String)" if isinstance(value, list | tuple) else "String"
        operator = "IN" if kind.startswith("Array") else "="
        conditions.append(f"{identifier(column)} {operator} {{s{index}:{kind}}}")
        params[f"s{index}"] = list(value) if kind.startswith("Array") else value
    return " AND ".join(conditions), params


def replace_run_rows(target: ClickHouseTarget, table: str, run_id: int, rows: Sequence[Sequence[Any]],
                     column_names: Sequence[str], *, also: Mapping[str, str | list[str]] | None = None,
                     batches: Callable[[Sequence[Sequence[Any]]], list[Sequence[Sequence[Any]]]] | None = None) -> int:
    """Replace run `run_id`'s rows of `table` by `rows` (in the order of `column_names`); returns their count.

    `also` narrows what is replaced to the rows whose columns hold these values (a string: equal; a list: one
    of), e.g. the metrics of one table, or the business metrics the run computes now. `batches` splits the
    rows into several inserts (business_metrics: a bounded number of partitions per insert).
    """
    table = identifier(table)
    for name in column_names:
        identifier(name)
    where, params = _scope(run_id, also or {})
    with target.connection() as client:
        if int(client.command(f"SELECT count() FROM {table} WHERE {where}", parameters=params)):
            client.command(f"ALTER TABLE {mutation_table(target, table)} DELETE WHERE {where} "
                           "SETTINGS mutations_sync = 2", parameters=params)
        for batch in (batches(rows) if batches else [rows]) if rows else []:
            client.insert(table, [list(row) for row in batch], column_names=list(column_names))
    return len(rows)
