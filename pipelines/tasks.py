"""Celery tasks: thin wrappers that load by id and call one service. Names are stable (beat stores them).

The staging clean-up task ("staging.cleanup_expired") lives in staging/tasks.py; beat schedules it by name.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipelines import services
from pipelines.alerts import alerts_check_stale, alerts_evaluate
from pipelines.models import Pipeline, PipelineRun, PipelineStatus, RunStatus
from pipelines.watchdog import heartbeat_interval, run_heartbeat, run_stale_after, runs_mark_dead

logger = logging.getLogger(__name__)

RETRY_BACKOFF_CAP_SECONDS = 3600


def _run_execute(run: PipelineRun) -> PipelineRun:
    # Imported on first use: the engine pulls in the connectors and pyarrow, which the worker's parent
    # process (it forks the children that run tasks) and the web process enqueuing a run have no use for.
    from pipelines.engine.runner import run_execute

    return run_execute(run=run, batch_rows=getattr(settings, "ETL_BATCH_ROWS", 65_536), dispatcher=TaskDispatcher)


def retry_backoff_seconds(retry_count: int) -> int:
    """Exponential backoff with jitter: base * 2**retry_count, capped, then 75-100 % of that."""
    base = getattr(settings, "ETL_RETRY_BACKOFF_SECONDS", 30)
    cap = getattr(settings, "ETL_RETRY_BACKOFF_MAX_SECONDS", RETRY_BACKOFF_CAP_SECONDS)
    delay = min(base * 2 ** retry_count, cap)
    return max(1, round(delay * random.uniform(0.75, 1.0)))


def _should_retry(run: PipelineRun) -> bool:
    """Only failures the engine marked transient (a connection, not the data), within max_retries."""
    pipeline = run.pipeline
    return (run.status == RunStatus.FAILED and (run.execution_context or {}).get("transient") is True
            and run.retry_count < pipeline.max_retries and not pipeline.is_deleted)


@shared_task(name="pipelines.run_pipeline", bind=True, acks_late=True)
def run_pipeline_task(self, run_id: int) -> str:
    run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
    if run is None:
        return f"run {run_id} does not exist; skipped"
    if not services.run_claim(run=run, worker=self.request.hostname or ""):
        run.refresh_from_db(fields=["status"])
        if run.status != RunStatus.PENDING:
            return f"run {run_id} was not pending ({run.status}); skipped"
        # Another run of this pipeline is executing. Eagerly (tests, no worker) there is nobody to wait
        # for, and re-sending would recurse: the run stays pending.
        if self.request.is_eager:
            return f"run {run_id}: another run of the pipeline is executing; left pending"
        wait = max(5, round(heartbeat_interval() * random.uniform(1.0, 2.0)))
        services.run_dispatch(run=run, countdown=wait)
        return f"run {run_id}: another run of the pipeline is executing; trying again in {wait} s"
    try:
        with run_heartbeat(run_id=run.pk):
            run = _run_execute(run)
    except Exception as exc:
        # The engine ends runs itself; this is a bug or a broken deployment. Do not leave it running.
        logger.exception("pipeline run %s: the engine raised", run_id)
        run.refresh_from_db()
        if run.status == RunStatus.RUNNING:
            services.run_fail(run=run, error_message=_("Internal error: %(error)s") % {
                "error": exc.__class__.__name__})
        raise
    run.refresh_from_db()  # a split run may have finished in its parts' tasks meanwhile (eagerly: already)
    if run.status == RunStatus.RUNNING:
        return f"run {run_id}: split into parts; the last part to finish commits it"
    return _after_finish(run)


def _after_finish(run: PipelineRun) -> str:
    if _should_retry(run):
        countdown = retry_backoff_seconds(run.retry_count)
        if services.run_retry(run=run, countdown=countdown):
            services.run_dispatch(run=run, countdown=countdown)
            return f"run {run.pk}: failed (transient), retry {run.retry_count} in {countdown} s"
    _alert(run)  # not before a retry: a transient failure that is about to be retried is not news yet
    return f"run {run.pk}: {run.status}"


# --- one large file in parts ("parallelism": {"parts": N}; pipelines/engine/parts.py) ---------------------

def run_parts_dispatch(*, run: PipelineRun, parts: int, attempt: int) -> None:
    """Send one task per part of a split run's attempt, once the current transaction commits."""
    limit = run.pipeline.timeout_seconds
    for index in range(parts):
        transaction.on_commit(lambda index=index: run_part_task.apply_async(
            (run.pk, index, attempt), soft_time_limit=limit, time_limit=limit + 60))


def run_split_commit_dispatch(*, run: PipelineRun) -> None:
    limit = run.pipeline.timeout_seconds
    transaction.on_commit(lambda: run_split_commit_task.apply_async(
        (run.pk,), soft_time_limit=limit, time_limit=limit + 60))


class TaskDispatcher:
    """How the engine sends a split run's tasks (pipelines.engine.dispatch.Dispatcher): it never imports them."""

    @staticmethod
    def dispatch_parts(*, run: PipelineRun, parts: int, attempt: int) -> None:
        run_parts_dispatch(run=run, parts=parts, attempt=attempt)

    @staticmethod
    def dispatch_commit(*, run: PipelineRun) -> None:
        run_split_commit_dispatch(run=run)


def _finished_part(run_id: int) -> str:
    run = PipelineRun.objects.select_related("pipeline").filter(pk=run_id).first()
    if run is not None and run.status == RunStatus.FAILED:
        return _after_finish(run)
    return f"run {run_id}: {run.status if run else 'gone'}"


@shared_task(name="pipelines.run_part", acks_late=True)
def run_part_task(run_id: int, index: int, attempt: int) -> str:
    from pipelines.engine.parts import part_execute

    with run_heartbeat(run_id=run_id):
        outcome = part_execute(run_id=run_id, index=index, attempt=attempt,
                               batch_rows=getattr(settings, "ETL_BATCH_ROWS", 65_536), dispatcher=TaskDispatcher)
    if outcome.endswith("failed"):
        return f"{outcome}; {_finished_part(run_id)}"
    return outcome


@shared_task(name="pipelines.run_split_commit", acks_late=True)
def run_split_commit_task(run_id: int) -> str:
    from pipelines.engine.parts import split_commit

    with run_heartbeat(run_id=run_id):
        run = split_commit(run_id=run_id)
    return _after_finish(run) if run is not None and run.status != RunStatus.RUNNING else f"run {run_id}: skipped"


def _alert(run: PipelineRun) -> None:
    try:
        alerts_evaluate(run=run)
    except Exception:  # alerting must never turn a finished run into a failed task
        logger.exception("pipeline run %s: alerts could not be evaluated", run.pk)


def _previous_tick_unfinished(pipeline: Pipeline) -> bool:
    """A frequent schedule must not pile up runs behind a slow one: skip the tick while the previous
    scheduled run is alive (running with a fresh heartbeat, or pending for less than a run's timeout)."""
    now = timezone.now()
    unfinished = PipelineRun.objects.filter(pipeline=pipeline, triggered_by="scheduler")
    return (unfinished.filter(status=RunStatus.RUNNING, updated_at__gte=now - run_stale_after()).exists()
            or unfinished.filter(status=RunStatus.PENDING,
                                 created_at__gte=now - timedelta(seconds=pipeline.timeout_seconds)).exists())


@shared_task(name="pipelines.scheduled_run", acks_late=True, time_limit=300, soft_time_limit=240)
def scheduled_pipeline_task(pipeline_id: int) -> str:
    """What beat sends for a pipeline's schedule_cron: queue a run (a pipeline no longer active is skipped)."""
    pipeline = Pipeline.all_objects.filter(pk=pipeline_id).first()
    if pipeline is None or pipeline.is_deleted or pipeline.status != PipelineStatus.ACTIVE:
        # The schedule should already be disabled; a bulk update (queryset .update()) bypasses the
        # signals, so re-sync it here and the next tick does not fire again.
        from pipelines.schedules import schedule_disable_orphans, schedule_sync

        if pipeline is None:
            schedule_disable_orphans()
        else:
            schedule_sync(pipeline)
        return f"pipeline {pipeline_id} is not active; skipped"
    if _previous_tick_unfinished(pipeline):
        return f"pipeline {pipeline_id}: the previous scheduled run has not finished; tick skipped"
    run = services.run_enqueue(pipeline=pipeline, triggered_by="scheduler",
                               execution_context={"logical_date": timezone.localdate().isoformat()})
    return f"pipeline {pipeline_id}: run {run.pk} queued"


@shared_task(name="pipelines.watchdog", time_limit=300, soft_time_limit=240)
def watchdog_task() -> str:
    marked = runs_mark_dead()
    if marked:
        for run in PipelineRun.objects.filter(status=RunStatus.FAILED, execution_context__dead_worker=True,
                                              finished_at__gte=timezone.now() - timedelta(minutes=5)):
            _alert(run)
    return f"{marked} run(s) with a dead worker marked failed"


@shared_task(name="pipelines.alerts_check_stale", acks_late=True, time_limit=300, soft_time_limit=240)
def alerts_check_stale_task() -> str:
    sent = alerts_check_stale()
    return f"{len(sent)} no-new-data notification(s)"
