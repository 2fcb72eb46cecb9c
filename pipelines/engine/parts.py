"""One large file split into parts that several Celery workers process at once, committed once.

With `"parallelism": {"parts": N}` a file run goes like this (docs/ENGINE.md has the why):

1. `split_start` (the run's own task): cuts the file into N byte ranges at row ends
   (sources.connectors.filesupport.splitting), checks the header (required columns, schema drift), creates
   the run's staging table, ClickHouse temporary table and, with `clean_duplicates`, a table of row keys;
   then sends one `pipelines.run_part` task per part. The run stays `running`.
2. `part_execute` (each part's task, on any worker): reads its range, numbers its rows as a one-part read
   would, stages, validates, transforms and appends to the run's temporary table. Its counts go to
   execution_context["parts"][i] under a lock on the run's row (services.run_part_report). A part that fails
   fails the whole run and drops the temporary tables: nothing reaches the target.
3. The part that finishes last sends `pipelines.run_split_commit` (a chord without a result backend: the
   counter is the run's row). `split_commit` removes repeated rows across parts, checks the counts,
   commits once (ATTACH PARTITION, exactly once as for any run) and runs the analysis.

`clean_duplicates` in a split run: the parts do not remove anything at that step; they record each row's
key (the 64-bit hash of its key columns, as the step computes it) with its row number in
`_keys_<table>_<run>`, and the commit deletes from the temporary table every row whose key appeared at a
smaller row number: the first occurrence stays, across all parts, exactly as in a one-part run. That is
exact only if no step after it removes rows, so such configurations (and the `unique` validation rule,
whose seen keys are per process) run as one part; the reason is kept in execution_context["split"].
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pyarrow as pa
from django.db import DatabaseError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target
from analytics.clickhouse.client import quote_identifier
from analytics.loading import ROW_NUMBER_COLUMN, TargetLoad
from etlsite.identifiers import sanitize_columns
from pipelines import services
from pipelines.config_schema import write_mode_of
from pipelines.engine.errors import RunError
from pipelines.engine.mapping import CONFIG_KEY as MAPPING_KEY
from pipelines.engine.mapping import column_mapping_apply, source_headers
from pipelines.engine.outcome import outcome_check
from pipelines.engine.overlap import StagingSink
from pipelines.inference import null_markers_apply, null_values_of
from pipelines.models import PipelineRun, RunStatus
from pipelines.transformations import TransformContext, get_step
from pipelines.transformations.keys import row_hashes
from pipelines.type_changes import load_begin
from pipelines.validation import ValidationRules, Validator, missing_required_columns
from pipelines.warnings import analysis_warnings
from sources.connectors.base import ConnectorError
from sources.connectors.filesupport.splitting import Part
from staging.models import FileStatus, OperationType, ProcessingStatus
from staging.quarantine import QuarantineStore
from staging.services import file_status_set
from staging.writer import StagingWriter

logger = logging.getLogger(__name__)

DEDUPE_STEP = "clean_duplicates"
# Steps that remove rows (they count them in ctx.removed): none may follow clean_duplicates in a split run.
REMOVING_STEPS = {"clean_duplicates", "validate_amounts", "filter"}
SAMPLE_ROWS = 1_000
KEY_COLUMN = "_key"


def configured_parts(config: dict) -> int:
    value = (config or {}).get("parallelism") or {}
    parts = value.get("parts", 1) if isinstance(value, dict) else 1
    return parts if isinstance(parts, int) and not isinstance(parts, bool) and parts > 1 else 1


def split_obstacle(config: dict) -> str:
    """Why this configuration cannot be split exactly ("" when it can)."""
    rules = (config or {}).get("validation_rules") or {}
    if rules.get("unique"):
        return _("the unique validation rule checks keys across the whole run")
    names = [entry if isinstance(entry, str) else entry.get("name") for entry in config.get("transformations", [])]
    if names.count(DEDUPE_STEP) > 1:
        return _("clean_duplicates is configured more than once")
    if DEDUPE_STEP in names:
        later = [name for name in names[names.index(DEDUPE_STEP) + 1:] if name in REMOVING_STEPS]
        if later:
            return _("%(step)s removes rows after clean_duplicates") % {"step": later[0]}
    return ""


def keys_table_name(table: str, run_id: int, attempt: int) -> str:
    return f"_keys_{table}_{int(run_id)}_a{int(attempt)}"[:200]


def split_load(target, *, table: str, run_id: int, attempt: int, batch_rows: int = 65_536,
               config: dict | None = None) -> TargetLoad:
    """The load of one attempt of a split run: its temporary table is `_load_<table>_<run>_a<attempt>`;
    `config` gives the write mode the commit applies."""
    from pipelines.engine.runner import INSERT_BATCHES

    write_mode, merge_key = write_mode_of(config)
    return TargetLoad(target, table=table, pipeline_run_id=run_id, insert_rows=INSERT_BATCHES * batch_rows,
                      temp_suffix=f"_a{int(attempt)}", write_mode=write_mode, merge_key=merge_key)


def _steps(config: dict) -> tuple[list, dict | None, list]:
    """(steps before clean_duplicates, its params or None, steps after it), each step a (step, params)."""
    before, dedupe, after = [], None, []
    for entry in config.get("transformations", []) or []:
        name, params = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("params", {}))
        if name == DEDUPE_STEP and dedupe is None:
            dedupe = get_step(name).resolve(params)
            continue
        (after if dedupe is not None else before).append((get_step(name), params))
    return before, dedupe, after


class PartFlow:
    """Stage, validate, transform and load the batches of one part (or of the sample that finds the schema)."""

    def __init__(self, *, run: PipelineRun, config: dict, ctx: dict, load: TargetLoad | None,
                 writer: StagingWriter | None, keys_table: str | None):
        self.run = run
        self.rules = ValidationRules.from_config(config)
        self.validator = Validator(self.rules)
        self.before, self.dedupe, self.after = _steps(config)
        self.transform_ctx = TransformContext()
        from pipelines.engine.references import reference_loader_for

        self.transform_ctx.reference_loader = reference_loader_for(config)
        self.drift = ctx.get("split", {}).get("drift") or {}
        self.load = load
        self.sink = StagingSink(writer) if writer is not None else None
        self.keys_table = keys_table
        self._keys: list[pa.Table] = []
        self.staging_table = writer.table_name if writer is not None else ""
        self.totals = {"rows_read": 0, "rows_quarantined": 0, "rows_loaded": 0, "keys": 0}
        self.ops = {kind: {"processed": 0, "failed": 0, "seconds": 0.0}
                    for kind in (OperationType.LOAD, OperationType.VALIDATE, OperationType.TRANSFORM,
                                 OperationType.EXPORT)}
        # The operation under way: a failure is that operation's (reading the next batch counts as loading).
        self.stage = OperationType.LOAD

    def process(self, batch: pa.RecordBatch) -> pa.Table:
        """One numbered batch through the run; returns what was loaded (or would be, without a load)."""
        self.totals["rows_read"] += batch.num_rows
        added = self.drift.get("added") or []
        checked = batch
        if self.drift.get("policy") == "quarantine" and added:
            from pipelines.engine.drift import quarantine_new_columns

            checked, entries, set_aside = quarantine_new_columns(batch, added)
            if entries and self.sink is not None:
                QuarantineStore().add(pipeline_run_id=self.run.pk, staging_table=self.staging_table, rows=entries)
            self.totals["rows_quarantined"] += set_aside
        started = time.perf_counter()
        if self.sink is not None:
            self.sink.put(batch)
        self._op(OperationType.LOAD, batch.num_rows, 0, started)
        self.stage = OperationType.VALIDATE
        started = time.perf_counter()
        outcome = self.validator.check(checked)
        if outcome.quarantined and self.sink is not None:
            QuarantineStore().add(pipeline_run_id=self.run.pk, staging_table=self.staging_table,
                                  rows=outcome.quarantined)
        self.totals["rows_quarantined"] += outcome.failed_rows
        self._op(OperationType.VALIDATE, checked.num_rows, outcome.failed_rows, started)
        self.stage = OperationType.TRANSFORM
        started = time.perf_counter()
        table = outcome.valid
        for step, params in self.before:
            table = step.apply(table, self.transform_ctx, params)
        if self.dedupe is not None:
            self._record_keys(table)
        for step, params in self.after:
            table = step.apply(table, self.transform_ctx, params)
        self._op(OperationType.TRANSFORM, outcome.valid.num_rows, 0, started)
        self.stage = OperationType.EXPORT
        if self.load is not None and table.num_rows:
            started = time.perf_counter()
            self.load.append(table)
            self.totals["rows_loaded"] += table.num_rows
            self._op(OperationType.EXPORT, table.num_rows, 0, started)
        self.stage = OperationType.LOAD
        return table

    def _record_keys(self, table: pa.Table) -> None:
        if self.keys_table is None or not table.num_rows:
            return
        columns = self.dedupe["columns"] or [c for c in table.column_names if c != ROW_NUMBER_COLUMN]
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise RunError(_("%(step)s: no column %(missing)s in the data.")
                           % {"step": DEDUPE_STEP, "missing": ", ".join(missing)})
        keys = pa.table({ROW_NUMBER_COLUMN: table.column(ROW_NUMBER_COLUMN),
                         KEY_COLUMN: pa.array(row_hashes(table, columns), pa.uint64())})
        self._keys.append(keys)
        self.totals["keys"] += keys.num_rows
        if sum(k.num_rows for k in self._keys) >= self.load.insert_rows:
            self._flush_keys()

    def _flush_keys(self) -> None:
        if self._keys:
            keys, self._keys = pa.concat_tables(self._keys), []
            self.load.target.insert_arrow(self.keys_table, keys)

    def _op(self, kind: str, processed: int, failed: int, started: float) -> None:
        op = self.ops[kind]
        op["processed"] += processed
        op["failed"] += failed
        op["seconds"] += time.perf_counter() - started

    def finish(self) -> None:
        if self.load is not None:
            self._flush_keys()
            self.load.flush()
        if self.sink is not None:
            self.sink.close()

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()
        if self.load is not None:
            self.load.flush()

    def removed(self) -> dict:
        return dict(self.transform_ctx.removed)


# --- 1. the coordinator --------------------------------------------------------------------------------

def split_start(*, run: PipelineRun, connector, plan, load: TargetLoad, staging_table: str,
                connection_config: dict, file_record, drift_check) -> PipelineRun:
    """Prepare the run's tables and send its parts; the run stays running (see the module's docstring)."""
    config = run.pipeline.configuration or {}
    attempt = run.retry_count + 1  # run_retry raises retry_count with the status, in one update: no gap
    load = split_load(load.target, table=load.table, run_id=run.pk, attempt=attempt, config=config)
    rules = ValidationRules.from_config(config)
    schema = connector.schema
    columns = column_mapping_apply(sanitize_columns(schema.names), config.get(MAPPING_KEY))
    services.run_progress(run=run, source_headers=source_headers(schema.names, columns))
    missing = missing_required_columns(rules, columns)
    if missing:
        raise RunError(_("The source lacks required columns: %(cols)s (it has: %(have)s).")
                       % {"cols": ", ".join(missing), "have": ", ".join(columns)})
    sample = _sample(connector, plan.parts[0], columns, null_values_of(config))
    drift = drift_check(run, sample.schema)
    writer = StagingWriter.create(table_name=staging_table, schema=sample.schema, pipeline_run_id=run.pk,
                                  source_type="csv", source_config=connection_config, expires_in=timedelta(days=7))
    ctx = {"split": {"drift": {"policy": drift["policy"], "added": drift["diff"]["added"]}}}
    flow = PartFlow(run=run, config=config, ctx=ctx, load=None, writer=None, keys_table=None)
    output = flow.process(sample)
    load_begin(load, output.schema, run=run)
    keys_table = None
    if flow.dedupe is not None:
        keys_table = keys_table_name(load.table, run.pk, attempt)
        load.target.command(f"DROP TABLE IF EXISTS {quote_identifier(keys_table)}")
        load.target.command(f"CREATE TABLE {quote_identifier(keys_table)} ({ROW_NUMBER_COLUMN} Int64, "
                            f"{KEY_COLUMN} UInt64) ENGINE = MergeTree ORDER BY ({KEY_COLUMN}, {ROW_NUMBER_COLUMN})")
    services.run_progress(
        run=run, step="load", parts={},
        split={"parts": len(plan.parts), "attempt": attempt, "ranges": [part.as_dict() for part in plan.parts],
               "staging_table": writer.table_name, "target_table": load.table, "keys_table": keys_table,
               "output_schema": [[f.name, str(f.type)] for f in output.schema],
               "drift": ctx["split"]["drift"], "source_columns": drift["source_columns"],
               "schema_diff": drift["diff"], "file_id": file_record.pk if file_record else None})
    from pipelines.tasks import run_parts_dispatch

    run_parts_dispatch(run=run, parts=len(plan.parts), attempt=attempt)
    return run


def _sample(connector, part: Part, columns: list[str], markers: tuple[str, ...]) -> pa.RecordBatch:
    """The first rows of the file, numbered: enough to know the staged and the loaded columns' types."""
    from pipelines.engine.runner import _numbered

    batches = connector.read_part(part, batch_rows=SAMPLE_ROWS)
    try:
        first = next(batches, None)
    finally:
        batches.close()
    if first is None:
        raise RunError(_("The source delivered no rows (an empty file, or a header without rows)."))
    first = null_markers_apply(first, markers)
    return _numbered(first.rename_columns(columns), first=1)


# --- 2. one part ---------------------------------------------------------------------------------------

def part_execute(*, run_id: int, index: int, attempt: int, batch_rows: int) -> str:
    """Process part `index` of a split run; the last part to finish sends the commit."""
    from pipelines.engine.runner import _connector_for, _numbered

    run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return f"run {run_id} is not running; part {index} skipped"
    ctx = run.execution_context or {}
    split = ctx.get("split") or {}
    if split.get("attempt") != attempt or run.retry_count + 1 != attempt:
        return f"run {run_id}: part {index} of attempt {attempt} is stale; skipped"
    part = Part.from_dict(split["ranges"][index])
    config = run.pipeline.configuration or {}
    load = split_load(get_target(), table=split["target_table"], run_id=run.pk, attempt=attempt,
                      batch_rows=batch_rows)
    flow = None
    try:
        services.run_part_report(run_id=run.pk, index=index, attempt=attempt, start=True, status="running")
        connection_config = dict(run.pipeline.data_source.connection_config or {})
        if ctx.get("file_path"):
            connection_config["file_path"] = ctx["file_path"]
        connector = _connector_for(run.pipeline.data_source, connection_config, run)
        columns = column_mapping_apply(sanitize_columns(connector.schema.names), config.get(MAPPING_KEY))
        load.resume(pa.schema([pa.field(name, pa.string()) for name, _type in split["output_schema"]]))
        flow = PartFlow(run=run, config=config, ctx=ctx, load=load,
                        writer=StagingWriter.open(table_name=split["staging_table"]), keys_table=split["keys_table"])
        last_report = time.monotonic()
        markers = null_values_of(config)
        for raw in connector.read_part(part, batch_rows=batch_rows):
            raw = null_markers_apply(raw, markers)
            batch = _numbered(raw.rename_columns(columns), first=part.rows_before + flow.totals["rows_read"] + 1)
            flow.process(batch)
            if time.monotonic() - last_report >= 1.0:
                last_report = time.monotonic()
                load.flush()
                services.run_part_report(run_id=run.pk, index=index, attempt=attempt, **flow.totals)
        flow.finish()
        ctx = services.run_part_report(run_id=run.pk, index=index, attempt=attempt, status="done",
                                       removed=flow.removed(), ops=flow.ops,
                                       lineage=[edge.as_dict() for edge in flow.transform_ctx.lineage],
                                       **flow.totals)
    except services.RunCancelled:
        if flow is not None:
            flow.abort()
        _drop_tables(load, split)
        return f"run {run_id}: no longer running; part {index} stopped"
    except services.PartStartedTwice:
        # Its rows may be in the temporary table already: loading them again could duplicate them, so the
        # attempt fails (transient: a retry starts the whole run afresh).
        _fail(run, load, split, _("Part %(part)d of %(parts)d was started twice (its worker was lost); the "
                                  "attempt is abandoned so that no row is loaded twice.")
              % {"part": index + 1, "parts": split["parts"]}, transient=True)
        return f"run {run_id}: part {index} failed"
    except (RunError, ConnectorError, ClickHouseError, ValueError, DatabaseError) as exc:
        if flow is not None:
            flow.abort()
        _fail(run, load, split, _("Part %(part)d of %(parts)d: %(error)s")
              % {"part": index + 1, "parts": split["parts"], "error": exc}, transient=_transient(exc),
              failed_in=flow.stage if flow is not None else None)
        return f"run {run_id}: part {index} failed"
    except Exception as exc:
        logger.exception("run %s part %s failed unexpectedly", run_id, index)
        if flow is not None:
            flow.abort()
        _fail(run, load, split, _("Internal error: %(error)s") % {"error": exc.__class__.__name__},
              transient=False)
        return f"run {run_id}: part {index} failed"
    parts = ctx.get("parts") or {}
    if len(parts) == split["parts"] and all(p.get("status") == "done" for p in parts.values()):
        from pipelines.tasks import run_split_commit_dispatch

        if services.run_split_commit_claim(run_id=run.pk):
            run_split_commit_dispatch(run=run)
    return f"run {run_id}: part {index} done"


def _transient(exc: Exception) -> bool:
    from pipelines.engine.runner import _is_transient

    return _is_transient(exc)


def drop_split_tables(load: TargetLoad) -> None:
    """Drop the temporary and keys tables of every split attempt of the run (after a failure or a death)."""
    prefixes = (f"_load_{load.table}_{load.run_id}_a", f"_keys_{load.table}_{load.run_id}_a")
    names = [name for (name,) in load.target.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND (startsWith(name, {p1:String}) "
        "OR startsWith(name, {p2:String}))", {"db": load.target.database, "p1": prefixes[0],
                                               "p2": prefixes[1]}).result_rows]
    for name in names:
        if name[len(prefixes[0]):].isdigit() or name[len(prefixes[1]):].isdigit():
            load.target.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


def _drop_tables(load: TargetLoad, split: dict) -> None:
    try:
        load.abort()
        if split.get("keys_table"):
            load.target.command(f"DROP TABLE IF EXISTS {quote_identifier(split['keys_table'])}")
    except ClickHouseError:
        logger.warning("run %s: could not drop its temporary tables", load.run_id, exc_info=True)


def _fail(run: PipelineRun, load: TargetLoad, split: dict, message: str, *, transient: bool,
          failed_in: str | None = None) -> None:
    from pipelines.engine.runner import file_for_run

    _drop_tables(load, split)
    run.refresh_from_db()
    if run.status != RunStatus.RUNNING or run.retry_count + 1 != split.get("attempt"):
        return  # already ended, or a later attempt runs now: a straggler of an earlier one must not touch it
    record = file_for_run(run)
    if record and record.status == FileStatus.PROCESSING:
        file_status_set(record, FileStatus.FAILED, error_message=message)
    services.run_fail(run=run, error_message=message, context={"transient": transient})
    _write_logs(run, split, status=ProcessingStatus.FAILED, error_message=message, failed_in=failed_in)


# --- 3. the commit -------------------------------------------------------------------------------------

def split_commit(*, run_id: int) -> PipelineRun | None:
    """Remove repeats across parts, reconcile, commit once, analyse; the run ends success or failed."""
    from pipelines.engine.analyze import run_analyze, run_validation_report
    from pipelines.engine.runner import MERGE_REPEATS, RunTotals, file_for_run, write_summary

    run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return run
    ctx = run.execution_context or {}
    split = ctx["split"]
    config = run.pipeline.configuration or {}
    load = split_load(get_target(), table=split["target_table"], run_id=run.pk, attempt=split["attempt"],
                      config=config)
    try:
        parts = [ctx["parts"][str(i)] for i in range(split["parts"])]
        totals = RunTotals(rows_read=sum(p["rows_read"] for p in parts),
                           rows_quarantined=sum(p["rows_quarantined"] for p in parts))
        for part in parts:
            for step, count in (part.get("removed") or {}).items():
                totals.removed[step] = totals.removed.get(step, 0) + count
        services.run_progress(run=run, step="commit", **totals.as_dict())
        if split.get("keys_table"):
            totals.removed[DEDUPE_STEP] = totals.removed.get(DEDUPE_STEP, 0) + _remove_repeats(load, split)
        repeats = load.repeats_remove()  # merge: the last row per key across all parts
        if repeats:
            totals.removed[MERGE_REPEATS] = repeats
        totals.rows_loaded = load.staged_count()
        try:
            warnings = outcome_check(run=run, rules=ValidationRules.from_config(config),
                                     rows_read=totals.rows_read, rows_loaded=totals.rows_loaded,
                                     rows_quarantined=totals.rows_quarantined,
                                     rows_removed=sum(totals.removed.values()))
        except RunError:
            run_validation_report(run=run, target=load.target, table=load.table, rows_read=totals.rows_read,
                                  source_columns=[name for name, _type in split["source_columns"]])
            raise
        if not totals.reconciles():
            raise RunError(
                _("Counts do not reconcile: read %(read)d != loaded %(loaded)d + quarantined %(q)d + removed "
                  "%(removed)d.") % {"read": totals.rows_read, "loaded": totals.rows_loaded,
                                      "q": totals.rows_quarantined, "removed": sum(totals.removed.values())})
        load.rows_appended = totals.rows_loaded
        committed = load.commit()
        if committed != totals.rows_loaded:
            raise RunError(_("ClickHouse holds %(have)d rows of this run, expected %(want)d.")
                           % {"have": committed, "want": totals.rows_loaded})
        if split.get("keys_table"):
            load.target.command(f"DROP TABLE IF EXISTS {quote_identifier(split['keys_table'])}")
        lineage = []
        for part in parts:
            lineage += [edge for edge in part.get("lineage", []) if edge not in lineage]
        services.run_progress(run=run, step="analyze", **totals.as_dict())
        results = run_analyze(run=run, target=load.target, table=load.table,
                              staging_table=split["staging_table"],
                              source_columns=[name for name, _type in split["source_columns"]], lineage=lineage,
                              schema_diff=split["schema_diff"], rows_read=totals.rows_read,
                              rows_loaded=totals.rows_loaded, warnings=warnings)
        warnings += analysis_warnings(results)
        staged = StagingWriter.open(table_name=split["staging_table"]).finish()
        record = file_for_run(run)
        if record:
            file_status_set(record, FileStatus.PROCESSED)
        _write_logs(run, split, status=ProcessingStatus.COMPLETED)
        return services.run_succeed(
            run=run, records_processed=totals.rows_read, records_failed=totals.rows_quarantined,
            context={**totals.as_dict(), "staging_table": staged.table_name, "target_table": load.table,
                     "source_columns": split["source_columns"], "schema_diff": split["schema_diff"],
                     "source_state": None, "lineage": lineage, "warnings": warnings,
                     "write": write_summary(load)})
    except services.RunCancelled:
        _drop_tables(load, split)
        run.refresh_from_db()
        return run
    except (RunError, ClickHouseError, ValueError, DatabaseError) as exc:
        from pipelines.engine.runner import _is_transient

        _fail(run, load, split, str(exc), transient=_is_transient(exc))
    except Exception as exc:
        logger.exception("run %s: the commit of its parts failed unexpectedly", run_id)
        _fail(run, load, split, _("Internal error: %(error)s") % {"error": exc.__class__.__name__}, transient=False)
    run.refresh_from_db()
    return run


def _remove_repeats(load: TargetLoad, split: dict) -> int:
    """Delete from the temporary table every row whose key appeared at a smaller row number; how many."""
    keys, temp = quote_identifier(split["keys_table"]), quote_identifier(load.temp_table)
    repeats = (f"SELECT {ROW_NUMBER_COLUMN} FROM {keys} WHERE ({KEY_COLUMN}, {ROW_NUMBER_COLUMN}) NOT IN "
               f"(SELECT {KEY_COLUMN}, min({ROW_NUMBER_COLUMN}) FROM {keys} GROUP BY {KEY_COLUMN})")
    count = int(load.target.command(f"SELECT count() FROM ({repeats})"))
    if count:
        load.target.command(f"ALTER TABLE {temp} DELETE WHERE {ROW_NUMBER_COLUMN} IN ({repeats}) "
                            "SETTINGS mutations_sync = 2")
    return count


def _write_logs(run: PipelineRun, split: dict, *, status: str, error_message: str = "",
                failed_in: str | None = None) -> None:
    """One processing_logs row per operation for the whole run (the parts' counts and times added up)."""
    from staging.services import processing_log_finish, processing_log_start

    run.refresh_from_db(fields=["execution_context"])
    parts = (run.execution_context or {}).get("parts") or {}
    kinds = (OperationType.LOAD, OperationType.VALIDATE, OperationType.TRANSFORM, OperationType.EXPORT)
    totals = {kind: [p["ops"][kind] for p in parts.values() if kind in (p.get("ops") or {})] for kind in kinds}
    # The failed operation carries the error (a part's stage when it broke); as in runner._write_logs, a
    # failure outside the operations belongs to the load when nothing was staged and to the export (the
    # commit) otherwise. The other operations did their part.
    blamed = failed_in or (OperationType.EXPORT if sum(op["processed"] for op in totals[OperationType.LOAD])
                           else OperationType.LOAD)
    for kind in kinds:
        ops = totals[kind]
        processed = sum(op["processed"] for op in ops)
        own_status, own_error = status, error_message
        if status == ProcessingStatus.FAILED and kind != blamed:
            if not processed:
                continue
            own_status, own_error = ProcessingStatus.COMPLETED, ""
        elif not processed and status == ProcessingStatus.COMPLETED:
            continue
        failed = sum(op["failed"] for op in ops)
        log = processing_log_start(table_name=split["staging_table"], operation_type=kind, pipeline_run_id=run.pk,
                                   context={"attempt": (run.execution_context or {}).get("attempt", 1),
                                            "parts": split["parts"]})
        processing_log_finish(log, status=own_status, records_processed=processed,
                              records_success=processed - failed, records_failed=failed, error_message=own_error,
                              processing_time_seconds=round(sum(op["seconds"] for op in ops), 3))
