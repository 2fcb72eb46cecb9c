"""The audit trail: who changed what, from where, written to ClickHouse's append-only `etl_audit_log`.

* `audit_record` records one row. Secrets in the details are masked with `mask_config` (a source's
  connection_config by its connector's declaration of secrets, the rest by key names); the user, session,
  IP address and user agent default to the current request's (`audit_context`, filled by
  `etlsite.middleware.AuditContextMiddleware`). The row goes to the metadata database's outbox in the
  caller's transaction and reaches ClickHouse after the commit (analytics/audit_outbox.py): no signal
  handler waits for ClickHouse, and an outage delays rows, it loses none. It never raises.
* `connect_signals` (called from `AnalyticsConfig.ready`) records every create/update/delete of sources,
  pipelines and schedules (django_celery_beat PeriodicTask), each run trigger and cancel, each upload.
  Updates carry the changed fields with old and new values, taken from a pre_save snapshot.
* `audit_export`, `audit_run_cancel` are for code paths that no model signal sees (exports, and
  queryset `.update()` calls).

The table knows four operation types (create, update, delete, query); the precise action is
details["action"]: create, update, delete, soft_delete, restore, trigger, cancel, upload, export...
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.signals import post_delete, post_save, pre_save

from analytics.audit_outbox import TABLE, audit_send_pending, outbox_add
from analytics.models import AuditOutbox
from sources.secrets import mask_config

logger = logging.getLogger(__name__)

__all__ = ["TABLE", "AuditContext", "audit_context", "audit_context_set", "audit_export", "audit_record",
           "audit_run_cancel", "audit_send_pending", "connect_signals", "session_fingerprint"]

OPERATION_TYPES = ("create", "update", "delete", "query")
USER_AGENT_MAX = 512
# Bookkeeping that changes on its own (timestamps, beat's run counters): never "a change" worth a row.
IGNORED_FIELDS = {"updated_at", "last_run_at", "total_run_count", "date_changed", "no_changes"}


# --- request context -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditContext:
    user_id: int | None = None
    session_id: str = ""
    ip_address: str = ""
    user_agent: str = ""


_EMPTY = AuditContext()
# Holds the request itself (resolved lazily: DRF authenticates in the view, after the middleware ran) or a
# fixed AuditContext (tasks, commands, tests).
_current: ContextVar[Any] = ContextVar("audit_context", default=None)


def session_fingerprint(session_key: str | None) -> str:
    """A stable, non-reversible id of a session: the key itself is a credential and must not be logged."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def context_from_request(request) -> AuditContext:
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    session = getattr(request, "session", None)
    meta = getattr(request, "META", {})
    return AuditContext(
        user_id=user_id,
        session_id=session_fingerprint(getattr(session, "session_key", None)),
        ip_address=meta.get("REMOTE_ADDR", "") or "",
        user_agent=(meta.get("HTTP_USER_AGENT", "") or "")[:USER_AGENT_MAX],
    )


def audit_context() -> AuditContext:
    """The current request's user/session/IP/user agent, or an empty context outside a request."""
    value = _current.get()
    if value is None:
        return _EMPTY
    if isinstance(value, AuditContext):
        return value
    try:
        return context_from_request(value)
    except Exception:  # a broken session backend must not stop an audited save
        logger.exception("Could not read the audit context from the request")
        return _EMPTY


@contextmanager
def audit_context_set(value: Any) -> Iterator[None]:
    """Make `value` (an HttpRequest or an AuditContext) the audit context for the block."""
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


# --- writing ---------------------------------------------------------------------------------------------
def _json(details: dict) -> str:
    return json.dumps(mask_config(details), cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True,
                      default=str)


def audit_record(*, operation_type: str, table_name: str, details: dict, user_id: int | None = None,
                 session_id: str = "", ip_address: str = "", user_agent: str = "",
                 pipeline_run_id: int | None = None, using: str | None = None) -> bool:
    """Record one etl_audit_log row for a change made in database `using` (the metadata database when None);
    True if recorded. Never raises (failures are logged).

    Values not given are taken from `audit_context()`. ClickHouse receives the row after the commit.
    """
    try:
        if operation_type not in OPERATION_TYPES:
            raise ValueError(f"Unknown audit operation type: {operation_type!r}")
        ctx = audit_context()
        entry = AuditOutbox(
            operation_type=operation_type,
            table_name=table_name or "",
            operation_details=_json(details or {}),
            user_id=user_id if user_id is not None else ctx.user_id,
            session_id=session_id or ctx.session_id,
            ip_address=ip_address or ctx.ip_address,
            user_agent=(user_agent or ctx.user_agent)[:USER_AGENT_MAX],
            pipeline_run_id=pipeline_run_id,
        )
    except Exception as exc:
        logger.warning("Audit record not written (%s %s): %s", operation_type, table_name, exc)
        return False
    return outbox_add(entry, using=using)


def audit_export(*, table_name: str, format: str = "", rows: int | None = None, filters: dict | None = None,
                 pipeline_run_id: int | None = None, **extra: Any) -> bool:
    """Record an export of data (a download, a file written for someone): operation "query"."""
    details = {"action": "export", "format": format, "rows": rows, "filters": filters or {}, **extra}
    return audit_record(operation_type="query", table_name=table_name, details=details,
                        pipeline_run_id=pipeline_run_id)


def audit_run_cancel(*, run, by: str = "") -> bool:
    """Record a run's cancellation where it happens through a queryset update (no post_save)."""
    return audit_record(operation_type="update", table_name=run._meta.db_table,
                        details={"action": "cancel", "object_id": run.pk, "pipeline_id": run.pipeline_id,
                                 "by": by, "changes": {"status": {"new": "cancelled"}}},
                        pipeline_run_id=run.pk)


# --- what changed ----------------------------------------------------------------------------------------
def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _values(instance) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname, None) for f in _fields(type(instance))}


def _source_config(values: dict[str, Any] | None) -> Any:
    """A source's connection_config masked by its connector's declaration of secrets (headers, parameters...),
    which key names alone do not reveal."""
    values = values or {}
    return mask_config(values.get("connection_config"), values.get("source_type"))


def _mask_sources(sender, details: dict, previous: dict | None, current: dict | None) -> dict:
    if "connection_config" not in {f.attname for f in _fields(sender)} or "source_type" not in (current or {}):
        return details
    if "values" in details:
        details["values"] = {**details["values"], "connection_config": _source_config(current)}
    change = details.get("changes", {}).get("connection_config")
    if change is not None:
        change.update(old=_source_config(previous), new=_source_config(current))
    return details


def _diff_paths(old: Any, new: Any, path: str) -> list[str]:
    """Where two JSON values differ, as "key.sub" paths (the paths name keys, never values)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [p for key in sorted(set(old) | set(new), key=str)
                for p in _diff_paths(old.get(key), new.get(key), f"{path}.{key}")]
    return [] if old == new else [path]


def changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, dict], list[str]]:
    """{field: {"old", "new"}} for the fields that differ, and the changed paths inside JSON fields."""
    changed, paths = {}, []
    for name, value in new.items():
        if name in IGNORED_FIELDS or name not in old or old[name] == value:
            continue
        changed[name] = {"old": old[name], "new": value}
        if isinstance(value, dict) or isinstance(old[name], dict):
            paths += _diff_paths(old[name], value, name)
    return changed, paths


# --- signal handlers -------------------------------------------------------------------------------------
def _label(instance) -> str:
    try:
        return str(instance)[:200]
    except Exception:
        return ""


def _snapshot(sender, instance, raw=False, using=None, **kwargs) -> None:
    instance._audit_previous = None
    if raw or instance._state.adding or instance.pk is None:
        return
    try:
        names = [f.attname for f in _fields(sender)]
        instance._audit_previous = sender._base_manager.using(using).filter(pk=instance.pk).values(*names).first()
    except Exception:
        logger.exception("Audit snapshot failed for %s %s", sender.__name__, instance.pk)


def _on_save(sender, instance, created, raw=False, using=None, **kwargs) -> None:
    if raw:
        return
    table = sender._meta.db_table
    base = {"model": sender._meta.label_lower, "object_id": instance.pk, "object": _label(instance)}
    current = _values(instance)
    if created:
        audit_record(operation_type="create", table_name=table, using=using, details=_mask_sources(
            sender, {**base, "action": "create", "values": current}, None, current))
        return
    previous = getattr(instance, "_audit_previous", None)
    instance._audit_previous = None
    if previous is None:
        changed, paths = {}, []
    else:
        changed, paths = changes(previous, current)
        if not changed:
            return
    operation, action = "update", "update"
    if "is_deleted" in changed:
        deleted = changed["is_deleted"]["new"]
        operation, action = ("delete", "soft_delete") if deleted else ("update", "restore")
    audit_record(operation_type=operation, table_name=table, using=using, details=_mask_sources(
        sender, {**base, "action": action, "changed": sorted(changed), "changed_paths": paths, "changes": changed},
        previous, current))


def _on_delete(sender, instance, using=None, **kwargs) -> None:
    current = _values(instance)
    audit_record(operation_type="delete", table_name=sender._meta.db_table, using=using, details=_mask_sources(
        sender, {"model": sender._meta.label_lower, "object_id": instance.pk, "object": _label(instance),
                 "action": "delete", "values": current}, None, current))


def _on_run_save(sender, instance, created, raw=False, using=None, **kwargs) -> None:
    if raw:
        return
    previous = getattr(instance, "_audit_previous", None)
    instance._audit_previous = None
    table = sender._meta.db_table
    if created:
        audit_record(operation_type="create", table_name=table, pipeline_run_id=instance.pk, using=using,
                     details={"action": "trigger", "object_id": instance.pk, "pipeline_id": instance.pipeline_id,
                              "triggered_by": instance.triggered_by, "status": instance.status,
                              "execution_context": instance.execution_context})
    elif instance.status == "cancelled" and previous is not None and previous.get("status") != "cancelled":
        audit_record(operation_type="update", table_name=table, pipeline_run_id=instance.pk, using=using,
                     details={"action": "cancel", "object_id": instance.pk, "pipeline_id": instance.pipeline_id,
                              "changes": {"status": {"old": previous.get("status"), "new": instance.status}}})


def _on_file_save(sender, instance, created, raw=False, using=None, **kwargs) -> None:
    if raw or not created:
        return
    audit_record(operation_type="create", table_name=sender._meta.db_table, pipeline_run_id=instance.pipeline_run_id,
                 using=using,
                 details={"action": "upload", "object_id": instance.pk, "original_filename": instance.original_filename,
                          "filename": instance.filename, "file_size": instance.file_size,
                          "file_hash": instance.file_hash, "mime_type": instance.mime_type,
                          "uploaded_by": instance.uploaded_by})


def tracked_models() -> list:
    """The models whose every change is audited (create/update/delete with old and new values)."""
    labels = ["sources.DataSource", "pipelines.Pipeline"]
    if apps.is_installed("django_celery_beat"):
        labels.append("django_celery_beat.PeriodicTask")
    return [apps.get_model(label) for label in labels]


def connect_signals() -> None:
    for model in tracked_models():
        uid = f"audit:{model._meta.label_lower}"
        pre_save.connect(_snapshot, sender=model, dispatch_uid=f"{uid}:pre_save")
        post_save.connect(_on_save, sender=model, dispatch_uid=f"{uid}:post_save")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"{uid}:post_delete")
    run = apps.get_model("pipelines.PipelineRun")
    pre_save.connect(_snapshot, sender=run, dispatch_uid="audit:pipelinerun:pre_save")
    post_save.connect(_on_run_save, sender=run, dispatch_uid="audit:pipelinerun:post_save")
    post_save.connect(_on_file_save, sender=apps.get_model("staging.FileMetadata"),
                      dispatch_uid="audit:filemetadata:post_save")
