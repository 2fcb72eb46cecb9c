"""Celery tasks: stable names, retries with backoff for transient failures, the pipeline lock, beat's entry."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from etlsite.celery import app as celery_app
from etlsite.tasks import task_named
from pipelines import services, tasks
from pipelines.models import PipelineRun, PipelineStatus, RunStatus
from pipelines.tasks import (
    retry_backoff_seconds,
    run_pipeline_task,
    scheduled_pipeline_task,
    watchdog_task,
)
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db


def test_task_names_are_pinned():
    # Beat rows and queued messages store these strings: renaming a task orphans them.
    import staging.tasks

    assert run_pipeline_task.name == "pipelines.run_pipeline"
    assert scheduled_pipeline_task.name == "pipelines.scheduled_run"
    assert watchdog_task.name == "pipelines.watchdog"
    assert staging.tasks.staging_cleanup_expired_task.name == "staging.cleanup_expired"
    celery_app.loader.import_default_modules()
    assert {"pipelines.run_pipeline", "pipelines.scheduled_run", "pipelines.watchdog",
            "staging.cleanup_expired", "pipelines.alerts_check_stale", "webui.expire_upload_sessions"} <= set(
        celery_app.tasks)


# Every task there is, with its time limits (soft, hard): None for a run's tasks, which are sent with their
# pipeline's timeout (pipelines.services.task_dispatch). Beat rows in the database refer to these names.
TASKS = {
    "pipelines.run_pipeline": None, "pipelines.run_part": None, "pipelines.run_split_commit": None,
    "pipelines.scheduled_run": (240, 300), "pipelines.watchdog": (240, 300),
    "pipelines.alerts_check_stale": (240, 300),
    "staging.cleanup_expired": (1500, 1800), "webui.expire_upload_sessions": (1500, 1800),
    "analytics.audit_send_pending": (540, 600),
}


def test_every_registered_task_is_pinned_and_declared_by_the_one_wrapper(settings):
    celery_app.loader.import_default_modules()
    registered = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert set(registered) == set(TASKS)
    defaults = (settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT)
    for name, task in registered.items():
        limits = (task.soft_time_limit, task.time_limit)
        assert limits == (TASKS[name] or defaults), name
        # Redelivered when a worker is lost; never retried by Celery itself (a run's retry is a new attempt).
        assert (task.acks_late, task.max_retries) == (True, 0), name


def test_backoff_doubles_per_retry_with_jitter_and_a_cap(settings):
    settings.ETL_RETRY_BACKOFF_SECONDS = 30
    settings.ETL_RETRY_BACKOFF_MAX_SECONDS = 200
    for retry_count, full in [(0, 30), (1, 60), (2, 120), (3, 200), (10, 200)]:
        delays = {retry_backoff_seconds(retry_count) for _ in range(50)}
        assert all(0.75 * full - 1 <= d <= full for d in delays), (retry_count, delays)


@pytest.fixture
def sent(monkeypatch):
    """Messages the tasks would send to the broker: (args, countdown, soft_time_limit)."""
    calls = []
    monkeypatch.setattr(run_pipeline_task, "apply_async", lambda args, **kw: calls.append(
        (args, kw.get("countdown"), kw.get("soft_time_limit"))))
    return calls


def _fake_engine(monkeypatch, outcomes: list[str]):
    """Replace the engine: each call ends the run as the next outcome ('ok', 'transient', 'permanent')."""
    attempts = []

    def execute(run):
        outcome = outcomes[min(len(attempts), len(outcomes) - 1)]
        attempts.append(run.retry_count)
        services.run_progress(run=run, step="extract", attempt=int(run.execution_context.get("attempt", 0)) + 1)
        if outcome == "ok":
            return services.run_succeed(run=run, records_processed=3, records_failed=0, context={})
        return services.run_fail(run=run, error_message=f"{outcome} failure",
                                 context={"transient": outcome == "transient"})

    monkeypatch.setattr(tasks, "_run_execute", execute)
    return attempts


def test_a_transient_failure_goes_back_to_pending_until_max_retries_then_stays_failed(
        monkeypatch, sent, settings, django_capture_on_commit_callbacks):
    settings.ETL_RETRY_BACKOFF_SECONDS = 30
    pipeline = PipelineFactory(max_retries=2, timeout_seconds=600)
    run = services.run_create(pipeline=pipeline, triggered_by="alice")
    attempts = _fake_engine(monkeypatch, ["transient"])

    with django_capture_on_commit_callbacks(execute=True):
        result = run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert "retry 1" in result
    assert (run.status, run.retry_count, run.error_message, run.finished_at) == (RunStatus.PENDING, 1, "", None)
    assert run.execution_context["step"] == "retry_wait"
    assert run.execution_context["attempt"] == 1  # kept: the next attempt numbers itself 2
    assert [a["error_message"] for a in run.execution_context["attempts"]] == ["transient failure"]
    assert len(sent) == 1 and sent[0][0] == (run.pk,) and 22 <= sent[0][1] <= 30 and sent[0][2] == 600

    with django_capture_on_commit_callbacks(execute=True):
        run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.retry_count) == (RunStatus.PENDING, 2)
    assert 45 <= sent[1][1] <= 60

    with django_capture_on_commit_callbacks(execute=True):
        result = run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.retry_count, run.error_message) == (RunStatus.FAILED, 2, "transient failure")
    assert result == f"run {run.pk}: failed"
    assert len(sent) == 2 and attempts == [0, 1, 2]
    assert [a["attempt"] for a in run.execution_context["attempts"]] == [1, 2]
    assert run.execution_context["attempt"] == 3


def test_a_permanent_failure_is_not_retried(monkeypatch, sent, django_capture_on_commit_callbacks):
    run = services.run_create(pipeline=PipelineFactory(max_retries=3), triggered_by="alice")
    _fake_engine(monkeypatch, ["permanent"])
    with django_capture_on_commit_callbacks(execute=True):
        run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.retry_count, sent) == (RunStatus.FAILED, 0, [])


def test_a_failure_without_the_transient_mark_counts_as_permanent(monkeypatch, sent):
    run = services.run_create(pipeline=PipelineFactory(max_retries=3), triggered_by="alice")

    def execute(run):
        return services.run_fail(run=run, error_message="boom")

    monkeypatch.setattr(tasks, "_run_execute", execute)
    run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.retry_count, sent) == (RunStatus.FAILED, 0, [])


def test_eager_mode_runs_the_retries_inline_and_ends(monkeypatch, settings, django_capture_on_commit_callbacks):
    """With task_always_eager the countdown is ignored and each retry runs at once: still bounded."""
    settings.ETL_RETRY_BACKOFF_SECONDS = 30
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    attempts = _fake_engine(monkeypatch, ["transient", "transient", "ok"])
    pipeline = PipelineFactory(max_retries=5)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_enqueue(pipeline=pipeline, triggered_by="alice")
    run.refresh_from_db()
    assert (run.status, run.retry_count, attempts) == (RunStatus.SUCCESS, 2, [0, 1, 2])
    assert len(run.execution_context["attempts"]) == 2


def test_a_run_that_is_no_longer_pending_is_skipped(monkeypatch, sent):
    attempts = _fake_engine(monkeypatch, ["ok"])
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    assert services.run_cancel(run=run, by="bob")
    assert "not pending (cancelled)" in run_pipeline_task.apply(args=(run.pk,)).get()
    assert "does not exist" in run_pipeline_task.apply(args=(run.pk + 1000,)).get()
    assert attempts == [] and sent == []


def test_a_second_run_of_a_pipeline_waits_while_the_first_executes(monkeypatch, sent,
                                                                    django_capture_on_commit_callbacks):
    attempts = _fake_engine(monkeypatch, ["ok"])
    pipeline = PipelineFactory(timeout_seconds=900)
    first = services.run_create(pipeline=pipeline, triggered_by="alice")
    assert services.run_claim(run=first)
    second = services.run_create(pipeline=pipeline, triggered_by="bob")

    # On a worker: sent again later, still pending.
    with django_capture_on_commit_callbacks(execute=True):
        result = run_pipeline_task(second.pk)
    second.refresh_from_db()
    assert "trying again" in result and second.status == RunStatus.PENDING
    assert sent and sent[0][0] == (second.pk,) and sent[0][1] >= 5 and sent[0][2] == 900
    # Eagerly there is nobody to wait for: left pending, not re-sent.
    assert "left pending" in run_pipeline_task.apply(args=(second.pk,)).get()
    assert len(sent) == 1 and attempts == []

    # Once the first ends, the second runs.
    services.run_succeed(run=first, records_processed=1, records_failed=0, context={})
    run_pipeline_task.apply(args=(second.pk,)).get()
    second.refresh_from_db()
    assert second.status == RunStatus.SUCCESS


def test_a_running_run_with_a_dead_worker_does_not_hold_the_pipeline(settings):
    settings.ETL_RUN_STALE_SECONDS = 60
    pipeline = PipelineFactory()
    dead = services.run_create(pipeline=pipeline, triggered_by="alice")
    assert services.run_claim(run=dead)
    PipelineRun.objects.filter(pk=dead.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    other = services.run_create(pipeline=pipeline, triggered_by="bob")
    assert services.run_claim(run=other)
    # Runs of other pipelines never block each other.
    assert services.run_claim(run=services.run_create(pipeline=PipelineFactory(), triggered_by="carol"))


def test_beat_entry_queues_a_scheduler_run_for_an_active_pipeline(sent, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory(schedule_cron="*/5 * * * *", timeout_seconds=120)
    with django_capture_on_commit_callbacks(execute=True):
        result = scheduled_pipeline_task.apply(args=(pipeline.pk,)).get()
    run = PipelineRun.objects.get(pipeline=pipeline)
    assert result == f"pipeline {pipeline.pk}: run {run.pk} queued"
    assert (run.status, run.triggered_by) == (RunStatus.PENDING, "scheduler")
    assert run.execution_context["logical_date"] == timezone.localdate().isoformat()
    assert sent == [((run.pk,), None, 120)]


@pytest.mark.parametrize("change", ["inactive", "deleted", "gone"])
def test_beat_entry_skips_a_pipeline_that_is_not_active_and_disables_its_schedule(change, sent):
    from django_celery_beat.models import PeriodicTask

    pipeline = PipelineFactory(schedule_cron="*/5 * * * *")
    task = PeriodicTask.objects.get(name=f"pipeline:{pipeline.pk}")
    assert task.enabled
    # Bulk updates bypass the signals: the schedule is still enabled when beat fires it.
    if change == "inactive":
        type(pipeline).objects.filter(pk=pipeline.pk).update(status=PipelineStatus.INACTIVE)
    elif change == "deleted":
        type(pipeline).objects.filter(pk=pipeline.pk).soft_delete()
    else:
        type(pipeline).all_objects.filter(pk=pipeline.pk).delete()
    result = scheduled_pipeline_task.apply(args=(pipeline.pk,)).get()
    assert "not active; skipped" in result
    assert not PipelineRun.objects.exists() and sent == []
    task.refresh_from_db()
    assert not task.enabled


@pytest.mark.django_db(databases=["default", "staging"])  # a dead run's staged rows are dropped too
def test_watchdog_task_marks_dead_runs(settings):
    settings.ETL_RUN_STALE_SECONDS = 60
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    services.run_claim(run=run)
    long_ago = timezone.now() - timedelta(minutes=2)
    PipelineRun.objects.filter(pk=run.pk).update(started_at=long_ago, updated_at=long_ago)
    assert watchdog_task.apply().get() == "1 run(s) with a dead worker marked failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_a_tick_is_skipped_while_the_previous_scheduled_run_is_unfinished(sent, settings):
    settings.ETL_RUN_STALE_SECONDS = 60
    pipeline = PipelineFactory(schedule_cron="* * * * *", timeout_seconds=600)
    previous = services.run_create(pipeline=pipeline, triggered_by="scheduler")
    assert "tick skipped" in scheduled_pipeline_task.apply(args=(pipeline.pk,)).get()
    services.run_claim(run=previous)
    assert "tick skipped" in scheduled_pipeline_task.apply(args=(pipeline.pk,)).get()
    # A run whose worker died, or a manual run, does not hold the schedule back.
    long_ago = timezone.now() - timedelta(minutes=5)
    PipelineRun.objects.filter(pk=previous.pk).update(updated_at=long_ago, created_at=long_ago)
    services.run_create(pipeline=pipeline, triggered_by="alice")
    assert "queued" in scheduled_pipeline_task.apply(args=(pipeline.pk,)).get()
    assert PipelineRun.objects.filter(pipeline=pipeline, triggered_by="scheduler").count() == 2


def test_an_engine_that_raises_does_not_leave_the_run_running(monkeypatch, sent):
    def broken(run):
        raise KeyError("bug")

    monkeypatch.setattr(tasks, "_run_execute", broken)
    run = services.run_create(pipeline=PipelineFactory(max_retries=3), triggered_by="alice")
    with pytest.raises(KeyError):
        run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.error_message, sent) == (RunStatus.FAILED, "Internal error: KeyError", [])


def test_run_pipeline_sync_takes_the_workers_path_when_the_engine_raises(monkeypatch):
    # The command runs a claimed run as a worker does (pipelines.execution): an engine that raises ends it failed.
    import io

    from django.core.management import call_command

    from pipelines.management.commands import run_pipeline as command

    def broken(run, **options):
        raise KeyError("bug")

    monkeypatch.setattr(command, "run_engine_execute", broken)
    pipeline = PipelineFactory()
    with pytest.raises(KeyError):
        call_command("run_pipeline", str(pipeline.pk), "--sync", stdout=io.StringIO())
    run = pipeline.runs.get()
    assert (run.status, run.error_message) == (RunStatus.FAILED, "Internal error: KeyError")


def test_the_services_send_the_run_task_by_its_pinned_name():
    assert services.RUN_TASK == run_pipeline_task.name
    assert task_named(services.RUN_TASK) is run_pipeline_task._get_current_object()  # shared_task gives a proxy


def test_a_process_that_never_imported_the_tasks_finds_them_by_name():
    # The web process imports the services, not pipelines.tasks: the run task is found all the same.
    code = ("import sys, django; django.setup(); from pipelines import services; "
            "assert 'pipelines.tasks' not in sys.modules; from etlsite.tasks import task_named; "
            "print(task_named(services.RUN_TASK).name, 'pipelines.tasks' in sys.modules)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "etlsite.settings"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pipelines.run_pipeline", "True"]
