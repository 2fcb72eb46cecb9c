"""Beat schedules in code: each pipeline's schedule_cron mirrored into a django-celery-beat PeriodicTask,
plus the system's own periodic tasks.

Rows are upserted by name, never deleted and recreated, so beat's last_run_at and total_run_count survive.
A pipeline's task is enabled exactly when the pipeline is active, not deleted and has a schedule; any
other pipeline keeps its row, disabled. Saving a PeriodicTask tells beat to reload (PeriodicTasks.changed);
after a bulk .update() we call PeriodicTasks.update_changed() ourselves.
"""

from __future__ import annotations

import json
import logging

from celery.schedules import crontab
from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from pipelines.models import Pipeline, PipelineStatus

logger = logging.getLogger(__name__)

SCHEDULED_RUN_TASK = "pipelines.scheduled_run"
PIPELINE_TASK_PREFIX = "pipeline:"

# name -> (task, schedule). Admin toggles (enabled) of these rows are kept on every sync.
SYSTEM_TASKS = {
    "system: mark runs with a dead worker failed": ("pipelines.watchdog", {"every": 1, "period": "minutes"}),
    "system: drop expired staging tables": ("staging.cleanup_expired", {"cron": "7 * * * *"}),
    "system: alert on pipelines without new data": ("pipelines.alerts_check_stale", {"every": 15, "period": "minutes"}),
    "system: remove abandoned upload sessions": ("webui.expire_upload_sessions", {"cron": "37 * * * *"}),
    "system: send audit records ClickHouse missed": ("analytics.audit_send_pending", {"every": 1, "period": "minutes"}),
}


def pipeline_task_name(pipeline_id: int) -> str:
    return f"{PIPELINE_TASK_PREFIX}{pipeline_id}"


def crontab_for(cron: str) -> CrontabSchedule:
    """The CrontabSchedule row for five cron fields in the project's time zone (shared between tasks)."""
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    # Parsed as beat will parse it: a value out of range raises ValueError here, not in beat's loop.
    crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
            day_of_week=day_of_week)
    spec = {"minute": minute, "hour": hour, "day_of_month": day_of_month, "month_of_year": month_of_year,
            "day_of_week": day_of_week, "timezone": settings.TIME_ZONE}
    schedule = CrontabSchedule.objects.filter(**spec).order_by("pk").first()
    return schedule or CrontabSchedule.objects.create(**spec)


def schedule_wanted(pipeline: Pipeline) -> bool:
    return bool(pipeline.schedule_cron.strip()) and pipeline.status == PipelineStatus.ACTIVE \
        and not pipeline.is_deleted


def schedule_sync(pipeline: Pipeline) -> PeriodicTask | None:
    """Create, update or disable the pipeline's PeriodicTask; None when it has none and needs none."""
    name = pipeline_task_name(pipeline.pk)
    enabled = schedule_wanted(pipeline)
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().filter(name=name).first()
        if task is None and not pipeline.schedule_cron.strip():
            return None
        task = task or PeriodicTask(name=name)
        if pipeline.schedule_cron.strip():
            try:
                task.crontab = crontab_for(pipeline.schedule_cron)
            except ValueError:  # validators reject such a cron on save; a bulk update may not have
                logger.warning("pipeline %s: invalid schedule_cron %r; its schedule is disabled",
                               pipeline.pk, pipeline.schedule_cron)
                enabled = False
        if task.crontab_id is None:
            return None  # a bad cron and no earlier schedule: nothing to keep
        task.interval = task.solar = task.clocked = None
        task.task = SCHEDULED_RUN_TASK
        task.args = json.dumps([pipeline.pk])
        task.kwargs = "{}"
        task.enabled = enabled
        task.description = f"{pipeline.name} ({pipeline.schedule_cron or '-'})"[:1000]
        task.save()
    return task


def schedule_disable_orphans() -> int:
    """Disable the tasks of pipelines that no longer exist (removed from the database)."""
    live = {pipeline_task_name(pk) for pk in Pipeline.all_objects.values_list("pk", flat=True)}
    orphans = PeriodicTask.objects.filter(name__startswith=PIPELINE_TASK_PREFIX, enabled=True).exclude(name__in=live)
    changed = orphans.update(enabled=False, last_run_at=None)
    if changed:
        PeriodicTasks.update_changed()  # a bulk update sends no signal; beat must reload
    return changed


def schedules_sync_all() -> dict[str, int]:
    """Sync every pipeline's task (deleted ones included) and disable orphans; returns counts."""
    enabled = disabled = 0
    for pipeline in Pipeline.all_objects.order_by("pk").iterator():
        task = schedule_sync(pipeline)
        if task is not None:
            enabled += task.enabled
            disabled += not task.enabled
    orphans = schedule_disable_orphans()
    return {"enabled": enabled, "disabled": disabled + orphans, "orphans": orphans}


def setup_periodic_tasks() -> list[PeriodicTask]:
    """Upsert the system's periodic tasks by name; a new row starts enabled, an existing one keeps its toggle."""
    tasks = []
    with transaction.atomic():
        for name, (task_name, schedule) in SYSTEM_TASKS.items():
            task = PeriodicTask.objects.select_for_update().filter(name=name).first() or PeriodicTask(name=name)
            task.interval = task.crontab = task.solar = task.clocked = None
            if "cron" in schedule:
                task.crontab = crontab_for(schedule["cron"])
            else:
                task.interval = (IntervalSchedule.objects.filter(**schedule).order_by("pk").first()
                                 or IntervalSchedule.objects.create(**schedule))
            task.task = task_name
            task.save()
            tasks.append(task)
    return tasks
