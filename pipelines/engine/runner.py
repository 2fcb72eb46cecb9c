"""One pipeline run, streamed batch by batch: extract -> stage -> validate -> transform -> load -> commit.

The orchestrator of a whole-source run (`run_execute`); a file run whose pipeline asks for parts is handed
to parts.py. The batch flow is batches.BatchFlow and the end is finish.finish, both shared with split runs.
Memory holds one batch at a time (plus the small per-run state of `unique` and `clean_duplicates`). Every
operation writes a processing_logs row; progress goes to pipeline_runs.execution_context as the run moves.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import pyarrow as pa
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target
from analytics.loading import TargetLoad
from analytics.split_loading import split_tables_drop
from etlsite.identifiers import sanitize_columns
from etlsite.messages import Message, _msg
from pipelines import services
from pipelines.config import PipelineConfig
from pipelines.engine.batches import (
    INSERT_BATCHES,
    BatchFlow,
    StagingStream,
    StepPlan,
    numbered,
    operations,
    read_timed,
)
from pipelines.engine.contract import contract_ensure
from pipelines.engine.dispatch import Dispatcher
from pipelines.engine.errors import RunError
from pipelines.engine.finish import (
    RUN_ERRORS,
    Ending,
    failure_of,
    file_failed,
    file_link_to_run,
    file_of_run,
    finish,
    write_logs,
    write_summary,
)
from pipelines.engine.mapping import column_mapping_apply, source_headers
from pipelines.engine.overlap import ReadAhead, can_overlap
from pipelines.engine.parts import split_obstacle, split_start
from pipelines.engine.repeats import FINGERPRINT_KEY, earlier_load, file_fingerprint, file_paths, loads_again
from pipelines.engine.source import connector_for, drift_check, drift_progress
from pipelines.inference import null_markers_apply
from pipelines.models import PipelineRun
from pipelines.run_state import RunTotals, Step, attempt_started, progress_write, split_declined_write
from pipelines.targets import (
    shared_write_mode_error,
    target_table_name,  # noqa: F401  (re-exported: see __all__)
)
from pipelines.validation import ValidationRules, missing_required_columns
from sources.secrets import mask_config
from sources.services import run_uploads_check
from staging.models import FileStatus, OperationType, ProcessingStatus, StagingTable
from staging.services import file_status_set
from staging.writer import StagingWriter, staging_table_drop

# Names pages, the API and tests have imported from here.
__all__ = ["run_abandoned_cleanup", "run_execute", "target_table_name", "write_summary"]

logger = logging.getLogger(__name__)

STAGING_SOURCE_TYPES = {"file": "csv", "database": "database", "api": "api"}
# Sources read incrementally: nothing new since the last run is a normal, successful, empty run.
EMPTY_READ_IS_NORMAL = {"kafka", "database", "api"}
PROGRESS_EVERY_SECONDS = 1.0


def run_execute(*, run: PipelineRun, batch_rows: int = 65_536, file_path: str | None = None,
                split: bool = True, dispatcher: Dispatcher | None = None) -> PipelineRun:
    """Execute a claimed (running) run to success or failure; never raises for a data or source problem.

    A file run whose pipeline asks for `"parallelism": {"parts": N}` is split (pipelines/engine/parts.py)
    when `split` is set and a `dispatcher` can send the parts' tasks; then this returns the run still
    running, and the parts' tasks finish it. Without a dispatcher (a run executed in the calling process,
    without workers) the file is read as one part.
    """
    return WholeRun(run, batch_rows=batch_rows, file_path=file_path).execute(dispatcher if split else None)


class WholeRun:
    """The state of one run read as a whole: its source, its load, its flow and its counts."""

    def __init__(self, run: PipelineRun, *, batch_rows: int, file_path: str | None):
        self.run = run
        self.batch_rows = batch_rows
        self.source = run.pipeline.data_source
        self.config: PipelineConfig = run.pipeline.config  # read once: every setting of the run comes from it
        self.attempt = attempt_started(run)
        self.connection_config = dict(self.source.connection_config or {})
        file_path = file_path or (run.execution_context or {}).get("file_path")
        self.file_record = file_link_to_run(run)
        if file_path:
            self.connection_config["file_path"] = file_path
        self.staging_table = f"stg_run_{run.pk}"
        self.totals = RunTotals()
        self.load = TargetLoad(get_target(), table=run.pipeline.target_table, pipeline_run_id=run.pk,
                               insert_rows=INSERT_BATCHES * batch_rows, write_mode=self.config.write_mode,
                               merge_key=self.config.merge_key)
        self.ops = operations()
        self.flow: BatchFlow | None = None
        self.started = time.monotonic()
        self._digest: Future | None = None  # the file's SHA-256, when it is taken beside the read

    def execute(self, dispatcher: Dispatcher | None) -> PipelineRun:
        """The run to its end; a failure is recorded, not raised (only an interruption is re-raised)."""
        run = self.run
        try:
            return self._execute(dispatcher)
        except RUN_ERRORS as exc:
            message, transient = failure_of(exc)
        except services.RunCancelled:
            self._cleanup()
            self._write_logs(ProcessingStatus.CANCELLED)
            run.refresh_from_db()
            return run
        except KeyboardInterrupt:
            # Ctrl+C or SIGTERM of `run_pipeline --sync`: nothing half-written stays, and the pipeline is free.
            self._cleanup()
            if self.file_record and self.file_record.status == FileStatus.PROCESSING:
                file_status_set(self.file_record, FileStatus.UPLOADED)
            self._write_logs(ProcessingStatus.CANCELLED)
            services.run_cancel(run=run, by=_("an interruption (Ctrl+C or SIGTERM)"))
            raise
        except SoftTimeLimitExceeded:
            message = (_msg("The run exceeded its timeout of %(seconds)d seconds.")
                       % {"seconds": run.pipeline.timeout_seconds})
            transient = False
        except Exception as exc:  # an unexpected bug still ends the run as failed with a message, logged in full
            logger.exception("pipeline run %s failed unexpectedly", run.pk)
            message = _msg("Internal error: %(error)s") % {"error": exc.__class__.__name__}
            transient = False
        self._cleanup()
        file_failed(self.file_record, message)
        self._write_logs(ProcessingStatus.FAILED, message)
        return services.run_fail(run=run, error_message=message,
                                 context={**self.totals.as_dict(), "transient": transient})

    def _execute(self, dispatcher: Dispatcher | None) -> PipelineRun:
        run, source = self.run, self.source
        progress_write(run, step=Step.EXTRACT, attempt=self.attempt)
        if not (run.execution_context or {}).get("file_path"):  # the run's own file was judged when it was chosen
            run_uploads_check(triggered_by=run.triggered_by, source=source, config=self.connection_config)
        self.load.check_target()  # before anything is read: a table no pipeline may load into is refused at once
        self._check_shared_target()
        connector, start = connector_for(source, self.connection_config, run)
        if start:
            progress_write(run, **start)
        if source.source_type == "file":
            earlier = self._fingerprint(connector)
            if earlier is not None:
                return earlier
        if self.file_record:
            file_status_set(self.file_record, FileStatus.PROCESSING)
        self.config = contract_ensure(pipeline=run.pipeline, config=self.config, connector=connector,
                                      target=self.load.target, table=self.load.table)
        if dispatcher is not None and source.source_type == "file" and self.config.parts > 1:
            obstacle = split_obstacle(self.config)
            plan = None if obstacle else connector.split_plan(self.config.parts)
            if plan is not None and plan.split:
                self._fingerprint_recorded()
                return split_start(run=run, config=self.config, connector=connector, plan=plan, load=self.load,
                                   staging_table=self.staging_table, connection_config=self.connection_config,
                                   file_record=self.file_record, dispatcher=dispatcher)
            split_declined_write(run, obstacle or plan.reason)
        rules = self.config.rules
        drift = self._read(connector, rules)
        self._fingerprint_recorded()
        if self.flow is None or self.flow.staging.writer is None:
            if source.source_type not in EMPTY_READ_IS_NORMAL:
                raise RunError(_msg("The source delivered no rows (an empty file, or a header without rows)."))
            self._write_logs(ProcessingStatus.COMPLETED)
            return services.run_succeed(run=run, records_processed=0, records_failed=0,
                                        context={**self.totals.as_dict(), "empty": True})
        return self._finish(connector, drift)

    def _check_shared_target(self) -> None:
        """Replace or merge would delete another pipeline's rows of a table both load: refused here too, for a
        pipeline saved before the rule (pipelines.targets) or another pipeline saved meanwhile."""
        problem = shared_write_mode_error(self.run.pipeline)
        if problem is not None:
            raise RunError(problem)

    def _fingerprint(self, connector) -> PipelineRun | None:
        """Record the file's SHA-256; a file loaded before ends the run as skipped (returned)."""
        # An upload's SHA-256 was taken when it arrived (file_metadata.file_hash): not read again here.
        record = self.file_record
        if record is not None and record.file_hash:
            fingerprint = record.file_hash
        elif loads_again(self.run):
            # Loaded whatever it holds: its digest is only recorded, for the runs after, so it is taken in a
            # thread beside the read (hashlib lets go of the GIL) and recorded before the commit.
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-digest")
            self._digest = executor.submit(file_fingerprint, file_paths(connector))
            executor.shutdown(wait=False)
            return None
        else:
            fingerprint = file_fingerprint(file_paths(connector))
        earlier = earlier_load(self.run, fingerprint)
        if earlier is not None:
            return services.run_skip(run=self.run, context={FINGERPRINT_KEY: fingerprint, "same_as_run": earlier.pk},
                                     message=_msg("This file was already loaded by run %(run)d (the same SHA-256); "
                                                  "nothing was loaded. Load it again to load a second copy.")
                                     % {"run": earlier.pk})
        progress_write(self.run, **{FINGERPRINT_KEY: fingerprint})
        return None

    def _fingerprint_recorded(self) -> None:
        """The digest taken beside the read (see _fingerprint), recorded once it is there."""
        if self._digest is not None:
            digest, self._digest = self._digest, None
            progress_write(self.run, **{FINGERPRINT_KEY: digest.result()})

    def _read(self, connector, rules: ValidationRules) -> dict | None:
        """Every batch of the source through the flow; the schema check's outcome (None: nothing read)."""
        markers = self.config.null_values
        self.load.send_in_background()  # ended by the commit (finish) or the abort (_cleanup)
        batches = connector.read_batches(batch_rows=self.batch_rows)
        # A file is read and parsed one batch ahead, in a thread, while this one is validated and loaded.
        ahead = (ReadAhead(batches, prepare=lambda raw: null_markers_apply(raw, markers))
                 if self.source.source_type == "file" and can_overlap() else None)
        try:
            return self._read_batches(ahead if ahead is not None else
                                      (null_markers_apply(raw, markers) for raw in batches), rules)
        finally:
            if ahead is not None:
                ahead.close()

    def _read_batches(self, batches, rules: ValidationRules) -> dict | None:
        raw_names: list[str] | None = None
        columns: list[str] = []
        drift: dict | None = None
        last_progress = 0.0
        for raw in read_timed(batches, self.ops[OperationType.LOAD]):
            if raw.schema.names != raw_names:  # the first batch, or a source whose schema grew
                columns = self._columns(raw.schema.names, rules, first=raw_names is None)
                raw_names = raw.schema.names
            batch = numbered(raw.rename_columns(columns), first=self.totals.rows_read + 1)
            self.totals.rows_read += batch.num_rows
            if drift is None:
                drift = drift_check(self.run, batch.schema, policy=self.config.schema_policy)
                progress_write(self.run, step=Step.STAGE, **drift_progress(drift))
                self.flow = self._flow(rules, drift)
            self.flow.process(batch)
            if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                last_progress = time.monotonic()
                self.load.flush(wait=True)  # what the progress calls loaded is in the temporary table
                progress_write(self.run, step=Step.LOAD, totals=self.totals)
        return drift

    def _columns(self, raw_names: list[str], rules: ValidationRules, *, first: bool) -> list[str]:
        """The columns' names as the run loads them (recorded with the source's); the first batch must
        have every required column."""
        columns = column_mapping_apply(sanitize_columns(raw_names), self.config.column_mapping)
        progress_write(self.run, source_headers=source_headers(raw_names, columns))
        if first:
            missing = missing_required_columns(rules, columns)
            if missing:
                raise RunError(_msg("The source lacks required columns: %(cols)s (it has: %(have)s).")
                               % {"cols": ", ".join(missing), "have": ", ".join(columns)})
        return columns

    def _flow(self, rules: ValidationRules, drift: dict) -> BatchFlow:
        """The run's batch flow; its staging table is created with the first batch's columns."""
        source = self.source

        def create(schema: pa.Schema) -> StagingWriter:
            return StagingWriter.create(
                table_name=self.staging_table, schema=schema, pipeline_run_id=self.run.pk,
                source_type=STAGING_SOURCE_TYPES.get(source.source_type, "csv"),
                source_config=mask_config(self.connection_config, source.source_type), expires_in=timedelta(days=7))

        flow = BatchFlow(run=self.run, rules=rules, steps=StepPlan.from_config(self.config, dedupe_apart=False),
                         transform_ctx=BatchFlow.transform_context(self.config),
                         drift={"policy": drift["policy"], "added": drift["diff"]["added"]},
                         staging=StagingStream(create=create), staging_table=self.staging_table, load=self.load,
                         totals=self.totals, ops=self.ops)  # the run's own: reading the source counts as loading
        return flow

    def _finish(self, connector, drift: dict) -> PipelineRun:
        self.load.flush()
        with self.ops[OperationType.LOAD].timed() as op:
            # Every batch staged before the commit: a staging error fails the run. The thread's own time
            # when it staged.
            op.seconds = max(op.seconds, self.flow.staging.close())
        self.totals.removed = self.flow.removed()
        return finish(Ending(
            run=self.run, load=self.load, totals=self.totals, config=self.config,
            staging_table=self.staging_table, source_columns=drift["source_columns"], schema_diff=drift["diff"],
            lineage=self.flow.lineage(), staging_finish=self.flow.staging.writer.finish, write_logs=self._write_logs,
            file_record=self.file_record, connector=connector, started=self.started))

    def _write_logs(self, status: str, error_message: Message | str = "") -> None:
        write_logs(self.run, self.ops, table_name=self.staging_table, status=status, error_message=error_message)

    def _cleanup(self) -> None:
        """Nothing of a failed or cancelled run stays half-written: not in ClickHouse, not in staging (a retry
        stages again from the source)."""
        staging = self.flow.staging if self.flow is not None else None
        if staging is not None:
            staging.abort()
        if staging is not None and staging.writer is not None:
            try:
                staging.writer.drop()
            except DatabaseError:
                logger.warning("could not drop the staging table %s", staging.writer.table_name, exc_info=True)
        try:
            self.load.abort()
            split_tables_drop(self.load)
        except ClickHouseError:
            logger.warning("could not drop the temporary load table %s", self.load.temp_table)


def run_abandoned_cleanup(*, run: PipelineRun) -> None:
    """What a run killed with its worker leaves behind: its temporary ClickHouse table, its file in
    "processing". Nothing of it reached the target (the commit is atomic), so this only tidies up."""
    try:
        load = TargetLoad(get_target(), table=run.pipeline.target_table, pipeline_run_id=run.pk)
        load.abort()
        split_tables_drop(load)
    except ClickHouseError:
        logger.warning("run %s: could not drop its temporary load table", run.pk, exc_info=True)
    for table in StagingTable.objects.filter(pipeline_run_id=run.pk, is_active=True):
        try:
            staging_table_drop(staging_table=table)  # its staged rows would otherwise wait 7 days to expire
        except DatabaseError:
            logger.warning("run %s: could not drop its staging table %s", run.pk, table.table_name, exc_info=True)
    file_failed(file_of_run(run), run.error_message)
