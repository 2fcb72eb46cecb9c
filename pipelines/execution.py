"""The path of a claimed run, the same for a Celery worker (pipelines.tasks) and `run_pipeline --sync`:
execute it with its heartbeat beating, end it as failed if the engine itself raised, then retry a transient
failure or evaluate the alerts. See docs/ARCHITECTURE.md for the whole path of a run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from django.conf import settings

from etlsite.messages import _msg
from pipelines import services
from pipelines.alerts import alerts_evaluate
from pipelines.engine.dispatch import Dispatcher
from pipelines.models import PipelineRun, RunStatus
from pipelines.watchdog import run_heartbeat

logger = logging.getLogger(__name__)

RETRY_BACKOFF_CAP_SECONDS = 3600
DEFAULT_BATCH_ROWS = 65_536


def batch_rows() -> int:
    """Rows the engine reads, validates and loads at a time (ETL_BATCH_ROWS)."""
    return getattr(settings, "ETL_BATCH_ROWS", DEFAULT_BATCH_ROWS)


def run_engine_execute(run: PipelineRun, *, rows: int | None = None, dispatcher: Dispatcher | None = None
                       ) -> PipelineRun:
    """The engine on a claimed run. `dispatcher` sends a split run's part and commit tasks (the workers'
    path); without one (`run_pipeline --sync`) a parallelism setting is ignored, as parts need workers."""
    # Not a cycle: imported on first use because the engine's modules (~0.25 s to import) are of no use to the
    # worker's parent process (it forks the children that run tasks) nor to the web process enqueuing a run.
    from pipelines.engine.runner import run_execute

    return run_execute(run=run, batch_rows=rows or batch_rows(), dispatcher=dispatcher)


def run_attempt(*, run: PipelineRun, execute: Callable[[PipelineRun], PipelineRun]) -> PipelineRun:
    """`execute(run)` on a claimed run, its heartbeat beating meanwhile.

    The engine ends runs itself; an exception out of it is a bug or a broken deployment: the run is ended as
    failed (not left running for the watchdog) and the exception goes on. A KeyboardInterrupt (Ctrl+C on
    `run_pipeline --sync`) is not an Exception: the engine has cancelled the run by then.
    """
    try:
        with run_heartbeat(run_id=run.pk):
            return execute(run)
    except Exception as exc:
        logger.exception("pipeline run %s: the engine raised", run.pk)
        run.refresh_from_db()
        if run.status == RunStatus.RUNNING:
            services.run_fail(run=run, error_message=_msg("Internal error: %(error)s") % {
                "error": exc.__class__.__name__})
        raise


def retry_backoff_seconds(retry_count: int) -> int:
    """Exponential backoff with jitter: base * 2**retry_count, capped, then 75-100 % of that."""
    base = getattr(settings, "ETL_RETRY_BACKOFF_SECONDS", 30)
    cap = getattr(settings, "ETL_RETRY_BACKOFF_MAX_SECONDS", RETRY_BACKOFF_CAP_SECONDS)
    delay = min(base * 2 ** retry_count, cap)
    return max(1, round(delay * random.uniform(0.75, 1.0)))


def run_should_retry(run: PipelineRun) -> bool:
    """Only failures the engine marked transient (a connection, not the data), within max_retries."""
    pipeline = run.pipeline
    return (run.status == RunStatus.FAILED and (run.execution_context or {}).get("transient") is True
            and run.retry_count < pipeline.max_retries and not pipeline.is_deleted)


def run_alerts(run: PipelineRun) -> Exception | None:
    """Evaluate the alerts of a finished run; the error when that failed (alerting never changes a run's
    outcome, nor turns a finished run into a failed task)."""
    try:
        alerts_evaluate(run=run)
    except Exception as exc:
        logger.exception("pipeline run %s: alerts could not be evaluated", run.pk)
        return exc
    return None


def run_after_finish(*, run: PipelineRun) -> str:
    """A finished run on a worker: a transient failure goes back to pending for a retry, else the alerts.

    `run_pipeline --sync` calls run_alerts alone: a retry would need a worker, and the person waiting for
    the command is told the outcome.
    """
    if run_should_retry(run):
        countdown = retry_backoff_seconds(run.retry_count)
        if services.run_retry(run=run, countdown=countdown):
            services.run_dispatch(run=run, countdown=countdown)
            return f"run {run.pk}: failed (transient), retry {run.retry_count} in {countdown} s"
    run_alerts(run)  # not before a retry: a transient failure that is about to be retried is not news yet
    return f"run {run.pk}: {run.status}"
