"""Catalog search and single entries as the catalog pages show them (the reads: analytics.queries.catalog).

Edits go through `analytics.catalog.catalog_edit` (which audits them). No row values are read here.
"""

from __future__ import annotations

import json

from analytics.masking import SENSITIVE_LEVELS
from analytics.queries.catalog import COLUMNS, catalog_entry_rows, catalog_rows

MAX_ENTRIES = 500
SENSITIVITY_LEVELS = ("public", "internal", *SENSITIVE_LEVELS)
__all__ = ["COLUMNS", "MAX_ENTRIES", "SENSITIVITY_LEVELS", "catalog_entry", "catalog_search"]


def _entry(row: dict) -> dict:
    try:
        evidence = json.loads(row["sensitivity_evidence"] or "{}")
    except ValueError:
        evidence = {}
    return {**row, "tags": list(row["tags"]), "sensitivity_evidence": evidence if isinstance(evidence, dict) else {}}


def catalog_search(*, name: str = "", tag: str = "", owner: str = "", sensitivity: str = "", state: str = "",
                   limit: int = MAX_ENTRIES) -> list[dict]:
    return [_entry(r) for r in catalog_rows(name=name, tag=tag, owner=owner, sensitivity=sensitivity, state=state,
                                            limit=limit)]


def catalog_entry(*, table_name: str, column_name: str = "", schema_name: str | None = None) -> dict | None:
    """One entry (a column, or with column_name "" the table's own columns as a list under "columns")."""
    entries = [_entry(r) for r in catalog_entry_rows(table_name=table_name, column_name=column_name,
                                                     schema_name=schema_name)]
    if column_name:
        return entries[0] if entries else None
    return {"table_name": table_name, "columns": entries} if entries else None
