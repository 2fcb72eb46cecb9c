"""How every run ends: reconcile, commit, analyse, processing logs, outcome — or the failure's record.

A whole-file run (runner.py) and a split run's commit (parts.py) both end through `finish`, with an
`Ending` that says what they loaded; the failure helpers are shared the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, OperationalError, connections

from analytics.clickhouse import ClickHouseError
from analytics.loading import TargetLoad
from etlsite.messages import Message, _msg, english_text, message_of
from pipelines import services
from pipelines.config import PipelineConfig
from pipelines.engine.analyze import run_analyze, run_validation_report
from pipelines.engine.batches import OPERATION_KINDS, Operation
from pipelines.engine.errors import RunError
from pipelines.engine.outcome import outcome_check
from pipelines.models import PipelineRun
from pipelines.run_state import RunTotals, Step, progress_write
from pipelines.warnings import analysis_warnings, encoding_warnings
from sources.connectors.base import ConnectorError
from staging.models import FileMetadata, FileStatus, OperationType, ProcessingStatus
from staging.services import file_status_set, processing_log_finish, processing_log_start

logger = logging.getLogger(__name__)

# rows_removed's name for the rows of a merge run whose key comes again later in the run (the last one stays).
MERGE_REPEATS = "merge_key_repeats"
# The errors a run ends with as failed, with their own message (anything else is an internal error).
RUN_ERRORS = (RunError, ConnectorError, ClickHouseError, ValueError, DatabaseError)


@dataclass
class Ending:
    """What `finish` needs of a run whose rows are all in its temporary table."""

    run: PipelineRun
    load: TargetLoad
    totals: RunTotals  # read and quarantined; `finish` adds removed repeats and the loaded count
    config: PipelineConfig  # the run's, read once at its start
    staging_table: str
    source_columns: list  # [name, type] pairs
    schema_diff: dict
    lineage: list[dict]
    staging_finish: Callable  # records the staging table's counts and size; returns its StagingTable
    write_logs: Callable[[str], None]  # the processing_logs rows for a status (a success here)
    file_record: FileMetadata | None = None
    connector: object | None = None  # a whole-file run's source: encoding warnings, position, acknowledgement
    key_repeats_remove: Callable[[], int] | None = None  # a split run's clean_duplicates across parts
    after_commit: Callable[[], None] | None = None
    # Other processes (a split run's parts) appended the rows: the load counts what its table holds.
    appended_elsewhere: bool = False
    started: float | None = None  # time.monotonic() at a whole-file run's start: its "seconds"


def finish(ending: Ending) -> PipelineRun:
    """Reconcile, commit once, analyse, record the success. Raises RunError (counts, quarantine limit) and
    ClickHouse errors: the caller records the failure."""
    run, load, totals = ending.run, ending.load, ending.totals
    warnings = reconcile(ending)
    if ending.appended_elsewhere:
        load.rows_appended = totals.rows_loaded
    committed = load.commit()
    if committed != totals.rows_loaded:
        raise RunError(_msg("ClickHouse holds %(have)d rows of this run, expected %(want)d.")
                       % {"have": committed, "want": totals.rows_loaded})
    if ending.after_commit is not None:
        ending.after_commit()
    source_state = None
    if ending.connector is not None:
        acknowledge_source(ending.connector, run)
        if getattr(ending.connector, "supports_state", False):
            source_state = ending.connector.new_state()
    progress_write(run, step=Step.ANALYZE, totals=totals)
    results = run_analyze(run=run, config=ending.config, target=load.target, table=load.table,
                          staging_table=ending.staging_table,
                          source_columns=[name for name, _type in ending.source_columns],
                          lineage=ending.lineage, schema_diff=ending.schema_diff, rows_read=totals.rows_read,
                          rows_loaded=totals.rows_loaded, warnings=warnings)
    warnings += analysis_warnings(results)
    staged = ending.staging_finish()
    if ending.file_record:
        file_status_set(ending.file_record, FileStatus.PROCESSED)
    ending.write_logs(ProcessingStatus.COMPLETED)
    timing = {"seconds": round(time.monotonic() - ending.started, 3)} if ending.started is not None else {}
    return services.run_succeed(
        run=run, records_processed=totals.rows_read, records_failed=totals.rows_quarantined,
        context={**totals.as_dict(), "staging_table": staged.table_name, "target_table": load.table,
                 "source_columns": ending.source_columns, "schema_diff": ending.schema_diff,
                 "source_state": source_state, "lineage": ending.lineage, "warnings": warnings,
                 "write": write_summary(load), **timing})


def reconcile(ending: Ending) -> list[dict]:
    """Remove repeated rows, count what the temporary table holds, check the quarantine limit and that
    read = loaded + quarantined + removed; the warnings so far."""
    run, load, totals = ending.run, ending.load, ending.totals
    progress_write(run, step=Step.COMMIT, totals=totals)
    if ending.key_repeats_remove is not None:
        totals.remove("clean_duplicates", ending.key_repeats_remove())
    repeats = load.repeats_remove()  # merge: the last row per key (across all parts of a split run)
    if repeats:
        totals.removed[MERGE_REPEATS] = repeats
    totals.rows_loaded = load.staged_count()
    try:
        warnings = outcome_check(run=run, rules=ending.config.rules, rows_read=totals.rows_read,
                                 rows_loaded=totals.rows_loaded, rows_quarantined=totals.rows_quarantined,
                                 rows_removed=sum(totals.removed.values()))
    except RunError:
        run_validation_report(run=run, rules=ending.config.rules, target=load.target, table=load.table,
                              rows_read=totals.rows_read,
                              source_columns=[name for name, _type in ending.source_columns])
        raise
    if ending.connector is not None:
        warnings += encoding_warnings(ending.connector)
    if not totals.reconciles():
        raise RunError(
            _msg("Counts do not reconcile: read %(read)d != loaded %(loaded)d + quarantined %(q)d + removed "
                 "%(removed)d.") % {"read": totals.rows_read, "loaded": totals.rows_loaded,
                                  "q": totals.rows_quarantined, "removed": sum(totals.removed.values())})
    return warnings


def write_summary(load: TargetLoad) -> dict:
    """What the commit did to the rows already there (execution_context["write"]; the run page, the API)."""
    summary = {"mode": load.write_mode, "rows_replaced": load.rows_replaced}
    if load.merge_key:
        summary["merge_key"] = list(load.merge_key)
    return summary


def acknowledge_source(connector, run: PipelineRun) -> None:
    """Tell a source that remembers positions (Kafka offsets) that the rows are safely loaded.

    Only after the commit: a failed run never acknowledges, so the same messages are read again. If the
    acknowledgement itself fails, the rows are loaded and will be read once more (at-least-once).
    """
    commit = getattr(connector, "commit", None)
    if commit is None:
        return
    try:
        commit()
    except Exception:  # the load stands; a repeat read is the documented cost
        logger.warning("run %s: the source's position could not be saved; its rows may be read again", run.pk,
                       exc_info=True)


def file_of_run(run: PipelineRun) -> FileMetadata | None:
    """The uploaded file this run reads (execution_context["file_id"]), None for another source."""
    file_id = (run.execution_context or {}).get("file_id")
    return FileMetadata.objects.filter(pk=file_id).first() if file_id else None


def file_link_to_run(run: PipelineRun) -> FileMetadata | None:
    """Writes file_metadata.pipeline_run_id: the uploaded file this run reads, linked to the run when an
    attempt starts (the file's page shows the run reading it); None for another source."""
    file_id = (run.execution_context or {}).get("file_id")
    if not file_id:
        return None
    FileMetadata.objects.filter(pk=file_id).update(pipeline_run_id=run.pk)
    return file_of_run(run)


def is_transient(exc: Exception) -> bool:
    """Worth retrying: the network or a server failed, not the data or the configuration."""
    if isinstance(exc, ConnectorError):
        return not exc.permanent
    if isinstance(exc, ClickHouseError):
        return exc.transient
    return isinstance(exc, (OperationalError, InterfaceError))


def failure_of(exc: Exception) -> tuple[Message | str, bool]:
    """A run error's message (kept untranslated when the error carries one: it is shown in the reader's
    language) and whether it is transient; a lost database connection is reopened first."""
    message = message_of(exc) or str(exc)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A database server restarted or the link broke: reconnect before recording the failure.
        drop_broken_connections()
        message = _msg("A database connection was lost (the server restarted or the network failed): "
                       "%(error)s") % {"error": (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]}
    return message, is_transient(exc)


def drop_broken_connections() -> None:
    """Close this thread's database connections that no longer answer (all of them die when a server
    restarts, not only the one that failed), so the next query reconnects. Django does this only between
    requests; a worker's task is not one."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


def file_failed(record: FileMetadata | None, message: Message | str) -> None:
    if record and record.status == FileStatus.PROCESSING:
        file_status_set(record, FileStatus.FAILED, error_message=english_text(message))


def parts_operations(parts: dict, failed_in: str | None) -> dict[str, Operation]:
    """A split run's operations: its parts' counts and times added up; `failed_in` broke."""
    ops = {}
    for kind in OPERATION_KINDS:
        reports = [p["ops"][kind] for p in parts.values() if kind in (p.get("ops") or {})]
        processed, failed = sum(op["processed"] for op in reports), sum(op["failed"] for op in reports)
        ops[kind] = Operation(kind, processed=processed, success=processed - failed, failed=failed,
                              seconds=sum(op["seconds"] for op in reports), broke=kind == failed_in)
    return ops


def write_logs(run: PipelineRun, ops: dict[str, Operation], *, table_name: str, status: str,
               error_message: Message | str = "", context: dict | None = None) -> None:
    """One processing_logs row per operation that ran. On a failure only the operation the error happened
    in is failed and carries the message (issue 16: every step repeated the run's error); one that finished
    its own work is completed. An error outside every operation belongs to loading when nothing was read
    (the source could not be opened) and to the export otherwise (the commit into the target)."""
    if status == ProcessingStatus.FAILED and not any(op.broke for op in ops.values()):
        blamed = OperationType.EXPORT if ops[OperationType.LOAD].processed else OperationType.LOAD
        ops[blamed].broke = True
    for kind, op in ops.items():
        own_status, own_error = status, error_message
        if status == ProcessingStatus.FAILED and not op.broke:
            if not op.processed:
                continue
            own_status, own_error = ProcessingStatus.COMPLETED, ""
        elif not op.processed and status == ProcessingStatus.COMPLETED:
            continue
        log = processing_log_start(table_name=table_name, operation_type=kind, pipeline_run_id=run.pk,
                                   context={"attempt": (run.execution_context or {}).get("attempt", 1),
                                            **(context or {})})
        processing_log_finish(log, status=own_status, records_processed=op.processed, records_success=op.success,
                              records_failed=op.failed, error_message=own_error,
                              processing_time_seconds=round(op.seconds, 3))
