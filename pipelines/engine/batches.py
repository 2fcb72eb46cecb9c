"""The batch flow every run goes through: stage -> validate -> transform -> load, one batch at a time.

A whole-file run (runner.py) and each part of a split run (parts.py) both feed their numbered batches to
one `BatchFlow`; they differ only in where the staging table and the temporary load table come from and in
`clean_duplicates`, whose repeats a split run removes at its commit (the flow records the row keys instead).
Each kind of operation is timed and counted over the run (`Operation`: one processing_logs row each).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from analytics.loading import ROW_NUMBER_COLUMN, TargetLoad
from analytics.split_loading import KEY_COLUMN, keys_insert
from etlsite.messages import _msg
from pipelines.config import PipelineConfig
from pipelines.engine.drift import quarantine_new_columns
from pipelines.engine.errors import RunError
from pipelines.engine.overlap import StagingSink
from pipelines.engine.references import reference_loader_for
from pipelines.models import PipelineRun
from pipelines.run_state import RunTotals
from pipelines.transformations import TransformContext, get_step
from pipelines.transformations.keys import row_hashes
from pipelines.type_changes import load_begin
from pipelines.validation import ValidationRules, Validator
from staging.models import OperationType
from staging.quarantine import QuarantineStore
from staging.writer import StagingWriter

DEDUPE_STEP = "clean_duplicates"
# Batches gathered into one ClickHouse INSERT (analytics.loading.INSERT_ROWS says why).
INSERT_BATCHES = 4
OPERATION_KINDS = (OperationType.LOAD, OperationType.VALIDATE, OperationType.TRANSFORM, OperationType.EXPORT)


@dataclass
class Operation:
    """Counts and time of one kind of operation over the run (one processing_logs row)."""

    kind: str
    processed: int = 0
    success: int = 0
    failed: int = 0
    seconds: float = 0.0
    # The run's error happened inside this operation: its log row carries the error, the others only theirs.
    broke: bool = False

    def timed(self) -> OperationTimer:
        return OperationTimer(self)

    def part_report(self) -> dict:
        """What a part reports of it (execution_context["parts"][i]["ops"][kind])."""
        return {"processed": self.processed, "failed": self.failed, "seconds": self.seconds}


class OperationTimer:
    """`with op.timed():` adds the block's time to the operation; an exception leaving it marks it broke."""

    def __init__(self, op: Operation):
        self.op = op

    def __enter__(self) -> Operation:
        self.start = time.perf_counter()
        return self.op

    def __exit__(self, exc_type, *exc) -> None:
        self.op.seconds += time.perf_counter() - self.start
        if exc_type is not None and exc_type is not StopIteration:
            self.op.broke = True


def operations() -> dict[str, Operation]:
    return {kind: Operation(kind) for kind in OPERATION_KINDS}


def read_timed(batches: Iterable, op: Operation) -> Iterator:
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


def numbered(batch: pa.RecordBatch, *, first: int) -> pa.RecordBatch:
    """The batch with `_row_number` (its rows' 1-based positions in the source, from `first`) in front."""
    numbers = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
    if ROW_NUMBER_COLUMN in batch.schema.names:
        batch = batch.drop_columns([ROW_NUMBER_COLUMN])
    return pa.RecordBatch.from_arrays([numbers, *batch.columns], names=[ROW_NUMBER_COLUMN, *batch.schema.names])


@dataclass
class StepPlan:
    """The configured transformations, each a (step, params): `before` clean_duplicates, its resolved params
    (`dedupe`, None when it is not set apart) and the steps `after` it. A whole-file run keeps every step in
    `before`; a split run sets clean_duplicates apart (its repeats are removed at the commit)."""

    before: list
    dedupe: dict | None
    after: list

    @classmethod
    def from_config(cls, config: PipelineConfig, *, dedupe_apart: bool) -> StepPlan:
        before, dedupe, after = [], None, []
        for entry in config.transformations:
            name, params = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("params", {}))
            if dedupe_apart and name == DEDUPE_STEP and dedupe is None:
                dedupe = get_step(name).resolve(params)
                continue
            (after if dedupe is not None else before).append((get_step(name), params))
        return cls(before, dedupe, after)


class StagingStream:
    """The run's staging table, fed from a thread (overlap.StagingSink). `create` makes the table from the
    first batch's schema when the run has none yet; a source whose schema grows widens it."""

    def __init__(self, *, writer: StagingWriter | None = None,
                 create: Callable[[pa.Schema], StagingWriter] | None = None):
        self.writer = writer
        self.create = create
        self.sink = StagingSink(writer) if writer is not None else None

    def put(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = self.create(batch.schema)
            self.sink = StagingSink(self.writer)
        elif len(batch.schema) > len(self.writer.schema):
            self.sink.close()  # the batches staged so far get the new columns' NULLs
            self.writer.add_columns(batch.schema)
            self.sink = StagingSink(self.writer)
        self.sink.put(batch)

    def close(self) -> float:
        """Wait for every batch (a staging error raises here); the thread's own staging time."""
        if self.sink is None:
            return 0.0
        self.sink.close()
        return self.sink.seconds

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()


class KeyRecorder:
    """A split run's clean_duplicates: each loaded row's key hash and row number, into the keys table."""

    def __init__(self, *, load: TargetLoad, table: str, params: dict):
        self.load = load
        self.table = table
        self.columns = params["columns"]
        self.count = 0
        self._pending: list[pa.Table] = []

    def record(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        columns = self.columns or [c for c in table.column_names if c != ROW_NUMBER_COLUMN]
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise RunError(_msg("%(step)s: no column %(missing)s in the data.")
                           % {"step": DEDUPE_STEP, "missing": ", ".join(missing)})
        keys = pa.table({ROW_NUMBER_COLUMN: table.column(ROW_NUMBER_COLUMN),
                         KEY_COLUMN: pa.array(row_hashes(table, columns), pa.uint64())})
        self._pending.append(keys)
        self.count += keys.num_rows
        if sum(k.num_rows for k in self._pending) >= self.load.insert_rows:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            keys, self._pending = pa.concat_tables(self._pending), []
            keys_insert(self.load.target, self.table, keys)


class BatchFlow:
    """Stage, validate, transform and load numbered batches. Counts: `totals.rows_quarantined` (the run's
    totals when given), `loaded` (rows appended), `ops` (the run's operations when given).

    `drift`: {"policy", "added"} of the run's schema check (new columns quarantined under "quarantine").
    `staging` None: nothing is stored (a split run's sample, which only learns the loaded columns' types).
    `load` None: nothing is loaded. `load_begun`: the temporary table exists (a part appends to the table
    its run prepared); otherwise the first batch creates it, and later ones add columns a source grew.
    `keys`: a split run's key recorder (clean_duplicates set apart in `steps`).
    """

    def __init__(self, *, run: PipelineRun, rules: ValidationRules, steps: StepPlan, transform_ctx: TransformContext,
                 drift: dict, staging: StagingStream | None, staging_table: str, load: TargetLoad | None = None,
                 load_begun: bool = False, keys: KeyRecorder | None = None, totals: RunTotals | None = None,
                 ops: dict[str, Operation] | None = None):
        self.run = run
        self.validator = Validator(rules)
        self.steps = steps
        self.transform_ctx = transform_ctx
        self.drift = drift
        self.staging = staging
        self.staging_table = staging_table
        self.load = load
        self.load_begun = load_begun
        self.load_grows = not load_begun
        self.keys = keys
        self.totals = totals if totals is not None else RunTotals()
        self.loaded = 0
        self.ops = ops if ops is not None else operations()

    @staticmethod
    def transform_context(config: PipelineConfig) -> TransformContext:
        return TransformContext(reference_loader=reference_loader_for(config.references))

    def process(self, batch: pa.RecordBatch) -> pa.Table:
        """One numbered batch through the run; returns what was loaded (or would be, without a load)."""
        checked = self._set_new_columns_aside(batch)
        with self.ops[OperationType.LOAD].timed() as op:
            if self.staging is not None:
                self.staging.put(batch)
            op.processed += batch.num_rows
            op.success += batch.num_rows
        with self.ops[OperationType.VALIDATE].timed() as op:
            outcome = self.validator.check(checked)
            if outcome.quarantined and self.staging is not None:
                self._quarantine(outcome.quarantined)
            op.processed += checked.num_rows
            op.failed += outcome.failed_rows
            op.success += checked.num_rows - outcome.failed_rows
            self.totals.rows_quarantined += outcome.failed_rows
        with self.ops[OperationType.TRANSFORM].timed() as op:
            table = self._transform(outcome.valid)
            op.processed += outcome.valid.num_rows
            op.success += table.num_rows
        if self.load is not None:
            with self.ops[OperationType.EXPORT].timed() as op:
                self._load(table)
                op.processed += table.num_rows
                op.success += table.num_rows
        return table

    def _set_new_columns_aside(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Under the "quarantine" schema policy, rows with values in new columns go to quarantine."""
        added = self.drift.get("added") or []
        if self.drift.get("policy") != "quarantine" or not added:
            return batch
        checked, entries, set_aside = quarantine_new_columns(batch, added)
        if entries and self.staging is not None:
            self._quarantine(entries)
        self.totals.rows_quarantined += set_aside
        return checked

    def _quarantine(self, entries: list) -> None:
        QuarantineStore().add(pipeline_run_id=self.run.pk, staging_table=self.staging_table, rows=entries)

    def _transform(self, table: pa.Table) -> pa.Table:
        for step, params in self.steps.before:
            table = step.apply(table, self.transform_ctx, params)
        if self.keys is not None:
            self.keys.record(table)
        for step, params in self.steps.after:
            table = step.apply(table, self.transform_ctx, params)
        return table

    def _load(self, table: pa.Table) -> None:
        if not self.load_begun:
            load_begin(self.load, table.schema, run=self.run)
            self.load_begun = True
        elif self.load_grows:
            self.load.extend(table.schema)
        self.load.append(table)
        self.loaded += table.num_rows

    def finish(self) -> float:
        """Every row in the temporary table and in staging; the staging thread's own time."""
        if self.load is not None:
            if self.keys is not None:
                self.keys.flush()
            self.load.flush()
        return self.staging.close() if self.staging is not None else 0.0

    def abort(self) -> None:
        if self.staging is not None:
            self.staging.abort()

    def removed(self) -> dict:
        return dict(self.transform_ctx.removed)

    def lineage(self) -> list[dict]:
        return [edge.as_dict() for edge in self.transform_ctx.lineage]

    def failed_in(self) -> str | None:
        """The operation the run's error happened in, if it happened inside one."""
        return next((kind for kind, op in self.ops.items() if op.broke), None)
