"""Filtered, ordered, paged reads of the ClickHouse tables for the API (and any other list).

Each table has a `Listing`: the columns it returns, the filters it accepts (each a column, an operator and
a ClickHouse type, so every value is a bound `{name:Type}` parameter) and the columns it may be ordered by.
`listing_page` counts and slices in ClickHouse — `count()` with the same WHERE, then `LIMIT ... OFFSET ...`
— so a page costs the same whatever the table's size. Identifiers come only from these declarations,
never from the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from analytics.clickhouse.client import ClickHouseTarget

OPERATORS = {"eq": "=", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Filter:
    column: str
    type: str  # ClickHouse type of the bound parameter: String, UInt64, Bool, DateTime64(3, 'UTC'), Date ...
    op: str = "eq"

    def sql(self, param: str) -> str:
        if self.op == "contains":
            return f"positionCaseInsensitiveUTF8({self.column}, {{{param}:String}}) > 0"
        return f"{self.column} {OPERATORS[self.op]} {{{param}:{self.type}}}"


@dataclass(frozen=True)
class Listing:
    table: str
    columns: tuple[str, ...]
    filters: dict[str, Filter]
    ordering: tuple[str, ...]
    default_order: tuple[str, ...]
    final: bool = False
    json_columns: tuple[str, ...] = field(default=())


PERIOD = {
    "created_after": Filter("created_at", "DateTime64(3, 'UTC')", "gte"),
    "created_before": Filter("created_at", "DateTime64(3, 'UTC')", "lt"),
}
RUN = {"pipeline_run_id": Filter("pipeline_run_id", "UInt64")}

QUALITY_METRICS = Listing(
    table="data_quality_metrics",
    columns=("id", "table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
             "is_passed", "pipeline_run_id", "created_at", "updated_at"),
    filters={"table_name": Filter("table_name", "String"), "column_name": Filter("column_name", "String"),
             "metric_name": Filter("metric_name", "String"), "is_passed": Filter("is_passed", "Bool"), **RUN,
             **PERIOD},
    ordering=("created_at", "table_name", "metric_name", "metric_value", "pipeline_run_id"),
    default_order=("-created_at", "table_name", "metric_name", "column_name"),
)
BUSINESS_METRICS = Listing(
    table="business_metrics",
    columns=("id", "metric_category", "metric_name", "metric_value", "metric_unit", "dimension_values",
             "calculation_date", "pipeline_run_id", "created_at", "updated_at"),
    filters={"metric_category": Filter("metric_category", "String"), "metric_name": Filter("metric_name", "String"),
             "date_from": Filter("calculation_date", "Date32", "gte"),
             "date_to": Filter("calculation_date", "Date32", "lte"), **RUN, **PERIOD},
    ordering=("calculation_date", "metric_category", "metric_name", "metric_value", "created_at"),
    default_order=("-calculation_date", "metric_category", "metric_name"),
    json_columns=("dimension_values",),
)
LINEAGE = Listing(
    table="data_lineage",
    columns=("id", "source_table", "source_column", "target_table", "target_column", "transformation_type",
             "transformation_logic", "pipeline_run_id", "record_count", "created_at", "updated_at"),
    filters={"source_table": Filter("source_table", "String"), "source_column": Filter("source_column", "String"),
             "target_table": Filter("target_table", "String"), "target_column": Filter("target_column", "String"),
             "transformation_type": Filter("transformation_type", "String"), **RUN, **PERIOD},
    ordering=("created_at", "source_table", "target_table", "target_column", "pipeline_run_id"),
    default_order=("-created_at", "target_table", "target_column", "source_table", "source_column"),
)
CATALOG = Listing(
    table="data_catalog",
    columns=("id", "table_name", "schema_name", "column_name", "data_type", "is_nullable", "default_value",
             "description", "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state",
             "sensitivity_evidence", "last_updated", "created_at", "updated_at"),
    filters={"table_name": Filter("table_name", "String"), "schema_name": Filter("schema_name", "String"),
             "column_name": Filter("column_name", "String"), "owner": Filter("owner", "String"),
             "sensitivity_level": Filter("sensitivity_level", "String"),
             "sensitivity_state": Filter("sensitivity_state", "String"),
             "search": Filter("concat(table_name, ' ', column_name, ' ', description, ' ', business_meaning, ' ', "
                              "owner, ' ', arrayStringConcat(tags, ' '))", "String", "contains")},
    ordering=("schema_name", "table_name", "column_name", "updated_at", "sensitivity_level"),
    default_order=("schema_name", "table_name", "column_name"),
    final=True,
    json_columns=("sensitivity_evidence",),
)
AUDIT_LOG = Listing(
    table="etl_audit_log",
    columns=("id", "operation_type", "table_name", "operation_details", "user_id", "session_id", "ip_address",
             "user_agent", "pipeline_run_id", "created_at", "updated_at"),
    filters={"operation_type": Filter("operation_type", "String"), "table_name": Filter("table_name", "String"),
             "user_id": Filter("user_id", "Int64"), **RUN, **PERIOD},
    ordering=("created_at", "operation_type", "table_name", "user_id"),
    default_order=("-created_at",),
    json_columns=("operation_details",),
)


def order_clause(listing: Listing, ordering: list[str] | None) -> str:
    """ORDER BY from "name" / "-name" items; unknown names must have been refused by the caller."""
    items = ordering or list(listing.default_order)
    parts = [f"{item.lstrip('-')} {'DESC' if item.startswith('-') else 'ASC'}" for item in items]
    return ", ".join([*parts, "id ASC"])  # a total order: pages never overlap


def _bindable(value: Any) -> Any:
    """Dates and times as the text ClickHouse parses the same way on both backends (instants in UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return f"{value.year:04d}-{value:%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return f"{value.year:04d}-{value:%m-%d}"
    return value


def _plain(value: Any, json_column: bool) -> Any:
    if json_column and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if value is not None and type(value).__name__ == "UUID":
        return str(value)
    return value


def listing_page(*, target: ClickHouseTarget, listing: Listing, filters: dict[str, Any],
                 ordering: list[str] | None = None, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    """(rows matching `filters` in all, the page of them at `offset`) — both computed in ClickHouse.

    `filters` maps names of `listing.filters` to already parsed values (None = no filter).
    """
    where, params = [], {}
    for name, value in filters.items():
        if value is None:
            continue
        spec = listing.filters[name]
        param = f"f_{name}"
        where.append(spec.sql(param))
        params[param] = _bindable(value)
    source = f"{listing.table} FINAL" if listing.final else listing.table
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    count = int(target.query(f"SELECT count() FROM {source}{condition}", params).result_rows[0][0])
    if offset >= count and count:
        return count, []
    sql = (f"SELECT {', '.join(listing.columns)} FROM {source}{condition} ORDER BY {order_clause(listing, ordering)} "
           "LIMIT {limit:UInt32} OFFSET {offset:UInt64}")
    rows = target.rows(sql, {**params, "limit": int(limit), "offset": int(offset)})
    return count, [{key: _plain(value, key in listing.json_columns) for key, value in row.items()} for row in rows]


def catalog_entry_get(*, target: ClickHouseTarget, entry_id: str) -> dict | None:
    """The latest version of one catalog entry by its id (an edit keeps the entry's id)."""
    rows = target.rows(f"SELECT {', '.join(CATALOG.columns)} FROM data_catalog FINAL WHERE id = {{id:UUID}} "
                       "LIMIT 1", {"id": entry_id})
    if not rows:
        return None
    return {key: _plain(value, key in CATALOG.json_columns) for key, value in rows[0].items()}
