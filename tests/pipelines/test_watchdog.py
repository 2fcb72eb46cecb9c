"""The watchdog: a running run whose worker went silent ends failed with a reason; live runs are left alone."""

import time
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pipelines import services
from pipelines.models import PipelineRun, RunStatus
from pipelines.watchdog import run_heartbeat, run_last_seen, runs_mark_dead
from tests.factories import PipelineFactory


def _running(*, silent_for: timedelta, heartbeat: bool = True) -> PipelineRun:
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    assert services.run_claim(run=run)
    then = timezone.now() - silent_for
    ctx = {**run.execution_context, "step": "load"}
    if heartbeat:
        ctx["heartbeat_at"] = then.isoformat()
    PipelineRun.objects.filter(pk=run.pk).update(started_at=then - timedelta(minutes=1), updated_at=then,
                                                 execution_context=ctx)
    run.refresh_from_db()
    return run


@pytest.mark.django_db(databases=["default", "staging"])  # a dead run's staged rows are dropped
def test_a_stale_running_run_is_marked_failed_and_a_fresh_one_is_left():
    stale = _running(silent_for=timedelta(minutes=11))
    no_heartbeat = _running(silent_for=timedelta(minutes=11), heartbeat=False)
    fresh = _running(silent_for=timedelta(minutes=1))
    pending = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    PipelineRun.objects.filter(pk=pending.pk).update(updated_at=timezone.now() - timedelta(days=2))

    assert runs_mark_dead(stale_after=timedelta(minutes=10)) == 2

    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED
    assert stale.error_message.startswith("The worker running this run stopped responding (last heartbeat at ")
    seen = timezone.localtime(datetime.fromisoformat(stale.execution_context["heartbeat_at"]))
    assert seen.strftime("%Y-%m-%d %H:%M:%S") in stale.error_message
    assert stale.finished_at and stale.duration_seconds > 11 * 60
    assert stale.execution_context["step"] == "failed" and stale.execution_context["dead_worker"]
    no_heartbeat.refresh_from_db()
    assert no_heartbeat.status == RunStatus.FAILED
    for run in (fresh, pending):
        before = run.status
        run.refresh_from_db()
        assert run.status == before and run.error_message == ""
    # A dead run no longer beats: its engine, should it wake up, learns it was ended.
    with pytest.raises(services.RunCancelled):
        services.run_progress(run=stale, step="load")


@pytest.mark.django_db
def test_last_seen_is_the_latest_sign_of_life():
    run = _running(silent_for=timedelta(minutes=30))
    assert run_last_seen(run) == run.updated_at
    run.execution_context["heartbeat_at"] = (timezone.now() + timedelta(seconds=5)).isoformat()
    assert run_last_seen(run) > run.updated_at


@pytest.mark.django_db(databases=["default", "staging"])
def test_the_command_marks_dead_runs_and_rejects_a_bad_limit():
    _running(silent_for=timedelta(minutes=3))
    assert call_command("watchdog", "--stale-minutes", "5") == "0 run(s) marked failed."
    assert call_command("watchdog", "--stale-minutes", "2") == "1 run(s) marked failed."
    with pytest.raises(CommandError):
        call_command("watchdog", "--stale-minutes", "0")


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_silent_engine_alive_and_stops_with_the_run(settings):
    settings.ETL_RUN_STALE_SECONDS = 1
    run = _running(silent_for=timedelta(seconds=30))
    with run_heartbeat(run_id=run.pk, every=0.1):
        time.sleep(0.5)  # the engine is busy in one long step and writes no progress
        assert runs_mark_dead() == 0
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING and timezone.now() - run.updated_at < timedelta(seconds=1)
        services.run_succeed(run=run, records_processed=1, records_failed=0, context={})
        finished = PipelineRun.objects.get(pk=run.pk).updated_at
        time.sleep(0.3)
    # Once the run is no longer running the heartbeat leaves the row alone.
    assert PipelineRun.objects.get(pk=run.pk).updated_at == finished
    time.sleep(1.2)
    run.refresh_from_db()
    assert runs_mark_dead() == 0 and run.status == RunStatus.SUCCESS
