"""One large file split into parts that several Celery workers process at once, committed once.

With `"parallelism": {"parts": N}` a file run goes like this (docs/ENGINE.md has the why):

1. `split_start` (the run's own task): cuts the file into N byte ranges at row ends
   (sources.connectors.filesupport.splitting), checks the header (required columns, schema drift), creates
   the run's staging table, ClickHouse temporary table and, with `clean_duplicates`, a table of row keys;
   then has the dispatcher send one task per part. The run stays `running`.
2. `part_execute` (each part's task, on any worker): reads its range, numbers its rows as a one-part read
   would and sends them through the run's batch flow (batches.BatchFlow: stage, validate, transform, append
   to the run's temporary table). Its counts go to execution_context["parts"][i] under a lock on the run's
   row (services.run_part_report). A part that fails fails the whole run and drops the temporary tables.
3. The part that finishes last has the dispatcher send the commit (a chord without a result backend: the
   counter is the run's row). `split_commit` ends the run as every run ends (finish.finish): removes
   repeated rows across parts, reconciles, commits once, analyses.

`clean_duplicates` in a split run: the parts do not remove anything at that step; they record each row's
key (batches.KeyRecorder) and the commit deletes every row whose key appeared at a smaller row number
(analytics.split_loading). That is exact only if no step after it removes rows, so such configurations (and
the `unique` validation rule, whose seen keys are per process) run as one part; the reason is kept in
execution_context["split"].
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pyarrow as pa
from django.db import DatabaseError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target
from analytics.loading import TargetLoad
from analytics.split_loading import key_repeats_remove, keys_table_create, keys_table_name, table_drop
from etlsite.identifiers import sanitize_columns
from etlsite.messages import Message, _msg, message_of
from pipelines import services
from pipelines.config import PipelineConfig
from pipelines.engine.batches import (
    DEDUPE_STEP,
    INSERT_BATCHES,
    BatchFlow,
    KeyRecorder,
    StagingStream,
    StepPlan,
    numbered,
)
from pipelines.engine.dispatch import Dispatcher
from pipelines.engine.errors import RunError
from pipelines.engine.finish import (
    RUN_ERRORS,
    Ending,
    file_failed,
    file_of_run,
    finish,
    is_transient,
    parts_operations,
    write_logs,
)
from pipelines.engine.mapping import column_mapping_apply, source_headers
from pipelines.engine.source import connector_for, drift_check, drift_progress
from pipelines.inference import null_markers_apply
from pipelines.models import PipelineRun, RunStatus
from pipelines.run_state import (
    RunTotals,
    SplitState,
    Step,
    attempt_of_retries,
    progress_write,
    split_state_of,
    split_write,
)
from pipelines.type_changes import load_begin
from pipelines.validation import missing_required_columns
from sources.connectors.filesupport.splitting import Part
from staging.models import OperationType, ProcessingStatus
from staging.writer import StagingWriter

logger = logging.getLogger(__name__)

# Steps that remove rows (they count them in ctx.removed): none may follow clean_duplicates in a split run.
REMOVING_STEPS = {"clean_duplicates", "validate_amounts", "filter"}
SAMPLE_ROWS = 1_000
REPORT_EVERY_SECONDS = 1.0


def split_obstacle(config: PipelineConfig) -> str:
    """Why this configuration cannot be split exactly ("" when it can)."""
    if config.validation_rules.get("unique"):
        return _("the unique validation rule checks keys across the whole run")
    names = [entry if isinstance(entry, str) else entry.get("name") for entry in config.transformations]
    if names.count(DEDUPE_STEP) > 1:
        return _("clean_duplicates is configured more than once")
    if DEDUPE_STEP in names:
        later = [name for name in names[names.index(DEDUPE_STEP) + 1:] if name in REMOVING_STEPS]
        if later:
            return _("%(step)s removes rows after clean_duplicates") % {"step": later[0]}
    return ""


def split_load(target, *, table: str, run_id: int, attempt: int, batch_rows: int = 65_536,
               config: PipelineConfig | None = None) -> TargetLoad:
    """The load of one attempt of a split run: its temporary table is `_load_<table>_<run>_a<attempt>`;
    `config` gives the write mode the commit applies (the parts only append: the default)."""
    config = config or PipelineConfig()
    return TargetLoad(target, table=table, pipeline_run_id=run_id, insert_rows=INSERT_BATCHES * batch_rows,
                      temp_suffix=f"_a{int(attempt)}", write_mode=config.write_mode, merge_key=config.merge_key)


def _flow(run: PipelineRun, config: PipelineConfig, drift: dict, **where) -> BatchFlow:
    """The batch flow of a split run: clean_duplicates set apart (its repeats go at the commit). `where`:
    its staging and load (BatchFlow's arguments)."""
    return BatchFlow(run=run, rules=config.rules, drift=drift,
                     steps=StepPlan.from_config(config, dedupe_apart=True),
                     transform_ctx=BatchFlow.transform_context(config), **where)


# --- 1. the coordinator --------------------------------------------------------------------------------

def split_start(*, run: PipelineRun, config: PipelineConfig, connector, plan, load: TargetLoad, staging_table: str,
                connection_config: dict, file_record, dispatcher: Dispatcher) -> PipelineRun:
    """Prepare the run's tables and send its parts; the run stays running (see the module's docstring)."""
    attempt = attempt_of_retries(run)
    load = split_load(load.target, table=load.table, run_id=run.pk, attempt=attempt, config=config)
    schema = connector.schema
    columns = column_mapping_apply(sanitize_columns(schema.names), config.column_mapping)
    progress_write(run, source_headers=source_headers(schema.names, columns))
    missing = missing_required_columns(config.rules, columns)
    if missing:
        raise RunError(_msg("The source lacks required columns: %(cols)s (it has: %(have)s).")
                       % {"cols": ", ".join(missing), "have": ", ".join(columns)})
    sample = _sample(connector, plan.parts[0], columns, config.null_values)
    drift = drift_check(run, sample.schema, policy=config.schema_policy)
    progress_write(run, step=Step.STAGE, **drift_progress(drift))
    writer = StagingWriter.create(table_name=staging_table, schema=sample.schema, pipeline_run_id=run.pk,
                                  source_type="csv", source_config=connection_config, expires_in=timedelta(days=7))
    kept = {"policy": drift["policy"], "added": drift["diff"]["added"]}
    # The sample goes through the flow without staging or loading: it gives the loaded columns' types.
    flow = _flow(run, config, kept, staging=None, staging_table="")
    output = flow.process(sample)
    load_begin(load, output.schema, run=run)
    keys_table = None
    if flow.steps.dedupe is not None:
        keys_table = keys_table_name(load.table, run.pk, attempt)
        keys_table_create(load.target, keys_table)
    split = SplitState(parts=len(plan.parts), attempt=attempt, ranges=[part.as_dict() for part in plan.parts],
                       staging_table=writer.table_name, target_table=load.table, keys_table=keys_table,
                       output_schema=[[f.name, str(f.type)] for f in output.schema], drift=kept,
                       source_columns=drift["source_columns"], schema_diff=drift["diff"],
                       file_id=file_record.pk if file_record else None)
    split_write(run, split, step=Step.LOAD, parts={})
    dispatcher.dispatch_parts(run=run, parts=len(plan.parts), attempt=attempt)
    return run


def _sample(connector, part: Part, columns: list[str], markers: tuple[str, ...]) -> pa.RecordBatch:
    """The first rows of the file, numbered: enough to know the staged and the loaded columns' types."""
    batches = connector.read_part(part, batch_rows=SAMPLE_ROWS)
    try:
        first = next(batches, None)
    finally:
        batches.close()
    if first is None:
        raise RunError(_msg("The source delivered no rows (an empty file, or a header without rows)."))
    first = null_markers_apply(first, markers)
    return numbered(first.rename_columns(columns), first=1)


# --- 2. one part ---------------------------------------------------------------------------------------

def part_execute(*, run_id: int, index: int, attempt: int, batch_rows: int, dispatcher: Dispatcher) -> str:
    """Process part `index` of a split run; the last part to finish has `dispatcher` send the commit."""
    run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return f"run {run_id} is not running; part {index} skipped"
    split = split_state_of(run)
    if split is None or split.attempt != attempt or attempt_of_retries(run) != attempt:
        return f"run {run_id}: part {index} of attempt {attempt} is stale; skipped"
    config = run.pipeline.config  # read once for this part
    load = split_load(get_target(), table=split.target_table, run_id=run.pk, attempt=attempt,
                      batch_rows=batch_rows)
    flow = None
    try:
        services.run_part_report(run_id=run.pk, index=index, attempt=attempt, start=True, status="running")
        connector, columns = _part_source(run, config)
        flow = _part_flow(run, config, split, load)
        totals = _part_read(run, config, split, index, flow, connector, columns, batch_rows)
        flow.finish()
        ctx = services.run_part_report(run_id=run.pk, index=index, attempt=attempt, status="done",
                                       removed=flow.removed(), ops=_ops_report(flow), lineage=flow.lineage(),
                                       **totals)
    except services.RunCancelled:
        _part_abort(flow, load)
        _drop_tables(load, split)
        return f"run {run_id}: no longer running; part {index} stopped"
    except services.PartStartedTwice:
        # Its rows may be in the temporary table already: loading them again could duplicate them, so the
        # attempt fails (transient: a retry starts the whole run afresh).
        _fail(run, load, split, _msg("Part %(part)d of %(parts)d was started twice (its worker was lost); the "
                                     "attempt is abandoned so that no row is loaded twice.")
              % {"part": index + 1, "parts": split.parts}, transient=True)
        return f"run {run_id}: part {index} failed"
    except RUN_ERRORS as exc:
        _part_abort(flow, load)
        # Outside an operation a part is between batches: reading the next one counts as loading.
        failed_in = (flow.failed_in() or OperationType.LOAD) if flow is not None else None
        _fail(run, load, split, _msg("Part %(part)d of %(parts)d: %(error)s")
              % {"part": index + 1, "parts": split.parts, "error": message_of(exc) or str(exc)},
              transient=is_transient(exc),
              failed_in=failed_in)
        return f"run {run_id}: part {index} failed"
    except Exception as exc:
        logger.exception("run %s part %s failed unexpectedly", run_id, index)
        _part_abort(flow, load)
        _fail(run, load, split, _msg("Internal error: %(error)s") % {"error": exc.__class__.__name__},
              transient=False)
        return f"run {run_id}: part {index} failed"
    parts = ctx.get("parts") or {}
    if len(parts) == split.parts and all(p.get("status") == "done" for p in parts.values()):
        if services.run_split_commit_claim(run_id=run.pk):
            dispatcher.dispatch_commit(run=run)
    return f"run {run_id}: part {index} done"


def _part_flow(run: PipelineRun, config: PipelineConfig, split: SplitState, load: TargetLoad) -> BatchFlow:
    """The part's flow into the run's staging table and temporary table (and keys table)."""
    load.resume(pa.schema([pa.field(name, pa.string()) for name, _type in split.output_schema]))
    keys = None
    flow_steps = StepPlan.from_config(config, dedupe_apart=True)
    if split.keys_table and flow_steps.dedupe is not None:
        keys = KeyRecorder(load=load, table=split.keys_table, params=flow_steps.dedupe)
    writer = StagingWriter.open(table_name=split.staging_table)
    return _flow(run, config, split.drift or {}, staging=StagingStream(writer=writer),
                 staging_table=writer.table_name, load=load, load_begun=True, keys=keys)


def _part_source(run: PipelineRun, config: PipelineConfig) -> tuple:
    """The run's file connector and its columns' names as the run loads them."""
    ctx = run.execution_context or {}
    connection_config = dict(run.pipeline.data_source.connection_config or {})
    if ctx.get("file_path"):
        connection_config["file_path"] = ctx["file_path"]
    connector, start = connector_for(run.pipeline.data_source, connection_config, run)
    if start:  # a file records nothing; kept so that every source's start is recorded the same way
        progress_write(run, **start)
    return connector, column_mapping_apply(sanitize_columns(connector.schema.names), config.column_mapping)


def _part_read(run: PipelineRun, config: PipelineConfig, split: SplitState, index: int, flow: BatchFlow,
               connector, columns: list[str], batch_rows: int) -> dict:
    """Read the part's byte range through the flow, reporting its counts every second; the last counts."""
    part = Part.from_dict(split.ranges[index])
    markers = config.null_values
    read, last_report = 0, time.monotonic()
    for raw in connector.read_part(part, batch_rows=batch_rows):
        raw = null_markers_apply(raw, markers)
        batch = numbered(raw.rename_columns(columns), first=part.rows_before + read + 1)
        read += batch.num_rows
        flow.process(batch)
        if time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
            last_report = time.monotonic()
            flow.load.flush()
            services.run_part_report(run_id=run.pk, index=index, attempt=split.attempt,
                                     **_counts(read, flow))
    return _counts(read, flow)


def _counts(read: int, flow: BatchFlow) -> dict:
    """A part's running counts (execution_context["parts"][i])."""
    return {"rows_read": read, "rows_quarantined": flow.totals.rows_quarantined, "rows_loaded": flow.loaded,
            "keys": flow.keys.count if flow.keys is not None else 0}


def _ops_report(flow: BatchFlow) -> dict:
    return {kind: op.part_report() for kind, op in flow.ops.items()}


def _part_abort(flow: BatchFlow | None, load: TargetLoad) -> None:
    if flow is not None:
        flow.abort()
        load.flush()


def _drop_tables(load: TargetLoad, split: SplitState) -> None:
    try:
        load.abort()
        if split.keys_table:
            table_drop(load.target, split.keys_table)
    except ClickHouseError:
        logger.warning("run %s: could not drop its temporary tables", load.run_id, exc_info=True)


def _fail(run: PipelineRun, load: TargetLoad, split: SplitState, message: Message | str, *, transient: bool,
          failed_in: str | None = None) -> None:
    _drop_tables(load, split)
    run.refresh_from_db()
    if run.status != RunStatus.RUNNING or attempt_of_retries(run) != split.attempt:
        return  # already ended, or a later attempt runs now: a straggler of an earlier one must not touch it
    file_failed(file_of_run(run), message)
    services.run_fail(run=run, error_message=message, context={"transient": transient})
    _write_logs(run, split, status=ProcessingStatus.FAILED, error_message=message, failed_in=failed_in)


def _write_logs(run: PipelineRun, split: SplitState, *, status: str, error_message: Message | str = "",
                failed_in: str | None = None) -> None:
    """One processing_logs row per operation for the whole run (the parts' counts and times added up)."""
    run.refresh_from_db(fields=["execution_context"])
    parts = (run.execution_context or {}).get("parts") or {}
    write_logs(run, parts_operations(parts, failed_in), table_name=split.staging_table, status=status,
               error_message=error_message, context={"parts": split.parts})


# --- 3. the commit -------------------------------------------------------------------------------------

def split_commit(*, run_id: int) -> PipelineRun | None:
    """Remove repeats across parts, reconcile, commit once, analyse; the run ends success or failed."""
    run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return run
    split = split_state_of(run)
    config = run.pipeline.config  # read once for the commit
    load = split_load(get_target(), table=split.target_table, run_id=run.pk, attempt=split.attempt,
                      config=config)
    try:
        return finish(_ending(run, split, load, config))
    except services.RunCancelled:
        _drop_tables(load, split)
        run.refresh_from_db()
        return run
    except (RunError, ClickHouseError, ValueError, DatabaseError) as exc:
        _fail(run, load, split, message_of(exc) or str(exc), transient=is_transient(exc))
    except Exception as exc:
        logger.exception("run %s: the commit of its parts failed unexpectedly", run_id)
        _fail(run, load, split, _msg("Internal error: %(error)s") % {"error": exc.__class__.__name__},
              transient=False)
    run.refresh_from_db()
    return run


def _ending(run: PipelineRun, split: SplitState, load: TargetLoad, config: PipelineConfig) -> Ending:
    """The parts' counts added up, and what the commit does besides a one-part run's."""
    parts = [run.execution_context["parts"][str(i)] for i in range(split.parts)]
    totals = RunTotals(rows_read=sum(p["rows_read"] for p in parts),
                       rows_quarantined=sum(p["rows_quarantined"] for p in parts))
    for part in parts:
        for step, count in (part.get("removed") or {}).items():
            totals.remove(step, count)
    lineage = []
    for part in parts:
        lineage += [edge for edge in part.get("lineage", []) if edge not in lineage]
    return Ending(
        run=run, load=load, totals=totals, config=config,
        staging_table=split.staging_table, source_columns=split.source_columns, schema_diff=split.schema_diff,
        lineage=lineage, file_record=file_of_run(run), appended_elsewhere=True,
        staging_finish=lambda: StagingWriter.open(table_name=split.staging_table).finish(),
        write_logs=lambda status: _write_logs(run, split, status=status),
        key_repeats_remove=(lambda: key_repeats_remove(load.target, keys_table=split.keys_table,
                                                       temp_table=load.temp_table)) if split.keys_table else None,
        after_commit=(lambda: table_drop(load.target, split.keys_table)) if split.keys_table else None)
