"""Values of sensitive columns are hidden from people who may not see them.

A column is sensitive when the catalog says so: personal data suggested by detection (`analytics.pii`)
or confirmed by a person, or a sensitivity level above "internal" set by hand. A suggestion counts until a
person rejects it: hiding a column that turns out harmless costs a click, showing one that holds e-mail
addresses cannot be undone.

Whoever holds ``analytics.view_sensitive_data`` (superusers do) sees values as they are; everybody else sees
`MASK`. This module is the one masking API: pages, previews, the admin, API responses and alert messages all
call it (`hidden_columns`, `mask_rows`, `mask_value`, `mask_reason`, `RunMasker`, `QuarantineMasker`,
`masked_staged_records`, `DimensionMasker` for business metrics' dimensions); the checks that decide are here
only. What it cannot know without the pipelines (which target table a run loads) its callers give it:
staging.masking for quarantined rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from analytics.catalog import TABLE as CATALOG_TABLE
from analytics.clickhouse.client import ClickHouseTarget

logger = logging.getLogger(__name__)

PERMISSION = "analytics.view_sensitive_data"
MASK = "•••"
SENSITIVE_STATES = ("suggested", "confirmed")
SENSITIVE_LEVELS = ("confidential", "restricted", "secret", "pii")
# The schema under which staging columns are catalogued (target columns use the ClickHouse database name).
STAGING_SCHEMA = "staging"


def can_view_sensitive(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(PERMISSION))


def is_sensitive(entry: dict) -> bool:
    """One catalog entry (as `catalog_entries` returns it) is sensitive."""
    if entry.get("sensitivity_state") == "rejected":
        return (entry.get("sensitivity_level") or "").lower() in SENSITIVE_LEVELS
    return (entry.get("sensitivity_state") in SENSITIVE_STATES
            or (entry.get("sensitivity_level") or "").lower() in SENSITIVE_LEVELS)


def _entries(target: ClickHouseTarget, table_name: str, schema_name: str | None) -> dict[str, dict]:
    sql = (f"SELECT column_name, sensitivity_state, sensitivity_level FROM {CATALOG_TABLE} FINAL "
           "WHERE table_name = {t:String}")
    params: dict[str, Any] = {"t": table_name}
    if schema_name is not None:
        sql += " AND schema_name = {s:String}"
        params["s"] = schema_name
    return {row["column_name"]: row for row in target.rows(sql, params)}


def sensitive_columns(target: ClickHouseTarget, table_name: str, schema_name: str | None = None) -> set[str]:
    """Names of the columns of one table the catalog marks sensitive (latest version of each entry)."""
    return {name for name, entry in _entries(target, table_name, schema_name).items() if is_sensitive(entry)}


def mask_records(records: Iterable[dict], columns: Iterable[str]) -> list[dict]:
    """Copies of `records` with the values of `columns` replaced by `MASK` (None stays None: absence of a
    value reveals nothing the column's null rate does not already show)."""
    hidden = set(columns)
    return [{key: (MASK if key in hidden and value is not None else value) for key, value in record.items()}
            for record in records]


def mask_tuples(names: Sequence[str], rows: Iterable[Sequence], columns: Iterable[str]) -> list[tuple]:
    """The same for rows given as tuples in the order of `names` (the staging preview's shape)."""
    hidden = {index for index, name in enumerate(names) if name in set(columns)}
    return [tuple(MASK if index in hidden and value is not None else value for index, value in enumerate(row))
            for row in rows]


def columns_to_mask(user, target: ClickHouseTarget, table_name: str, schema_name: str | None = None) -> set[str]:
    """What `user` may not see in `table_name`: nothing for holders of the permission."""
    if can_view_sensitive(user):
        return set()
    return sensitive_columns(target, table_name, schema_name)


def mask_for_user(user, target: ClickHouseTarget, table_name: str, records: Iterable[dict],
                  schema_name: str | None = None) -> list[dict]:
    return mask_records(records, columns_to_mask(user, target, table_name, schema_name))


def pipeline_sensitive_columns(target: ClickHouseTarget, *, target_table: str,
                               staging_table: str | None = None) -> set[str]:
    """Column names to hide in anything shown of one pipeline's data, whichever stage the names come from:
    the target table's sensitive columns, the staging table's, the target columns lineage says were derived
    from one of those, and the source columns that lineage says feed a sensitive target column (a quarantined
    value carries the source's name, not the target's)."""
    from analytics.catalog import STAGING_SCHEMA

    entries = _entries(target, target_table, target.database)
    in_target = {name for name, entry in entries.items() if is_sensitive(entry)}
    # What people decided is harmless in the target: it stands for the run's staging copy of the column (a
    # rejected suggestion is not re-raised by every run's copy) and for a column derived from a sensitive one.
    cleared = {name for name, entry in entries.items()
               if entry.get("sensitivity_state") == "rejected" and not is_sensitive(entry)}
    names = set(in_target)
    if staging_table:
        # A staging table lives for one run.
        names |= sensitive_columns(target, staging_table, STAGING_SCHEMA) - cleared
    if names:
        # Forwards: a target column a step computed from a sensitive one (concat(name, email)) carries its
        # values, whatever the catalog's detection thought of the result (unless a person rejected it for that
        # column: the domain of an address may be harmless). Lineage rows name the original
        # column of every chain, so one hop reaches every derived column; any run's rows count (hiding a
        # column one run derived from personal data is the cautious reading).
        rows = target.rows(
            "SELECT DISTINCT target_column FROM data_lineage "
            "WHERE target_table = {t:String} AND source_column IN {c:Array(String)} AND target_column != ''",
            {"t": target_table, "c": sorted(names)})
        names |= {row["target_column"] for row in rows} - cleared
    if in_target:
        rows = target.rows(
            "SELECT DISTINCT source_column FROM data_lineage "
            "WHERE target_table = {t:String} AND target_column IN {c:Array(String)} AND source_column != ''",
            {"t": target_table, "c": sorted(in_target)})
        names |= {row["source_column"] for row in rows}
    return names


class _Everything(frozenset):
    """What to hide when the catalog cannot be read: every column (fail closed)."""

    def __contains__(self, item) -> bool:
        return True


EVERYTHING = _Everything()


class RunMasker:
    """Decides, value by value, what one viewer may see of the rows of pipeline runs; asks the catalog once
    per (target table, staging table)."""

    def __init__(self, user, target: ClickHouseTarget | None = None):
        self.allowed = can_view_sensitive(user)
        self._target = target
        self._cache: dict[tuple[str, str], set[str]] = {}

    def hidden(self, *, target_table: str, staging_table: str = "") -> set[str]:
        if self.allowed:
            return set()
        key = (target_table, staging_table or "")
        if key not in self._cache:
            from analytics.clickhouse import ClickHouseError, get_target

            try:
                self._target = self._target or get_target()
                self._cache[key] = pipeline_sensitive_columns(self._target, target_table=target_table,
                                                              staging_table=staging_table or None)
            except ClickHouseError:
                logger.warning("masking: the catalog is unreadable, hiding every value of %s", target_table)
                self._cache[key] = EVERYTHING
        return self._cache[key]

    def value(self, value: Any, *, column: str, target_table: str, staging_table: str = "") -> Any:
        if value is None or column not in self.hidden(target_table=target_table, staging_table=staging_table):
            return value
        return MASK


def hidden_columns(user, *, target_table: str, staging_table: str = ""):
    """The column names (target, staging, and the source columns feeding sensitive ones) to hide from `user`;
    every column (`EVERYTHING`) when the catalog cannot be read."""
    return RunMasker(user).hidden(target_table=target_table, staging_table=staging_table)


def mask_value(value, column: str, hidden) -> object:
    return MASK if value is not None and column in hidden else value


def mask_rows(names: Sequence[str], rows, hidden) -> list[list]:
    """Rows as lists in the order of `names`, the values of `hidden` columns masked."""
    return [[mask_value(value, name, hidden) for name, value in zip(names, row, strict=False)] for row in rows]


def mask_reason(reason: str, value, column: str, hidden) -> str:
    """Validation reasons quote the failing value ('not a number: "x"'): hide it there too."""
    if value is None or column not in hidden or not reason:
        return reason
    return str(reason).replace(str(value), MASK)


def masked_staged_records(user, records: list[dict], *, table_name: str, target_table: str,
                          keep: Iterable[str] = ()) -> list[dict]:
    """Rows of a staging table as `user` may see them: hidden are its own sensitive columns and those of the
    target table its run loads (and the source columns lineage traces into them). When the catalog is
    unreadable every column is hidden but those in `keep` (the row number, which is no data)."""
    masker = RunMasker(user)
    if not records or masker.allowed:
        return records
    hidden = masker.hidden(target_table=target_table, staging_table=table_name)
    if hidden is EVERYTHING:
        hidden = set(records[0]) - set(keep)
    return mask_records(records, hidden)


class _PerRunMasker:
    """A viewer's masker over rows of several runs: `target_table_of(run_id)` names the target table a run
    loads (staging.masking gives the pipelines' answer); it is asked once per run."""

    def __init__(self, user, *, target_table_of: Callable[[int], str]):
        self._masker = RunMasker(user)
        self._target_table_of = target_table_of
        self._tables: dict[int, str] = {}

    @property
    def allowed(self) -> bool:
        return self._masker.allowed

    def _target_table(self, run_id: int) -> str:
        if run_id not in self._tables:
            self._tables[run_id] = self._target_table_of(run_id)
        return self._tables[run_id]


class QuarantineMasker(_PerRunMasker):
    """Values of quarantined rows (and the reasons quoting them) as one viewer may see them."""

    def reason(self, row) -> str:
        """The reason in the viewer's language (`reason_text`), with the value it quotes masked when the value is."""
        reason = row.reason_text
        if row.value and self.value(row) is not row.value:
            return reason.replace(row.value, self.value(row))
        return reason

    def value(self, row, field: str = "value") -> Any:
        value = getattr(row, field)
        if self.allowed or value is None:
            return value
        return self._masker.value(value, column=row.column_name, target_table=self._target_table(row.pipeline_run_id),
                                  staging_table=row.staging_table)

    def serialized(self, rows: list, data: list[dict]) -> list[dict]:
        """Serialized quarantined rows (`data`, in the order of the model instances `rows`) with the value,
        corrected value and the reason quoting the value masked where the column is sensitive."""
        if self.allowed:
            return data  # the serializer gives the reason in the viewer's language already
        return [{**item, "value": self.value(row), "corrected_value": self.value(row, "corrected_value"),
                 "reason": self.reason(row)} for row, item in zip(rows, data, strict=True)]


class DimensionMasker(_PerRunMasker):
    """Business metrics' dimension values (``{"email": "a@b.c"}``) as one viewer may see them: a dimension is
    a column of the target table the metric's run loaded, hidden as that column is (lineage included). A run
    whose target table is unknown ("") has every dimension hidden, since nothing says which are harmless."""

    def hidden(self, run_id: int):
        """The dimension names to hide in the rows of run `run_id` (`EVERYTHING` when unknown)."""
        if self.allowed:
            return set()
        table = self._target_table(run_id)
        return self._masker.hidden(target_table=table) if table else EVERYTHING

    def hidden_in_runs(self, run_ids: Iterable[int]):
        """The dimension names to hide in rows of any of `run_ids` (for a chart mixing them)."""
        names: set[str] = set()
        for run_id in run_ids:
            hidden = self.hidden(run_id)
            if hidden is EVERYTHING:
                return EVERYTHING
            names |= hidden
        return names

    def values(self, dimension_values: dict, run_id: int) -> dict:
        if self.allowed or not dimension_values:
            return dimension_values
        hidden = self.hidden(run_id)
        return {key: mask_value(value, key, hidden) for key, value in dimension_values.items()}

    def records(self, rows: list[dict]) -> list[dict]:
        """business_metrics rows (``dimension_values`` a dict or its JSON text, ``pipeline_run_id``) with the
        hidden dimension values masked."""
        if self.allowed:
            return rows
        masked = []
        for row in rows:
            values = row.get("dimension_values")
            as_text = isinstance(values, str)
            parsed = _json_object(values) if as_text else values
            if isinstance(parsed, dict) and parsed:
                parsed = self.values(parsed, int(row.get("pipeline_run_id") or 0))
                row = {**row, "dimension_values": json.dumps(parsed, ensure_ascii=False, sort_keys=True)
                       if as_text else parsed}
            masked.append(row)
        return masked


def _json_object(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None
