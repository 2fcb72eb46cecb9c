"""The data catalog: one ``data_catalog`` entry per staging and target column.

`catalog_refresh` runs after each load. It rewrites the technical facts (type, nullability, default) and
keeps what people wrote (description, business meaning, owner, tags, sensitivity level). It also looks for
personal data in a sample of the column's values (`analytics.pii`): a finding is stored as
``sensitivity_state = 'suggested'`` with its evidence; a person then confirms or rejects it
(`catalog_edit`). A decision holds while the column's definition (its fingerprint) is unchanged; when the
column changes, it is re-evaluated.

``data_catalog`` is a ReplacingMergeTree(updated_at): every change inserts a new version of the entry, and
readers use FINAL to see the latest one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings

from analytics.clickhouse.client import ClickHouseTarget, quote_identifier
from analytics.loading import LOADED_AT_COLUMN, ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from analytics.pii import DEFAULT_SAMPLE_LIMIT, DEFAULT_THRESHOLD, pii_detect
from etlsite.messages import _msg

TABLE = "data_catalog"
STATES = ("none", "suggested", "confirmed", "rejected")
DECIDED = ("confirmed", "rejected")
CONFIRMED_LEVEL = "confidential"
EDITABLE = ("description", "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state")
INTERNAL_COLUMNS = (ROW_NUMBER_COLUMN, RUN_ID_COLUMN, LOADED_AT_COLUMN)
# Staging columns are catalogued under this schema name (target columns under the ClickHouse database's).
STAGING_SCHEMA = "staging"

_COLUMNS = ("id", "table_name", "schema_name", "column_name", "data_type", "is_nullable", "default_value",
            "description", "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state",
            "sensitivity_evidence", "column_fingerprint", "last_updated", "created_at", "updated_at")


class CatalogError(ValueError):
    """A catalog request that cannot be honoured; the message is fit to show a user."""


def column_fingerprint(data_type: str, is_nullable: bool) -> str:
    """A digest of the column's definition: when it changes, earlier sensitivity decisions are re-opened."""
    text = json.dumps([data_type or "", bool(is_nullable)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _version_time(previous: dict | None) -> datetime:
    """Now, but always after the previous version, so the new one wins in ReplacingMergeTree."""
    now = _now()
    if previous and previous.get("updated_at"):
        last = previous["updated_at"]
        if last.tzinfo is None:
            last = last.replace(tzinfo=timezone.utc)
        now = max(now, last + timedelta(milliseconds=1))
    return now


def _load_evidence(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _existing(target: ClickHouseTarget, schema_name: str, table_name: str) -> dict[str, dict]:
    rows = target.rows(
        f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} FINAL "
        "WHERE schema_name = {s:String} AND table_name = {t:String}",
        {"s": schema_name, "t": table_name},
    )
    return {r["column_name"]: r for r in rows}


def _insert(target: ClickHouseTarget, entries: list[dict]) -> int:
    return target.insert(TABLE, [[e[c] for c in _COLUMNS] for e in entries], _COLUMNS)


def _threshold() -> float:
    return float(getattr(settings, "CATALOG_PII_THRESHOLD", DEFAULT_THRESHOLD))


def _evaluate(previous: dict | None, changed: bool, values: list | None, data_type: str) -> tuple[str, str]:
    """(sensitivity_state, sensitivity_evidence) for a column after a refresh."""
    state = previous["sensitivity_state"] if previous else "none"
    evidence = previous["sensitivity_evidence"] if previous else "{}"
    if state not in STATES:
        state = "none"
    if state in DECIDED and not changed:
        return state, evidence  # a person's decision about this very column definition
    if values is None:
        # Nothing to look at: keep an open suggestion; re-open a decision about a column that has changed.
        if state in DECIDED:
            state = "suggested" if _load_evidence(evidence).get("kind") else "none"
        return state, evidence
    finding = pii_detect(values, threshold=_threshold(), sample_limit=DEFAULT_SAMPLE_LIMIT, data_type=data_type)
    if finding is None:
        return "none", "{}"
    return "suggested", json.dumps(finding.evidence(), ensure_ascii=False, sort_keys=True)


def catalog_refresh(*, target: ClickHouseTarget, schema_name: str, table_name: str, columns: list[dict],
                    samples: dict[str, list] | None = None) -> int:
    """Upsert one catalog entry per column; returns the number of entries written.

    `columns`: dicts with ``name``, ``data_type``, ``is_nullable`` and ``default_value`` (``None`` when
    the column has no default) — `target_columns()` gives them for a ClickHouse table. `samples`: column
    name -> sampled values (strings or None; `target_samples()` gives them); a column without samples keeps
    its sensitivity state. Columns missing from `columns` are left as they were.
    """
    existing = _existing(target, schema_name, table_name)
    samples = samples or {}
    entries = []
    for column in columns:
        name = column["name"]
        data_type = column.get("data_type") or ""
        is_nullable = bool(column.get("is_nullable", True))
        default = column.get("default_value")
        fingerprint = column_fingerprint(data_type, is_nullable)
        previous = existing.get(name)
        changed = previous is None or previous["column_fingerprint"] != fingerprint
        state, evidence = _evaluate(previous, changed, samples.get(name), data_type)
        now = _version_time(previous)
        entries.append({
            "id": previous["id"] if previous else uuid.uuid4(),
            "table_name": table_name,
            "schema_name": schema_name,
            "column_name": name,
            "data_type": data_type,
            "is_nullable": is_nullable,
            "default_value": None if default is None else str(default),
            "description": previous["description"] if previous else "",
            "business_meaning": previous["business_meaning"] if previous else "",
            "owner": previous["owner"] if previous else "",
            "tags": list(previous["tags"]) if previous else [],
            "sensitivity_level": previous["sensitivity_level"] if previous else "public",
            "sensitivity_state": state,
            "sensitivity_evidence": evidence,
            "column_fingerprint": fingerprint,
            "last_updated": now,
            "created_at": previous["created_at"] if previous else now,
            "updated_at": now,
        })
    return _insert(target, entries)


def catalog_forget(*, target: ClickHouseTarget, schema_name: str, table_names: list[str]) -> None:
    """Remove the entries of tables that no longer exist (expired staging tables)."""
    if table_names:
        target.command(f"DELETE FROM {TABLE} WHERE schema_name = {{s:String}} AND table_name IN {{t:Array(String)}}",
                       {"s": schema_name, "t": list(table_names)})


def catalog_edit(*, target: ClickHouseTarget, schema_name: str, table_name: str, column_name: str,
                 **fields: Any) -> dict:
    """A person's edit of one entry: description, business_meaning, owner, tags, sensitivity_level, and
    sensitivity_state (confirmed or rejected). Confirming personal data also sets sensitivity_level to
    'confidential' unless the edit gives a level. Returns the new version of the entry."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise CatalogError(_msg("These catalog fields cannot be edited: %(fields)s") % {"fields": ", ".join(unknown)})
    state = fields.get("sensitivity_state")
    if state is not None and state not in DECIDED:
        raise CatalogError(_msg("A sensitivity decision must be confirmed or rejected, not %(state)s.") %
                           {"state": state})
    if "tags" in fields:
        tags = fields["tags"]
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise CatalogError(_msg("Tags must be a list of strings."))
        fields["tags"] = list(tags)
    for key in ("description", "business_meaning", "owner", "sensitivity_level"):
        if key in fields and not isinstance(fields[key], str):
            raise CatalogError(_msg("The catalog field %(field)s must be text.") % {"field": key})
    previous = _existing(target, schema_name, table_name).get(column_name)
    if previous is None:
        raise CatalogError(_msg("No catalog entry for %(column)s in %(table)s.") %
                           {"column": column_name, "table": f"{schema_name}.{table_name}" if schema_name
                            else table_name})
    entry = {**previous, **fields}
    if state == "confirmed" and "sensitivity_level" not in fields:
        entry["sensitivity_level"] = CONFIRMED_LEVEL
    entry["tags"] = list(entry["tags"])
    entry["updated_at"] = _version_time(previous)
    _insert(target, [entry])
    entry["sensitivity_evidence"] = _load_evidence(entry["sensitivity_evidence"])
    from analytics.audit import audit_record
    audit_record(operation_type="update", table_name="data_catalog",
                 details={"action": "catalog_edit", "schema_name": schema_name, "table": table_name,
                          "column": column_name, "changes": fields})
    return entry


def catalog_entries(*, target: ClickHouseTarget, table_name: str | None = None, search: str | None = None,
                    schema_name: str | None = None) -> list[dict]:
    """Latest version of every entry, optionally for one table and/or matching `search` (case-insensitive,
    in table, column, description, business meaning, owner and tags). ``sensitivity_evidence`` is a dict."""
    where, params = [], {}
    if table_name is not None:
        where.append("table_name = {t:String}")
        params["t"] = table_name
    if schema_name is not None:
        where.append("schema_name = {s:String}")
        params["s"] = schema_name
    if search:
        where.append(
            "positionCaseInsensitiveUTF8(concat(table_name, ' ', column_name, ' ', description, ' ', "
            "business_meaning, ' ', owner, ' ', arrayStringConcat(tags, ' ')), {q:String}) > 0")
        params["q"] = search
    sql = f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} FINAL"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY schema_name, table_name, column_name"
    rows = target.rows(sql, params)
    for row in rows:
        row["sensitivity_evidence"] = _load_evidence(row["sensitivity_evidence"])
        row["tags"] = list(row["tags"])
    return rows


def target_columns(target: ClickHouseTarget, table: str, *, include_internal: bool = False) -> list[dict]:
    """The columns of a ClickHouse table in `catalog_refresh`'s form, without the load's bookkeeping
    columns (_row_number, _pipeline_run_id, _loaded_at) unless asked."""
    rows = target.rows(
        "SELECT name, type, default_kind, default_expression FROM system.columns "
        "WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        {"db": target.database, "t": table},
    )
    return [
        {"name": r["name"], "data_type": r["type"],
         "is_nullable": r["type"].startswith(("Nullable(", "LowCardinality(Nullable(")),
         "default_value": r["default_expression"] if r["default_kind"] else None}
        for r in rows if include_internal or r["name"] not in INTERNAL_COLUMNS
    ]


def target_samples(target: ClickHouseTarget, table: str, run_id: int | None, columns: list[str],
                   limit: int = DEFAULT_SAMPLE_LIMIT) -> dict[str, list[str | None]]:
    """Up to `limit` rows of one run (all rows when `run_id` is None) as strings, per column."""
    if not columns:
        return {}
    selected = ", ".join(f"toString({quote_identifier(c)})" for c in columns)
    sql = f"SELECT {selected} FROM {quote_identifier(table)}"
    params: dict[str, Any] = {"limit": int(limit)}
    if run_id is not None:
        sql += f" WHERE {quote_identifier(RUN_ID_COLUMN)} = {{run:UInt64}}"
        params["run"] = int(run_id)
    sql += " LIMIT {limit:UInt32}"
    rows = target.query(sql, params).result_rows
    return {c: [row[i] for row in rows] for i, c in enumerate(columns)}
