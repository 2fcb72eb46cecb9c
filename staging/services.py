"""Writes to the staging database's registry tables: clean-up of expired staging tables, processing logs,
and the status of uploaded files. Messages and contexts about a run are scrubbed of its source's secrets."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _

from etlsite.messages import Message, english_text, stored_json
from sources.scrubbing import scrub_for_run
from staging.models import FileMetadata, FileStatus, ProcessingLog, ProcessingStatus, StagingTable
from staging.writer import STAGING_ALIAS, staging_table_drop

logger = logging.getLogger(__name__)

# Where a file may go from each status. A failed or processed file may be processed again (retry, re-run);
# a file being processed only ends processed or failed; a deleted file stays deleted.
FILE_TRANSITIONS: dict[str, frozenset[str]] = {
    FileStatus.UPLOADED: frozenset({FileStatus.PROCESSING, FileStatus.DELETED}),
    FileStatus.PROCESSING: frozenset({FileStatus.PROCESSED, FileStatus.FAILED}),
    FileStatus.PROCESSED: frozenset({FileStatus.PROCESSING, FileStatus.DELETED}),
    FileStatus.FAILED: frozenset({FileStatus.PROCESSING, FileStatus.DELETED}),
    FileStatus.DELETED: frozenset(),
}


def staging_cleanup_expired(*, now: datetime | None = None) -> int:
    """Drop every active staging table whose expires_at has passed; returns how many were dropped.

    A table that cannot be dropped (locked, say) is logged and left for the next clean-up.
    """
    now = now or timezone.now()
    expired = StagingTable.objects.using(STAGING_ALIAS).filter(is_active=True, expires_at__lte=now)
    dropped: list[str] = []
    for staging_table in expired.order_by("expires_at", "pk"):
        try:
            if staging_table_drop(staging_table=staging_table):
                dropped.append(staging_table.table_name)
        except DatabaseError:
            logger.exception("could not drop the expired staging table %s", staging_table)
    _forget_in_catalog(dropped)
    return len(dropped)


def _forget_in_catalog(table_names: list[str]) -> None:
    """Catalog entries of dropped staging tables go with them; if ClickHouse is unreachable now, they are
    stale descriptions of nothing, harmless until the next clean-up, so the drop still counts."""
    if not table_names:
        return
    from analytics.catalog import STAGING_SCHEMA, catalog_forget
    from analytics.clickhouse import ClickHouseError, get_target

    try:
        catalog_forget(target=get_target(), schema_name=STAGING_SCHEMA, table_names=table_names)
    except ClickHouseError:
        logger.exception("could not remove the catalog entries of dropped staging tables %s", table_names)


def processing_log_start(*, table_name: str, operation_type: str, pipeline_run_id: int | None,
                         context: dict | None = None) -> ProcessingLog:
    return ProcessingLog.objects.using(STAGING_ALIAS).create(
        table_name=table_name, operation_type=operation_type, pipeline_run_id=pipeline_run_id,
        status=ProcessingStatus.IN_PROGRESS, started_at=timezone.now(),
        execution_context=scrub_for_run(context or {}, run_id=pipeline_run_id),
    )


def processing_log_finish(log: ProcessingLog, *, status: str, records_processed: int, records_success: int,
                          records_failed: int, error_message: Message | str = "",
                          processing_time_seconds: float | None = None) -> ProcessingLog:
    """Close a log; the processing time is finished_at - started_at unless the caller measured it
    (an operation spread over many batches is timed by its own clock)."""
    if status not in (ProcessingStatus.COMPLETED, ProcessingStatus.FAILED, ProcessingStatus.CANCELLED):
        raise ValueError(_("A processing log cannot finish as %(status)s.") % {"status": status})
    log.finished_at = timezone.now()
    log.started_at = log.started_at or log.finished_at
    if processing_time_seconds is None:
        processing_time_seconds = (log.finished_at - log.started_at).total_seconds()
    log.status = status
    log.records_processed = records_processed
    log.records_success = records_success
    log.records_failed = records_failed
    log.error_message = scrub_for_run(english_text(error_message or ""), run_id=log.pipeline_run_id)
    stored = stored_json(error_message)
    if stored is not None:  # beside the English text, for pages in the reader's language (etlsite.messages)
        log.execution_context = {**(log.execution_context or {}),
                                 "error": scrub_for_run(stored, run_id=log.pipeline_run_id)}
    log.processing_time_seconds = processing_time_seconds
    log.save(using=STAGING_ALIAS, update_fields=[
        "status", "records_processed", "records_success", "records_failed", "error_message",
        "processing_time_seconds", "started_at", "finished_at", "updated_at", "execution_context"])
    return log


def file_status_set(file: FileMetadata, status: str, *, error_message: str = "") -> FileMetadata:
    """Move a file to `status` (uploaded -> processing -> processed | failed), stamping the times.

    Raises ValueError for a move the life cycle does not allow, and when another process changed the
    file's status meanwhile.
    """
    old = file.status
    if status not in FILE_TRANSITIONS.get(old, ()):
        raise ValueError(_("The file %(name)s cannot go from %(old)s to %(new)s.")
                         % {"name": file.original_filename, "old": _file_status_label(old),
                            "new": _file_status_label(status)})
    now = timezone.now()
    changes: dict = {"status": status, "updated_at": now}
    if status == FileStatus.PROCESSING:
        changes.update(processing_started_at=now, processing_finished_at=None, error_message="")
    elif status in (FileStatus.PROCESSED, FileStatus.FAILED):
        changes.update(processing_finished_at=now, error_message=scrub_for_run(
            error_message, run_id=file.pipeline_run_id) if status == FileStatus.FAILED else "")
    # Only from the status we checked: of two workers picking up the same file, one wins.
    updated = FileMetadata.objects.using(STAGING_ALIAS).filter(pk=file.pk, status=old).update(**changes)
    if updated != 1:
        raise ValueError(_("The file %(name)s is no longer %(old)s; it was changed meanwhile.")
                         % {"name": file.original_filename, "old": _file_status_label(old)})
    for field, value in changes.items():
        setattr(file, field, value)
    return file


def _file_status_label(status: str) -> str:
    return str(dict(FileStatus.choices).get(status, status))
