"""What the pages show of a run's progress: step, rows and a percentage, from pipeline_runs.execution_context.

The engine records the step it is in and its running counts; it cannot know a file's row count before the
end, so the percentage follows the steps (a run spends most of its time in "load").
"""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from pipelines.models import PipelineRun, RunStatus
from pipelines.run_state import Step, attempt_error, run_progress_of

STEPS = {
    Step.PENDING: (0, _("Waiting for a worker")),
    Step.EXTRACT: (10, _("Reading the source")),
    Step.STAGE: (20, _("Staging the rows")),
    Step.LOAD: (50, _("Validating, transforming and loading")),
    Step.COMMIT: (80, _("Committing to the target")),
    Step.ANALYZE: (90, _("Measuring quality and metrics")),
    # Steps a run can be left in (a stale or cancelled run's context): words, never the code.
    Step.RETRY_WAIT: (0, _("Waiting to retry")),
    Step.VALIDATE: (50, _("Validating, transforming and loading")),
    Step.TRANSFORM: (50, _("Validating, transforming and loading")),
    Step.SKIPPED: (0, _("Skipped")),
}
ENDED = {RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED}
# What the "step" of an ended run says: where it stopped, not its status again ("Step: Success", issue 16).
ENDED_STEPS = {
    RunStatus.SUCCESS: _("All steps done"),
    RunStatus.FAILED: _("Stopped by an error"),
    RunStatus.CANCELLED: _("Stopped"),
}


def run_progress_payload(run: PipelineRun) -> dict:
    progress = run_progress_of(run)
    step = progress.step
    ended = run.status in ENDED
    percent, label = STEPS.get(step, (0, step))
    if step == Step.RETRY_WAIT and not ended:
        label = retry_wait_label(run)
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "step": Step.DONE.value if ended else str(step),
        "step_label": str(ENDED_STEPS[run.status] if ended else label),
        "percent": 100 if ended else percent,
        "rows_read": progress.rows_read,
        "rows_loaded": progress.rows_loaded,
        "rows_quarantined": progress.rows_quarantined,
        "ended": ended,
        "error": run.error_text if run.status == RunStatus.FAILED else "",
    }


def retry_wait_label(run: PipelineRun) -> str:
    """"Waiting to retry (2 of 3): <why the last attempt failed>" — why the bar stands still."""
    attempts = (run.execution_context or {}).get("attempts") or []
    reason = attempt_error(attempts[-1]) if attempts else ""
    label = _("Waiting to retry (%(retry)d of %(retries)d)") % {"retry": run.retry_count,
                                                                "retries": run.pipeline.max_retries}
    return f"{label}: {reason}" if reason else str(label)


def reconciliation(run: PipelineRun) -> dict | None:
    """read = loaded + quarantined + removed (per step), as the engine checks it, and what the write mode did
    to the rows already there (`write`); None before the end.

    `state` says how to read the figures: "balanced"; "stopped" for a run that failed or was cancelled before
    its commit (its rows were rolled back, so "loaded" is 0 and the sum cannot hold: that is no error of
    the counts); "unbalanced" only for a run that committed with counts that disagree.
    """
    ctx = run.execution_context or {}
    if "rows_read" not in ctx or "rows_loaded" not in ctx:
        return None
    removed = ctx.get("rows_removed") or {}
    read, loaded, quarantined = ctx["rows_read"], ctx.get("rows_loaded", 0), ctx.get("rows_quarantined", 0)
    accounted = loaded + quarantined + sum(removed.values())
    balanced = accounted == read
    stopped = run.status in (RunStatus.FAILED, RunStatus.CANCELLED)
    if balanced:
        state, text = "balanced", _("Read = loaded + quarantined + removed: every row read is accounted for.")
    elif stopped:
        state = "stopped"
        text = _("The run stopped before it committed, so nothing of it stays in the target: of the "
                 "%(read)s rows read so far, %(quarantined)s were set aside and the others were rolled back "
                 "with the run. The counts add up when a run finishes.") % {
            "read": _count(read), "quarantined": _count(quarantined)}
    else:
        state = "unbalanced"
        text = _("The counts do not add up: %(read)s rows read, but loaded + quarantined + removed = "
                 "%(accounted)s (%(gap)s rows unaccounted for). Re-run the pipeline and report this run.") % {
            "read": _count(read), "accounted": _count(accounted), "gap": _count(read - accounted)}
    return {"read": read, "loaded": loaded, "quarantined": quarantined, "removed": sorted(removed.items()),
            "balanced": balanced, "state": state, "text": text, "write": ctx.get("write")}


def _count(value: int) -> str:
    return number_format(value, force_grouping=True)
