"""A way forward when a pipeline's column types change after its table was created.

When a run's data has other column types than its target table (declared `data_types` added later, an edited
contract), the load stops before anything is written (analytics.loading.TargetTypeConflict) and
`type_conflict_record` keeps the difference as a pending schema change of kind "types"; the run fails at once,
naming the Schema changes page and the `migrate_target_types` command. Approving it there migrates the table
(analytics.type_migration: MODIFY COLUMN when every stored value converts, otherwise a rebuild that sets the
values that do not convert to NULL only when the person asked for that), writes the approval to the audit log
and marks the change applied; the next run loads.
"""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.audit import audit_record
from analytics.clickhouse import get_target
from analytics.loading import TargetTypeConflict
from analytics.type_migration import (
    MODIFY,
    REBUILD,
    ColumnChange,
    TypeMigrationError,
    TypeMigrationPreview,
    TypeMigrationResult,
    type_migration_apply,
    type_migration_preview,
)
from etlsite.messages import Message, _msg, message_of, messages_join
from pipelines.engine.errors import RunError
from pipelines.models import Pipeline, PipelineRun, RunStatus, SchemaChange, SchemaChangeKind, SchemaChangeStatus

COMMAND = "migrate_target_types"


class TypeChangeRefused(Exception):
    """The migration was not started (not pending, a run is loading the table...); the message says why."""


def load_begin(load, schema, *, run: PipelineRun) -> list[str]:
    """`load.begin(schema)`; a type conflict with the target table becomes a pending type change and a RunError
    that says where to approve its migration (a retry would only meet the same table)."""
    try:
        return load.begin(schema)
    except TargetTypeConflict as conflict:
        change = type_conflict_record(run=run, conflict=conflict)
        raise RunError(messages_join([message_of(conflict) or str(conflict), approval_hint(change)])) from conflict


def approval_hint(change: SchemaChange) -> Message:
    return (_msg("A migration of the table waits for approval on the Schema changes page (%(url)s) or with "
                 "\"python manage.py %(command)s %(pipeline)d --apply\".")
            % {"url": reverse("webui:schema-changes"), "command": COMMAND, "pipeline": change.pipeline_id})


def _fingerprint(diff: dict) -> str:
    return hashlib.sha256(json.dumps({"kind": SchemaChangeKind.TYPES, **diff}, sort_keys=True).encode()).hexdigest()


def type_conflict_record(*, run: PipelineRun, conflict: TargetTypeConflict) -> SchemaChange:
    """The pending type change for this conflict: created, or reopened when the same difference came back after
    it was applied or dismissed."""
    diff = {"table": conflict.table,
            "retyped": [{"column": c, "from": have, "to": want} for c, have, want in conflict.conflicts]}
    fp = _fingerprint(diff)
    try:
        with transaction.atomic():
            change, created = SchemaChange.objects.get_or_create(
                pipeline_id=run.pipeline_id, fingerprint=fp,
                defaults={"diff": diff, "pipeline_run": run, "kind": SchemaChangeKind.TYPES})
    except IntegrityError:  # two runs met the same conflict at once
        change, created = SchemaChange.objects.get(pipeline_id=run.pipeline_id, fingerprint=fp), False
    if not created and change.status != SchemaChangeStatus.PENDING:
        SchemaChange.objects.filter(pk=change.pk).exclude(status=SchemaChangeStatus.PENDING).update(
            status=SchemaChangeStatus.PENDING, pipeline_run=run, decided_by="", decided_at=None, last_error="",
            result={}, updated_at=timezone.now())
        change.refresh_from_db()
    return change


def column_changes(change: SchemaChange) -> list[ColumnChange]:
    return [ColumnChange(column=c["column"], stored=c["from"], wanted=c["to"])
            for c in (change.diff or {}).get("retyped", [])]


def method_label(method: str) -> str:
    return {MODIFY: _("columns changed in place"), REBUILD: _("table rebuilt")}.get(method, method)


def describe_type_change(change: SchemaChange) -> str:
    diff = change.diff or {}
    return _("table %(table)s: %(columns)s") % {
        "table": diff.get("table", ""),
        "columns": ", ".join(f"{c['column']} {c['from']} -> {c['to']}" for c in diff.get("retyped", []))}


def type_change_preview(change: SchemaChange) -> TypeMigrationPreview:
    """What migrating would do (raises TypeMigrationError when the table cannot be migrated)."""
    return type_migration_preview(get_target(), change.diff["table"], column_changes(change))


def _busy_runs(table: str) -> list[PipelineRun]:
    from pipelines.targets import target_table_name

    pipelines = [p.pk for p in Pipeline.objects.all() if target_table_name(p) == table]
    return list(PipelineRun.objects.filter(pipeline_id__in=pipelines, status=RunStatus.RUNNING))


def type_change_apply(*, change: SchemaChange, by: str, null_unconvertible: bool = False,
                      user_id: int | None = None) -> TypeMigrationResult:
    """Migrate the table of a pending type change, audit it and mark the change applied.

    TypeChangeRefused when it cannot start; TypeMigrationError (the table as it was, the change still pending
    with the reason in last_error) when ClickHouse could not do it or values would not convert.
    """
    if change.kind != SchemaChangeKind.TYPES:
        raise TypeChangeRefused(_msg("This schema change is not a change of column types."))
    table = change.diff["table"]
    busy = _busy_runs(table)
    if busy:
        raise TypeChangeRefused(_msg("Run %(run)d is loading into %(table)s; migrate the table when it has finished.")
                                % {"run": busy[0].pk, "table": table})
    # Claimed as "approved" while the migration runs: a second approval meanwhile finds it decided.
    claimed = SchemaChange.objects.filter(pk=change.pk, status=SchemaChangeStatus.PENDING).update(
        status=SchemaChangeStatus.APPROVED, decided_by=by[:150], decided_at=timezone.now(), updated_at=timezone.now())
    if not claimed:
        raise TypeChangeRefused(_msg("This change was already decided."))
    details = {"action": "migrate_types", "schema_change_id": change.pk, "pipeline_id": change.pipeline_id,
               "pipeline": str(change.pipeline), "by": by, "null_unconvertible": null_unconvertible}
    try:
        result = type_migration_apply(get_target(), table, column_changes(change),
                                      null_unconvertible=null_unconvertible)
    except TypeMigrationError as exc:
        SchemaChange.objects.filter(pk=change.pk).update(
            status=SchemaChangeStatus.PENDING, decided_by="", decided_at=None, last_error=str(exc),
            updated_at=timezone.now())
        audit_record(operation_type="update", table_name=table, user_id=user_id,
                     details={**details, "outcome": "failed", "error": str(exc),
                              "columns": (change.diff or {}).get("retyped", [])})
        change.refresh_from_db()
        raise
    SchemaChange.objects.filter(pk=change.pk).update(
        status=SchemaChangeStatus.APPLIED, last_error="", result=result.as_dict(), updated_at=timezone.now())
    audit_record(operation_type="update", table_name=table, user_id=user_id,
                 details={**details, "outcome": "applied", "method": result.method, "rows": result.rows,
                          "nulled": result.nulled, "columns": result.columns})
    change.refresh_from_db()
    return result


def pending_type_changes(pipeline: Pipeline):
    return SchemaChange.objects.filter(pipeline=pipeline, kind=SchemaChangeKind.TYPES,
                                       status=SchemaChangeStatus.PENDING).order_by("-created_at")
