"""schedule_cron mirrored into django-celery-beat: created, updated, disabled (never deleted), system tasks."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from pipelines.models import Pipeline, PipelineStatus
from pipelines.schedules import SYSTEM_TASKS, schedule_sync, schedules_sync_all, setup_periodic_tasks
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db


def _task(pipeline: Pipeline) -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(name=f"pipeline:{pipeline.pk}")


def _cron(task: PeriodicTask) -> str:
    c = task.crontab
    return f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"


def test_saving_an_active_scheduled_pipeline_creates_its_task(settings):
    pipeline = PipelineFactory(schedule_cron="15 2 1-7 * 1")
    task = _task(pipeline)
    assert task.enabled and task.task == "pipelines.scheduled_run"
    assert json.loads(task.args) == [pipeline.pk] and json.loads(task.kwargs) == {}
    assert _cron(task) == "15 2 1-7 * 1"
    assert str(task.crontab.timezone) == settings.TIME_ZONE
    assert task.interval is None


def test_changing_the_cron_updates_the_same_task_and_keeps_beat_state():
    pipeline = PipelineFactory(schedule_cron="0 2 * * *")
    task = _task(pipeline)
    ran_at = timezone.now() - timedelta(hours=1)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=ran_at, total_run_count=7)
    pipeline.schedule_cron = "*/10 * * * *"
    pipeline.save()
    updated = _task(pipeline)
    assert updated.pk == task.pk and _cron(updated) == "*/10 * * * *"
    assert (updated.last_run_at, updated.total_run_count) == (ran_at, 7)
    # Pipelines with the same cron share one CrontabSchedule row.
    other = PipelineFactory(schedule_cron="*/10 * * * *")
    assert _task(other).crontab_id == updated.crontab_id
    assert CrontabSchedule.objects.filter(minute="*/10").count() == 1


@pytest.mark.parametrize("status", [PipelineStatus.INACTIVE, PipelineStatus.DRAFT, PipelineStatus.DEPRECATED])
def test_a_pipeline_that_is_not_active_has_its_task_disabled(status):
    pipeline = PipelineFactory(schedule_cron="0 3 * * *")
    pipeline.status = status
    pipeline.save()
    task = _task(pipeline)
    assert not task.enabled and _cron(task) == "0 3 * * *"
    pipeline.status = PipelineStatus.ACTIVE
    pipeline.save()
    assert _task(pipeline).enabled


def test_a_soft_deleted_pipeline_has_its_task_disabled_and_restored_with_it():
    pipeline = PipelineFactory(schedule_cron="0 3 * * *")
    pipeline.soft_delete()
    assert not _task(pipeline).enabled
    pipeline.restore()
    assert _task(pipeline).enabled


def test_removing_the_cron_disables_the_task_and_no_cron_creates_none():
    pipeline = PipelineFactory(schedule_cron="0 3 * * *")
    pipeline.schedule_cron = ""
    pipeline.save()
    task = _task(pipeline)
    assert not task.enabled and _cron(task) == "0 3 * * *"
    unscheduled = PipelineFactory(schedule_cron="")
    assert schedule_sync(unscheduled) is None
    assert not PeriodicTask.objects.filter(name=f"pipeline:{unscheduled.pk}").exists()


def test_an_invalid_cron_written_behind_the_validators_back_disables_the_task():
    pipeline = PipelineFactory(schedule_cron="0 3 * * *")
    Pipeline.objects.filter(pk=pipeline.pk).update(schedule_cron="99 * * * *")
    pipeline.refresh_from_db()
    task = schedule_sync(pipeline)
    assert not task.enabled and _cron(task) == "0 3 * * *"


def test_sync_all_catches_bulk_updates_and_removed_pipelines():
    inactive, deleted, kept = (PipelineFactory(schedule_cron="0 4 * * *") for _ in range(3))
    gone = PipelineFactory(schedule_cron="0 5 * * *")
    Pipeline.objects.filter(pk=inactive.pk).update(status=PipelineStatus.INACTIVE)
    Pipeline.objects.filter(pk=deleted.pk).soft_delete()
    gone_name = f"pipeline:{gone.pk}"
    PeriodicTask.objects.filter(name=gone_name).update(enabled=True)
    Pipeline.all_objects.filter(pk=gone.pk).delete()  # post_delete already disables it ...
    PeriodicTask.objects.filter(name=gone_name).update(enabled=True)  # ... pretend it happened offline
    assert _task(inactive).enabled and _task(deleted).enabled

    before = PeriodicTasks.last_change()
    counts = schedules_sync_all()
    assert counts == {"enabled": 1, "disabled": 3, "orphans": 1}
    assert not _task(inactive).enabled and not _task(deleted).enabled and _task(kept).enabled
    assert not PeriodicTask.objects.get(name=gone_name).enabled
    assert PeriodicTasks.last_change() > before  # beat reloads after the bulk disable


def test_system_tasks_are_upserted_by_name_keeping_admin_toggles():
    tasks = setup_periodic_tasks()
    assert {t.name: t.task for t in tasks} == {name: task for name, (task, _) in SYSTEM_TASKS.items()}
    watchdog = PeriodicTask.objects.get(task="pipelines.watchdog")
    assert (watchdog.interval.every, watchdog.interval.period) == (1, "minutes") and watchdog.enabled
    cleanup = PeriodicTask.objects.get(task="staging.cleanup_expired")
    assert cleanup.crontab.minute == "7" and cleanup.crontab.hour == "*"

    PeriodicTask.objects.filter(pk=cleanup.pk).update(enabled=False)  # an admin switched it off
    PeriodicTask.objects.filter(pk=watchdog.pk).update(total_run_count=42)
    setup_periodic_tasks()
    assert PeriodicTask.objects.filter(task__in=["pipelines.watchdog", "staging.cleanup_expired"]).count() == 2
    assert not PeriodicTask.objects.get(pk=cleanup.pk).enabled
    assert PeriodicTask.objects.get(pk=watchdog.pk).total_run_count == 42


def test_the_command_syncs_everything():
    PipelineFactory(schedule_cron="0 1 * * *")
    off = PipelineFactory(schedule_cron="0 1 * * *")
    Pipeline.objects.filter(pk=off.pk).update(status=PipelineStatus.INACTIVE)
    out = call_command("sync_schedules")
    assert out == f"1 pipeline schedules enabled, 1 disabled, {len(SYSTEM_TASKS)} system tasks."
    assert not _task(off).enabled


def test_migrate_installs_the_system_tasks():
    PeriodicTask.objects.filter(name__in=list(SYSTEM_TASKS)).delete()
    call_command("migrate", database="default", verbosity=0)
    assert set(PeriodicTask.objects.filter(name__in=list(SYSTEM_TASKS)).values_list("task", flat=True)) == {
        "pipelines.watchdog", "staging.cleanup_expired", "pipelines.alerts_check_stale",
        "webui.expire_upload_sessions", "analytics.audit_send_pending"}
