"""Celery tasks: thin wrappers that load by id and call one service. Names are stable (beat stores them).

Every task of the project is declared with `etl_task` (etlsite/tasks.py), which gives it its name, time
limits and retry policy: these, the staging clean-up (staging/tasks.py), the upload-session expiry
(webui/tasks.py) and the audit sender (analytics/tasks.py). tests/pipelines/test_tasks.py pins the names.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from etlsite.tasks import HOUSEKEEPING_LIMITS, LONG_HOUSEKEEPING_LIMITS, etl_task  # noqa: F401 - re-exported
from pipelines import execution, services
from pipelines.alerts import alerts_check_stale
from pipelines.execution import RETRY_BACKOFF_CAP_SECONDS, retry_backoff_seconds  # noqa: F401 - tests, bench
from pipelines.models import Pipeline, PipelineRun, PipelineStatus, RunStatus
from pipelines.watchdog import heartbeat_interval, run_heartbeat, run_stale_after, runs_mark_dead


def _run_execute(run: PipelineRun) -> PipelineRun:
    return execution.run_engine_execute(run, dispatcher=TaskDispatcher)


@etl_task("pipelines.run_pipeline", bind=True)
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
    run = execution.run_attempt(run=run, execute=_run_execute)
    run.refresh_from_db()  # a split run may have finished in its parts' tasks meanwhile (eagerly: already)
    if run.status == RunStatus.RUNNING:
        return f"run {run_id}: split into parts; the last part to finish commits it"
    return _after_finish(run)


def _after_finish(run: PipelineRun) -> str:
    return execution.run_after_finish(run=run)


# --- one large file in parts ("parallelism": {"parts": N}; pipelines/engine/parts.py) ---------------------

def run_parts_dispatch(*, run: PipelineRun, parts: int, attempt: int) -> None:
    """Send one task per part of a split run's attempt, once the current transaction commits."""
    for index in range(parts):
        services.task_dispatch(run_part_task, (run.pk, index, attempt), pipeline=run.pipeline)


def run_split_commit_dispatch(*, run: PipelineRun) -> None:
    services.task_dispatch(run_split_commit_task, (run.pk,), pipeline=run.pipeline)


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


@etl_task("pipelines.run_part")
def run_part_task(run_id: int, index: int, attempt: int) -> str:
    from pipelines.engine.parts import part_execute  # on first use, as execution.run_engine_execute says

    with run_heartbeat(run_id=run_id):
        outcome = part_execute(run_id=run_id, index=index, attempt=attempt,
                               batch_rows=execution.batch_rows(), dispatcher=TaskDispatcher)
    if outcome.endswith("failed"):
        return f"{outcome}; {_finished_part(run_id)}"
    return outcome


@etl_task("pipelines.run_split_commit")
def run_split_commit_task(run_id: int) -> str:
    from pipelines.engine.parts import split_commit  # on first use, as execution.run_engine_execute says

    with run_heartbeat(run_id=run_id):
        run = split_commit(run_id=run_id)
    return _after_finish(run) if run is not None and run.status != RunStatus.RUNNING else f"run {run_id}: skipped"


def _previous_tick_unfinished(pipeline: Pipeline) -> bool:
    """A frequent schedule must not pile up runs behind a slow one: skip the tick while the previous
    scheduled run is alive (running with a fresh heartbeat, or pending for less than a run's timeout)."""
    now = timezone.now()
    unfinished = PipelineRun.objects.filter(pipeline=pipeline, triggered_by="scheduler")
    return (unfinished.filter(status=RunStatus.RUNNING, updated_at__gte=now - run_stale_after()).exists()
            or unfinished.filter(status=RunStatus.PENDING,
                                 created_at__gte=now - timedelta(seconds=pipeline.timeout_seconds)).exists())


@etl_task("pipelines.scheduled_run", limits=HOUSEKEEPING_LIMITS)
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


@etl_task("pipelines.watchdog", limits=HOUSEKEEPING_LIMITS)
def watchdog_task() -> str:
    marked = runs_mark_dead()
    if marked:
        for run in PipelineRun.objects.filter(status=RunStatus.FAILED, execution_context__dead_worker=True,
                                              finished_at__gte=timezone.now() - timedelta(minutes=5)):
            execution.run_alerts(run)
    return f"{marked} run(s) with a dead worker marked failed"


@etl_task("pipelines.alerts_check_stale", limits=HOUSEKEEPING_LIMITS)
def alerts_check_stale_task() -> str:
    sent = alerts_check_stale()
    return f"{len(sent)} no-new-data notification(s)"
