"""Reads of ``data_catalog`` for the catalog pages: search and single entries (latest versions, FINAL).

Filters are pushed into ClickHouse as bound parameters: name (table or column, case-insensitive substring),
tag (exact, one of the entry's tags), owner (case-insensitive substring), sensitivity level and state.
No row values are read here.
"""

from __future__ import annotations

from analytics.queries.timing import named_rows

COLUMNS = ("table_name", "schema_name", "column_name", "data_type", "is_nullable", "default_value", "description",
           "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state", "sensitivity_evidence",
           "last_updated")
ENTRY_LIMIT = 500


def catalog_rows(*, name: str = "", tag: str = "", owner: str = "", sensitivity: str = "", state: str = "",
                 limit: int) -> list[dict]:
    conditions, params = [], {"limit": limit}
    if name:
        conditions.append("(positionCaseInsensitiveUTF8(table_name, {name:String}) > 0 "
                          "OR positionCaseInsensitiveUTF8(column_name, {name:String}) > 0)")
        params["name"] = name
    if tag:
        conditions.append("has(tags, {tag:String})")
        params["tag"] = tag
    if owner:
        conditions.append("positionCaseInsensitiveUTF8(owner, {owner:String}) > 0")
        params["owner"] = owner
    if sensitivity:
        conditions.append("sensitivity_level = {level:String}")
        params["level"] = sensitivity
    if state:
        conditions.append("sensitivity_state = {state:String}")
        params["state"] = state
    sql = f"SELECT {', '.join(COLUMNS)} FROM data_catalog FINAL"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += " ORDER BY schema_name, table_name, column_name LIMIT {limit:UInt32}"
    return named_rows("catalog.search", sql, params)


def catalog_entry_rows(*, table_name: str, column_name: str = "", schema_name: str | None = None) -> list[dict]:
    """The entries of one table (of one schema), or of one of its columns."""
    conditions = ["table_name = {t:String}"]
    params: dict = {"t": table_name}
    if schema_name is not None:
        conditions.append("schema_name = {s:String}")
        params["s"] = schema_name
    if column_name:
        conditions.append("column_name = {c:String}")
        params["c"] = column_name
    return named_rows("catalog.entry", f"SELECT {', '.join(COLUMNS)} FROM data_catalog FINAL WHERE " +
                      " AND ".join(conditions) + f" ORDER BY schema_name, column_name LIMIT {ENTRY_LIMIT}", params)
