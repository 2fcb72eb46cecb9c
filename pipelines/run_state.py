"""A run's state as the engine writes it into pipeline_runs.execution_context, typed.

The JSON keeps the keys and values it always had (pages, the API, alerts and older runs read it); this
module gives them names: the step is a `Step` (a StrEnum, so it is stored as the same string), the counts
are `RunTotals`, a split run's plan is `SplitState`. The engine writes through `progress_write` and
`split_write` (both go through services.run_progress: heartbeat, scrubbing, cancellation); pages read
through the selectors `run_progress_of` and `split_state_of`. Light on purpose: no pyarrow, no connectors,
so a web page can import it without loading the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from etlsite.messages import shown
from pipelines import services
from pipelines.models import PipelineRun


class Step(StrEnum):
    """execution_context["step"]. The engine writes EXTRACT..ANALYZE; services write the others."""

    PENDING = "pending"
    EXTRACT = "extract"
    STAGE = "stage"
    LOAD = "load"
    COMMIT = "commit"
    ANALYZE = "analyze"
    RETRY_WAIT = "retry_wait"
    # Left in contexts written by earlier versions of the engine (a stale or cancelled run).
    VALIDATE = "validate"
    TRANSFORM = "transform"
    SKIPPED = "skipped"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class RunTotals:
    """The run's counts: read = loaded + quarantined + removed (per step) when it finishes."""

    rows_read: int = 0
    rows_quarantined: int = 0
    rows_loaded: int = 0
    removed: dict[str, int] = field(default_factory=dict)

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + sum(self.removed.values())

    def remove(self, step: str, count: int) -> None:
        self.removed[step] = self.removed.get(step, 0) + count

    def as_dict(self) -> dict:
        return {"rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
                "rows_quarantined": self.rows_quarantined, "rows_removed": dict(self.removed)}


@dataclass
class Progress:
    """What a progress bar shows. `step` is a Step, or the stored text when this version does not know it."""

    step: Step | str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0


@dataclass
class SplitState:
    """execution_context["split"] of a run split into parts (the plan its part tasks and commit follow)."""

    parts: int
    attempt: int
    ranges: list[dict]
    staging_table: str
    target_table: str
    keys_table: str | None
    output_schema: list[list[str]]
    drift: dict
    source_columns: list
    schema_diff: dict
    file_id: int | None

    def as_context(self) -> dict:
        return asdict(self)

    @classmethod
    def from_context(cls, ctx: dict | None) -> SplitState | None:
        """None for a run that was not split (or was read as one part: {"parts": 1, "reason": ...})."""
        split = (ctx or {}).get("split") or {}
        if "attempt" not in split:
            return None
        return cls(**{name: split.get(name) for name in cls.__dataclass_fields__})


def progress_write(run: PipelineRun, *, step: Step | None = None, totals: RunTotals | None = None,
                   **values: Any) -> None:
    """Merge the step, the counts and `values` into execution_context (services.run_progress: raises
    RunCancelled once the run is no longer running)."""
    if step is not None:
        values["step"] = step.value
    if totals is not None:
        values.update(totals.as_dict())
    services.run_progress(run=run, **values)


def split_write(run: PipelineRun, split: SplitState, **values: Any) -> None:
    """Record a split run's plan (and reset its parts' reports: `parts={}`)."""
    progress_write(run, split=split.as_context(), **values)


def split_declined_write(run: PipelineRun, reason: str) -> None:
    """A run that asked for parts and is read as one part, and why."""
    progress_write(run, split={"parts": 1, "reason": reason})


def run_progress_of(run: PipelineRun) -> Progress:
    """Selector: the step and the running counts of a run."""
    ctx = run.execution_context or {}
    stored = ctx.get("step", Step.PENDING.value)
    step = Step(stored) if stored in Step._value2member_map_ else stored
    return Progress(step=step, rows_read=ctx.get("rows_read", 0), rows_loaded=ctx.get("rows_loaded", 0),
                    rows_quarantined=ctx.get("rows_quarantined", 0))


def split_state_of(run: PipelineRun) -> SplitState | None:
    """Selector: the split plan of a run, None when it was not split."""
    return SplitState.from_context(run.execution_context)


def attempt_started(run: PipelineRun) -> int:
    """The number execution_context["attempt"] gets when the run's task starts executing it (processing
    logs and the run page's attempts read it): one more than the last start recorded."""
    return int((run.execution_context or {}).get("attempt", 0)) + 1


def attempt_of_retries(run: PipelineRun) -> int:
    """Which try of the run this is by its retries (run_retry raises retry_count with the status in one
    update, so there is no gap). A split run keys its tables and its part tasks on it, as
    services.run_part_report checks it; it equals attempt_started unless a start was recorded twice."""
    return run.retry_count + 1


def attempt_error(attempt: dict) -> str:
    """An earlier attempt's error (an item of execution_context["attempts"]) in the reader's language."""
    return shown(attempt.get("error_message", "") or "", attempt.get("error"))
