"""Catalog search and single entries, read from ClickHouse ``data_catalog`` (latest versions, FINAL).

Filters are pushed into ClickHouse as bound parameters: name (table or column, case-insensitive substring),
tag (exact, one of the entry's tags), owner (case-insensitive substring), sensitivity level and state. Edits
go through `analytics.catalog.catalog_edit` (which audits them). No row values are read here.
"""

from __future__ import annotations

import json

from analytics.masking import SENSITIVE_LEVELS
from dashboards.timings import timed_rows

MAX_ENTRIES = 500
SENSITIVITY_LEVELS = ("public", "internal", *SENSITIVE_LEVELS)
COLUMNS = ("table_name", "schema_name", "column_name", "data_type", "is_nullable", "default_value", "description",
           "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state", "sensitivity_evidence",
           "last_updated")


def _entry(row: dict) -> dict:
    try:
        evidence = json.loads(row["sensitivity_evidence"] or "{}")
    except ValueError:
        evidence = {}
    return {**row, "tags": list(row["tags"]), "sensitivity_evidence": evidence if isinstance(evidence, dict) else {}}


def catalog_search(*, name: str = "", tag: str = "", owner: str = "", sensitivity: str = "", state: str = "",
                   limit: int = MAX_ENTRIES) -> list[dict]:
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
    return [_entry(r) for r in timed_rows("catalog.search", sql, params)]


def catalog_entry(*, table_name: str, column_name: str = "", schema_name: str | None = None) -> dict | None:
    """One entry (a column, or with column_name "" the table's own columns as a list under "columns")."""
    conditions = ["table_name = {t:String}"]
    params: dict = {"t": table_name}
    if schema_name is not None:
        conditions.append("schema_name = {s:String}")
        params["s"] = schema_name
    if column_name:
        conditions.append("column_name = {c:String}")
        params["c"] = column_name
    rows = timed_rows("catalog.entry", f"SELECT {', '.join(COLUMNS)} FROM data_catalog FINAL WHERE " +
                      " AND ".join(conditions) + " ORDER BY schema_name, column_name LIMIT 500", params)
    entries = [_entry(r) for r in rows]
    if column_name:
        return entries[0] if entries else None
    return {"table_name": table_name, "columns": entries} if entries else None
