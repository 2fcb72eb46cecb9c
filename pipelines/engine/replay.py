"""Replay corrected quarantined rows of a run into its target, without re-reading the source.

The row is rebuilt from the run's staging table (its raw values), the corrections replace the values they
name, and the row goes through the pipeline's validation and transformations again before a load that
replaces just these rows of the run (so replaying twice leaves one copy). Rows that still fail stay in the
quarantine with the new reason; the run's counts move so that read = loaded + quarantined + removed holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.db.models import F

from analytics.clickhouse import get_target
from analytics.loading import ROW_NUMBER_COLUMN, TargetLoad
from etlsite.messages import _msg
from pipelines.engine.errors import RunError
from pipelines.engine.references import reference_loader_for
from pipelines.models import PipelineRun, RunStatus
from pipelines.transformations import TransformContext, get_step
from pipelines.type_changes import load_begin
from pipelines.validation import Validator
from staging.quarantine import QuarantinedRow, QuarantineStatus, QuarantineStore
from staging.writer import StagingWriter


@dataclass
class ReplayResult:
    replayed: int
    still_failing: int
    removed: int


def _replayable(run_id: int) -> dict[int, dict[str, str | None]]:
    """row_number -> {column: corrected value}, for rows whose every open entry was corrected or dismissed."""
    entries = QuarantinedRow.objects.filter(pipeline_run_id=run_id, status__in=[
        QuarantineStatus.OPEN, QuarantineStatus.CORRECTED])
    rows: dict[int, dict[str, str | None]] = {}
    blocked: set[int] = set()
    for entry in entries:
        if entry.status == QuarantineStatus.OPEN:
            blocked.add(entry.row_number)
        elif entry.column_name:
            rows.setdefault(entry.row_number, {})[entry.column_name] = entry.corrected_value
    return {n: fixes for n, fixes in rows.items() if n not in blocked}


def _staged_rows(table_name: str, numbers: list[int]) -> pa.Table:
    wanted = pa.array(numbers, pa.int64())
    parts = [batch.filter(pc.is_in(batch.column(ROW_NUMBER_COLUMN), value_set=wanted))
             for batch in StagingWriter.open(table_name=table_name).read_batches()]
    return pa.Table.from_batches([p for p in parts if p.num_rows]) if any(p.num_rows for p in parts) else None


def _apply_fixes(table: pa.Table, fixes: dict[int, dict[str, str | None]]) -> pa.Table:
    numbers = table.column(ROW_NUMBER_COLUMN).to_pylist()
    for name in {c for f in fixes.values() for c in f}:
        if name not in table.schema.names:
            continue
        index = table.schema.get_field_index(name)
        values = table.column(name).to_pylist()
        patched = [fixes.get(n, {}).get(name, v) if name in fixes.get(n, {}) else v
                   for n, v in zip(numbers, values, strict=True)]
        table = table.set_column(index, name, pa.array(patched, table.schema.field(name).type))
    return table


def quarantine_replay(*, run: PipelineRun) -> ReplayResult:
    if run.status != RunStatus.SUCCESS:
        raise RunError(_msg("Only rows of a successful run can be replayed; fix the run first."))
    ctx = run.execution_context or {}
    _write_mode_check(run)
    fixes = _replayable(run.pk)
    if not fixes:
        return ReplayResult(0, 0, 0)
    staged = _staged_rows(ctx["staging_table"], sorted(fixes))
    if staged is None:
        raise RunError(_msg("The run's staging table no longer holds these rows (it may have expired)."))
    staged = _apply_fixes(staged, fixes)
    config = run.pipeline.config
    outcome = Validator(config.rules).check(staged)
    table = outcome.valid
    context = TransformContext(reference_loader=reference_loader_for(config.references))
    for entry in config.transformations:
        name, params = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("params", {}))
        table = get_step(name).apply(table, context, params)
    passed = set(outcome.valid.column(ROW_NUMBER_COLUMN).to_pylist())
    load = TargetLoad(get_target(), table=ctx["target_table"], pipeline_run_id=run.pk, replace_rows=sorted(passed))
    load_begin(load, table.schema, run=run)  # a type conflict: a RunError naming the migration, not a 500
    load.append(table)
    loaded = load.commit()
    removed = len(passed) - loaded
    failing = [n for n in fixes if n not in passed]
    with transaction.atomic(using="staging"):
        QuarantinedRow.objects.filter(pipeline_run_id=run.pk, row_number__in=passed).exclude(
            status=QuarantineStatus.DISMISSED).update(status=QuarantineStatus.REPLAYED)
        if outcome.quarantined:
            # Still failing: the corrections stay visible beside the new reasons, all open again.
            QuarantinedRow.objects.filter(pipeline_run_id=run.pk, row_number__in=failing,
                                          status=QuarantineStatus.CORRECTED).update(status=QuarantineStatus.OPEN)
            QuarantineStore().add(pipeline_run_id=run.pk, staging_table=ctx["staging_table"],
                                  rows=outcome.quarantined)
    _counts_move(run, replayed=len(passed), loaded=loaded, removed=removed)
    return ReplayResult(replayed=loaded, still_failing=len(failing), removed=removed)


def _write_mode_check(run: PipelineRun) -> None:
    """A replay adds rows to its run. After a replace that is right only while the run's rows are the table's
    content (no later run replaced them); under merge a replayed row could bring back an old version of a key
    or repeat one of the run's keys, so corrections go through a new load of the source instead."""
    mode = ((run.execution_context or {}).get("write") or {}).get("mode", "append")
    if mode == "merge":
        raise RunError(_msg("Rows of a run that merged on a key cannot be replayed (a replayed row could bring back "
                            "an old version of its key); correct the source and load it again."))
    if mode == "replace":
        later = (PipelineRun.objects.filter(pipeline_id=run.pipeline_id, status=RunStatus.SUCCESS, pk__gt=run.pk)
                 .order_by("pk").values_list("pk", flat=True).first())
        if later is not None:
            raise RunError(_msg("Run %(later)d replaced the table's content after this run; replaying this run's rows "
                                "would mix the two. Correct the source and load it again.") % {"later": later})


def _counts_move(run: PipelineRun, *, replayed: int, loaded: int, removed: int) -> None:
    with transaction.atomic():
        locked = PipelineRun.objects.select_for_update().get(pk=run.pk)
        ctx = dict(locked.execution_context or {})
        ctx["rows_quarantined"] = ctx.get("rows_quarantined", 0) - replayed
        ctx["rows_loaded"] = ctx.get("rows_loaded", 0) + loaded
        rows_removed = dict(ctx.get("rows_removed", {}))
        if removed:
            rows_removed["replay"] = rows_removed.get("replay", 0) + removed
        ctx["rows_removed"] = rows_removed
        ctx["replays"] = ctx.get("replays", 0) + 1
        PipelineRun.objects.filter(pk=run.pk).update(execution_context=ctx,
                                                     records_failed=F("records_failed") - replayed)
    run.refresh_from_db()
