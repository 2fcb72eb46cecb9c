"""One pipeline run, streamed batch by batch: extract -> stage -> validate -> transform -> load -> commit.

Memory holds one batch at a time (plus the small per-run state of `unique` and `clean_duplicates`). Every
operation writes a processing_logs row; progress goes to pipeline_runs.execution_context as the run moves.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pyarrow as pa
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target
from analytics.loading import ROW_NUMBER_COLUMN, TargetLoad
from etlsite.identifiers import sanitize_columns
from pipelines import services
from pipelines.config_schema import write_mode_of
from pipelines.engine.analyze import run_analyze, run_validation_report
from pipelines.engine.contract import contract_ensure
from pipelines.engine.drift import baseline_columns, column_diff, is_empty, policy_apply, quarantine_new_columns
from pipelines.engine.drift import columns_of as drift_columns_of
from pipelines.engine.errors import RunError
from pipelines.engine.mapping import CONFIG_KEY as MAPPING_KEY
from pipelines.engine.mapping import column_mapping_apply, source_headers
from pipelines.engine.outcome import outcome_check
from pipelines.engine.overlap import StagingSink
from pipelines.engine.parts import (
    configured_parts,
    drop_split_tables,
    split_obstacle,
    split_start,
)
from pipelines.engine.references import reference_loader_for
from pipelines.engine.repeats import FINGERPRINT_KEY, earlier_load, file_fingerprint
from pipelines.inference import null_markers_apply, null_values_of
from pipelines.models import PipelineRun, RunStatus
from pipelines.targets import target_table_name  # noqa: F401 - where pages and the API have found it
from pipelines.transformations import TransformContext, get_step
from pipelines.type_changes import load_begin
from pipelines.validation import ValidationRules, Validator, missing_required_columns
from pipelines.warnings import analysis_warnings, encoding_warnings
from sources.connectors import connector_class, get_connector
from sources.connectors.base import ConnectorError
from sources.secrets import mask_config
from staging.models import FileMetadata, FileStatus, OperationType, ProcessingStatus, StagingTable
from staging.quarantine import QuarantineStore
from staging.services import file_status_set, processing_log_finish, processing_log_start
from staging.writer import StagingWriter, staging_table_drop

logger = logging.getLogger(__name__)

STAGING_SOURCE_TYPES = {"file": "csv", "database": "database", "api": "api"}
# Sources read incrementally: nothing new since the last run is a normal, successful, empty run.
EMPTY_READ_IS_NORMAL = {"kafka", "database", "api"}
PROGRESS_EVERY_SECONDS = 1.0
# Batches gathered into one ClickHouse INSERT (analytics.loading.INSERT_ROWS says why).
INSERT_BATCHES = 4
# rows_removed's name for the rows of a merge run whose key comes again later in the run (the last one stays).
MERGE_REPEATS = "merge_key_repeats"


@dataclass
class Operation:
    """Counts and time of one kind of operation over the whole run (one processing_logs row)."""

    kind: str
    processed: int = 0
    success: int = 0
    failed: int = 0
    seconds: float = 0.0
    # The run's error happened inside this operation: its log row carries the error, the others only theirs.
    broke: bool = False

    def timed(self):
        return _Timer(self)


class _Timer:
    def __init__(self, op: Operation):
        self.op = op

    def __enter__(self):
        self.start = time.perf_counter()
        return self.op

    def __exit__(self, exc_type, *exc):
        self.op.seconds += time.perf_counter() - self.start
        if exc_type is not None and exc_type is not StopIteration:
            self.op.broke = True


def _read_timed(batches, op: Operation):
    """The source's batches, each read timed as part of `op` (loading into staging), so a read error is
    that operation's error."""
    iterator = iter(batches)
    while True:
        with op.timed():
            try:
                batch = next(iterator)
            except StopIteration:
                return
        yield batch


@dataclass
class RunTotals:
    rows_read: int = 0
    rows_quarantined: int = 0
    rows_loaded: int = 0
    removed: dict[str, int] = field(default_factory=dict)

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + sum(self.removed.values())

    def as_dict(self) -> dict:
        return {"rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
                "rows_quarantined": self.rows_quarantined, "rows_removed": dict(self.removed)}


def run_execute(*, run: PipelineRun, batch_rows: int = 65_536, file_path: str | None = None,
                split: bool = True) -> PipelineRun:
    """Execute a claimed (running) run to success or failure; never raises for a data or source problem.

    A file run whose pipeline asks for `"parallelism": {"parts": N}` is split (pipelines/engine/parts.py)
    unless `split` is False (a run executed in the calling process, without workers): then this returns
    the run still running, and the parts' tasks finish it.
    """
    pipeline = run.pipeline
    source = pipeline.data_source
    config = pipeline.configuration or {}
    attempt = int((run.execution_context or {}).get("attempt", 0)) + 1
    connection_config = dict(source.connection_config or {})
    file_path = file_path or (run.execution_context or {}).get("file_path")
    file_record = file_for_run(run)
    if file_path:
        connection_config["file_path"] = file_path

    staging_table = f"stg_run_{run.pk}"
    ops = {kind: Operation(kind) for kind in (OperationType.LOAD, OperationType.VALIDATE, OperationType.TRANSFORM,
                                             OperationType.EXPORT)}
    totals = RunTotals()
    write_mode, merge_key = write_mode_of(config)
    load = TargetLoad(get_target(), table=target_table_name(pipeline), pipeline_run_id=run.pk,
                      insert_rows=INSERT_BATCHES * batch_rows, write_mode=write_mode, merge_key=merge_key)
    writer: StagingWriter | None = None
    sink: StagingSink | None = None
    started = time.monotonic()
    try:
        services.run_progress(run=run, step="extract", attempt=attempt)
        load.check_target()  # before anything is read: a table no pipeline may load into is refused at once
        connector = _connector_for(source, connection_config, run)
        if source.source_type == "file":
            # An upload's SHA-256 was taken when it arrived (file_metadata.file_hash): not read again here.
            fingerprint = (file_record.file_hash if file_record is not None and file_record.file_hash
                           else file_fingerprint(connector))
            earlier = earlier_load(run, fingerprint)
            if earlier is not None:
                return services.run_skip(run=run, context={FINGERPRINT_KEY: fingerprint, "same_as_run": earlier.pk},
                                         message=_("This file was already loaded by run %(run)d (the same SHA-256); "
                                                   "nothing was loaded. Load it again to load a second copy.")
                                         % {"run": earlier.pk})
            services.run_progress(run=run, **{FINGERPRINT_KEY: fingerprint})
        if file_record:
            file_status_set(file_record, FileStatus.PROCESSING)
        config = contract_ensure(pipeline=pipeline, connector=connector, target=load.target, table=load.table)
        markers = null_values_of(config)
        if split and source.source_type == "file" and configured_parts(config) > 1:
            obstacle = split_obstacle(config)
            plan = None if obstacle else connector.split_plan(configured_parts(config))
            if plan is not None and plan.split:
                return split_start(run=run, connector=connector, plan=plan, load=load, staging_table=staging_table,
                                   connection_config=connection_config, file_record=file_record,
                                   drift_check=_drift_check)
            services.run_progress(run=run, split={"parts": 1, "reason": obstacle or plan.reason})
        rules = ValidationRules.from_config(config)
        validator = Validator(rules)
        steps = _resolve_steps(config)
        ctx = TransformContext(reference_loader=reference_loader_for(config))
        columns: list[str] | None = None
        raw_names: list[str] | None = None
        drift: dict | None = None
        load_started = False
        last_progress = 0.0
        for raw in _read_timed(connector.read_batches(batch_rows=batch_rows), ops[OperationType.LOAD]):
            raw = null_markers_apply(raw, markers)
            if raw.schema.names != raw_names:  # the first batch, or a source whose schema grew
                first = raw_names is None
                raw_names = raw.schema.names
                columns = column_mapping_apply(sanitize_columns(raw_names), config.get(MAPPING_KEY))
                services.run_progress(run=run, source_headers=source_headers(raw_names, columns))
            else:
                first = False
            if first:
                missing = missing_required_columns(rules, columns)
                if missing:
                    raise RunError(_("The source lacks required columns: %(cols)s (it has: %(have)s).")
                                   % {"cols": ", ".join(missing), "have": ", ".join(columns)})
            batch = _numbered(raw.rename_columns(columns), first=totals.rows_read + 1)
            totals.rows_read += batch.num_rows
            if drift is None:
                drift = _drift_check(run, batch.schema)
            if drift["policy"] == "quarantine" and drift["diff"]["added"]:
                batch_for_checks, entries, set_aside = quarantine_new_columns(batch, drift["diff"]["added"])
                if entries:
                    QuarantineStore().add(pipeline_run_id=run.pk, staging_table=staging_table, rows=entries)
                totals.rows_quarantined += set_aside
            else:
                batch_for_checks = batch
            with ops[OperationType.LOAD].timed() as op:
                if writer is None:
                    writer = StagingWriter.create(
                        table_name=staging_table, schema=batch.schema, pipeline_run_id=run.pk,
                        source_type=STAGING_SOURCE_TYPES.get(source.source_type, "csv"),
                        source_config=mask_config(connection_config, source.source_type),
                        expires_in=timedelta(days=7))
                    sink = StagingSink(writer)
                elif len(batch.schema) > len(writer.schema):
                    sink.close()  # the batches staged so far get the new columns' NULLs
                    writer.add_columns(batch.schema)
                    sink = StagingSink(writer)
                sink.put(batch)
                op.processed += batch.num_rows
                op.success += batch.num_rows
            with ops[OperationType.VALIDATE].timed() as op:
                outcome = validator.check(batch_for_checks)
                if outcome.quarantined:
                    QuarantineStore().add(pipeline_run_id=run.pk, staging_table=staging_table,
                                          rows=outcome.quarantined)
                op.processed += batch_for_checks.num_rows
                op.failed += outcome.failed_rows
                op.success += batch_for_checks.num_rows - outcome.failed_rows
                totals.rows_quarantined += outcome.failed_rows
            with ops[OperationType.TRANSFORM].timed() as op:
                table = outcome.valid
                for step, params in steps:
                    table = step.apply(table, ctx, params)
                op.processed += outcome.valid.num_rows
                op.success += table.num_rows
            with ops[OperationType.EXPORT].timed() as op:
                if not load_started:
                    load_begin(load, table.schema, run=run)
                    load_started = True
                else:
                    load.extend(table.schema)
                load.append(table)
                op.processed += table.num_rows
                op.success += table.num_rows
            if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                last_progress = time.monotonic()
                load.flush()  # what the progress calls loaded is in the temporary table
                services.run_progress(run=run, step="load", **totals.as_dict())
        if writer is None:
            if source.source_type not in EMPTY_READ_IS_NORMAL:
                raise RunError(_("The source delivered no rows (an empty file, or a header without rows)."))
            _write_logs(ops, staging_table, run, status=ProcessingStatus.COMPLETED)
            return services.run_succeed(run=run, records_processed=0, records_failed=0,
                                        context={**totals.as_dict(), "empty": True})

        load.flush()
        with ops[OperationType.LOAD].timed() as op:
            sink.close()  # every batch staged before the commit: a staging error fails the run
            op.seconds = max(op.seconds, sink.seconds)  # the thread's own time, when it staged
        services.run_progress(run=run, step="commit", **totals.as_dict())
        totals.removed = dict(ctx.removed)
        repeats = load.repeats_remove()
        if repeats:
            totals.removed[MERGE_REPEATS] = repeats
        totals.rows_loaded = load.staged_count()
        try:
            warnings = outcome_check(run=run, rules=rules, rows_read=totals.rows_read,
                                     rows_loaded=totals.rows_loaded, rows_quarantined=totals.rows_quarantined,
                                     rows_removed=sum(totals.removed.values()))
        except RunError:
            run_validation_report(run=run, target=load.target, table=load.table, rows_read=totals.rows_read,
                                  source_columns=[name for name, _type in drift["source_columns"]])
            raise
        warnings += encoding_warnings(connector)
        if not totals.reconciles():
            raise RunError(
                _("Counts do not reconcile: read %(read)d != loaded %(loaded)d + quarantined %(q)d + removed "
                  "%(removed)d.") % {"read": totals.rows_read, "loaded": totals.rows_loaded,
                                      "q": totals.rows_quarantined, "removed": sum(totals.removed.values())})
        committed = load.commit()
        if committed != totals.rows_loaded:
            raise RunError(_("ClickHouse holds %(have)d rows of this run, expected %(want)d.")
                           % {"have": committed, "want": totals.rows_loaded})
        _acknowledge_source(connector, run)
        source_state = connector.new_state() if getattr(connector, "supports_state", False) else None
        services.run_progress(run=run, step="analyze", **totals.as_dict())
        results = run_analyze(run=run, target=load.target, table=load.table, staging_table=staging_table,
                              source_columns=[name for name, _type in drift["source_columns"]],
                              lineage=[edge.as_dict() for edge in ctx.lineage], schema_diff=drift["diff"],
                              rows_read=totals.rows_read, rows_loaded=totals.rows_loaded, warnings=warnings)
        warnings += analysis_warnings(results)
        staged = writer.finish()
        if file_record:
            file_status_set(file_record, FileStatus.PROCESSED)
        _write_logs(ops, staging_table, run, status=ProcessingStatus.COMPLETED)
        return services.run_succeed(
            run=run, records_processed=totals.rows_read, records_failed=totals.rows_quarantined,
            context={**totals.as_dict(), "staging_table": staged.table_name, "target_table": load.table,
                     "source_columns": drift["source_columns"], "schema_diff": drift["diff"],
                     "source_state": source_state,
                     "lineage": [edge.as_dict() for edge in ctx.lineage], "warnings": warnings,
                     "write": write_summary(load), "seconds": round(time.monotonic() - started, 3)})
    except (RunError, ConnectorError, ClickHouseError, ValueError, DatabaseError) as exc:
        message = str(exc)
        transient = _is_transient(exc)
        if isinstance(exc, (OperationalError, InterfaceError)):
            # A database server restarted or the link broke: reconnect before recording the failure.
            _drop_broken_connections()
            message = _("A database connection was lost (the server restarted or the network failed): "
                        "%(error)s") % {"error": (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]}
    except services.RunCancelled:
        _cleanup_after_failure(load, sink, writer)
        _write_logs(ops, staging_table, run, status=ProcessingStatus.CANCELLED)
        run.refresh_from_db()
        return run
    except KeyboardInterrupt:
        # Ctrl+C or SIGTERM of `run_pipeline --sync`: nothing half-written stays, and the pipeline is free again.
        _cleanup_after_failure(load, sink, writer)
        if file_record and file_record.status == FileStatus.PROCESSING:
            file_status_set(file_record, FileStatus.UPLOADED)
        _write_logs(ops, staging_table, run, status=ProcessingStatus.CANCELLED)
        services.run_cancel(run=run, by=_("an interruption (Ctrl+C or SIGTERM)"))
        raise
    except SoftTimeLimitExceeded:
        message = _("The run exceeded its timeout of %(seconds)d seconds.") % {"seconds": pipeline.timeout_seconds}
        transient = False
    except Exception as exc:  # an unexpected bug still ends the run as failed with a message, logged in full
        logger.exception("pipeline run %s failed unexpectedly", run.pk)
        message = _("Internal error: %(error)s") % {"error": exc.__class__.__name__}
        transient = False
    _cleanup_after_failure(load, sink, writer)
    if file_record and file_record.status == FileStatus.PROCESSING:
        file_status_set(file_record, FileStatus.FAILED, error_message=message)
    _write_logs(ops, staging_table, run, status=ProcessingStatus.FAILED, error_message=message)
    return services.run_fail(run=run, error_message=message, context={**totals.as_dict(), "transient": transient})


def _is_transient(exc: Exception) -> bool:
    """Worth retrying: the network or a server failed, not the data or the configuration."""
    if isinstance(exc, ConnectorError):
        return not exc.permanent
    if isinstance(exc, ClickHouseError):
        return exc.transient
    return isinstance(exc, (OperationalError, InterfaceError))


def _connector_for(source, connection_config: dict, run: PipelineRun):
    """The source's connector; an incremental one starts where the last successful run stopped.

    The position is saved with a run only after its load committed, so a failed run is read again.
    """
    cls = connector_class(source.source_type)
    if not getattr(cls, "supports_state", False):
        return get_connector(source.source_type, connection_config)
    errors = cls.config_errors(connection_config)
    if errors:
        raise ConnectorError("; ".join(errors), permanent=True)
    previous = (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__lt=run.pk)
                .order_by("-pk").values_list("execution_context", flat=True).first()) or {}
    state = previous.get("source_state")
    services.run_progress(run=run, source_state_in=state)
    return cls(connection_config, state=state)


def run_abandoned_cleanup(*, run: PipelineRun) -> None:
    """What a run killed with its worker leaves behind: its temporary ClickHouse table, its file in
    "processing". Nothing of it reached the target (the commit is atomic), so this only tidies up."""
    try:
        load = TargetLoad(get_target(), table=target_table_name(run.pipeline), pipeline_run_id=run.pk)
        load.abort()
        drop_split_tables(load)
    except ClickHouseError:
        logger.warning("run %s: could not drop its temporary load table", run.pk, exc_info=True)
    for table in StagingTable.objects.filter(pipeline_run_id=run.pk, is_active=True):
        try:
            staging_table_drop(staging_table=table)  # its staged rows would otherwise wait 7 days to expire
        except DatabaseError:
            logger.warning("run %s: could not drop its staging table %s", run.pk, table.table_name, exc_info=True)
    file_id = (run.execution_context or {}).get("file_id")
    record = FileMetadata.objects.filter(pk=file_id).first() if file_id else None
    if record and record.status == FileStatus.PROCESSING:
        file_status_set(record, FileStatus.FAILED, error_message=run.error_message)


def _acknowledge_source(connector, run: PipelineRun) -> None:
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


def file_for_run(run: PipelineRun) -> FileMetadata | None:
    """The uploaded file this run reads, linked to the run (file_metadata.pipeline_run_id)."""
    file_id = (run.execution_context or {}).get("file_id")
    if not file_id:
        return None
    FileMetadata.objects.filter(pk=file_id).update(pipeline_run_id=run.pk)
    return FileMetadata.objects.filter(pk=file_id).first()


def _drift_check(run: PipelineRun, schema: pa.Schema) -> dict:
    """Compare the source's columns with the last successful run's and apply the schema policy."""
    source_columns = drift_columns_of(schema)
    baseline = baseline_columns(run.pipeline, before_run=run.pk)
    diff = column_diff(baseline, source_columns) if baseline is not None else column_diff(source_columns,
                                                                                          source_columns)
    policy = "evolve" if is_empty(diff) else policy_apply(pipeline=run.pipeline, run=run, diff=diff)
    services.run_progress(run=run, step="stage", source_columns=source_columns, schema_diff=diff)
    return {"source_columns": source_columns, "diff": diff, "policy": policy}


def write_summary(load: TargetLoad) -> dict:
    """What the commit did to the rows already there (execution_context["write"]; the run page, the API)."""
    summary = {"mode": load.write_mode, "rows_replaced": load.rows_replaced}
    if load.merge_key:
        summary["merge_key"] = list(load.merge_key)
    return summary


def _numbered(batch: pa.RecordBatch, *, first: int) -> pa.RecordBatch:
    numbers = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
    if ROW_NUMBER_COLUMN in batch.schema.names:
        batch = batch.drop_columns([ROW_NUMBER_COLUMN])
    return pa.RecordBatch.from_arrays([numbers, *batch.columns], names=[ROW_NUMBER_COLUMN, *batch.schema.names])


def _resolve_steps(config: dict) -> list[tuple]:
    steps = []
    for entry in config.get("transformations", []) or []:
        name, params = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("params", {}))
        steps.append((get_step(name), params))
    return steps


def _drop_broken_connections() -> None:
    """Close this thread's database connections that no longer answer (all of them die when a server
    restarts, not only the one that failed), so the next query reconnects. Django does this only between
    requests; a worker's task is not one."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


def _cleanup_after_failure(load: TargetLoad, sink: StagingSink | None, writer: StagingWriter | None) -> None:
    """Nothing of a failed or cancelled run stays half-written: not in ClickHouse, not in staging (a retry
    stages again from the source)."""
    if sink is not None:
        sink.abort()
    if writer is not None:
        try:
            writer.drop()
        except DatabaseError:
            logger.warning("could not drop the staging table %s", writer.table_name, exc_info=True)
    try:
        load.abort()
        drop_split_tables(load)
    except ClickHouseError:
        logger.warning("could not drop the temporary load table %s", load.temp_table)


def _write_logs(ops: dict, table_name: str, run: PipelineRun, *, status: str, error_message: str = "") -> None:
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
                                   context={"attempt": (run.execution_context or {}).get("attempt", 1)})
        processing_log_finish(log, status=own_status, records_processed=op.processed, records_success=op.success,
                              records_failed=op.failed, error_message=own_error,
                              processing_time_seconds=round(op.seconds, 3))
