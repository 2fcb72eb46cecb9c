"""Keep beat's PeriodicTask rows in step with pipelines. Connected in PipelinesConfig.ready().

Saves (admin, API, soft_delete()/restore() on an instance) sync the pipeline's task; removing a pipeline
disables its task. A queryset .update() sends no signal: `manage.py sync_schedules` re-syncs everything,
and the scheduled task itself re-syncs a pipeline that is no longer active when beat fires it.
"""

from django.db import connections, router
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver
from django_celery_beat.models import PeriodicTask

from pipelines import schedules
from pipelines.models import Pipeline


@receiver(post_save, sender=Pipeline, dispatch_uid="pipelines.schedule_sync_on_save")
def pipeline_saved(sender, instance: Pipeline, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata: the fixture's rows may not be complete yet; sync_schedules afterwards
        return
    schedules.schedule_sync(instance)


@receiver(post_delete, sender=Pipeline, dispatch_uid="pipelines.schedule_disable_on_delete")
def pipeline_deleted(sender, instance: Pipeline, **kwargs) -> None:
    schedules.schedule_disable_orphans()


def system_tasks_install(sender, using: str = "default", **kwargs) -> None:
    """After `migrate`, the system's periodic tasks exist (watchdog, staging clean-up)."""
    if not router.allow_migrate_model(using, PeriodicTask):
        return
    with connections[using].cursor() as cursor:
        if PeriodicTask._meta.db_table not in connections[using].introspection.table_names(cursor):
            return  # a partial migrate that stopped before django-celery-beat's tables
    schedules.setup_periodic_tasks()


def connect(app_config) -> None:
    post_migrate.connect(system_tasks_install, sender=app_config, dispatch_uid="pipelines.system_tasks_install")
