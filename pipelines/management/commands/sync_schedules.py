"""`sync_schedules`: write every pipeline's schedule and the system's periodic tasks into django-celery-beat."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from pipelines.schedules import schedules_sync_all, setup_periodic_tasks


class Command(BaseCommand):
    help = _("Sync django-celery-beat with the pipelines' schedule_cron (inactive and deleted pipelines' tasks "
             "disabled) and install the system's periodic tasks. Safe to run on every deploy.")

    def handle(self, *args, **options):
        system = setup_periodic_tasks()
        counts = schedules_sync_all()
        return _("%(enabled)d pipeline schedules enabled, %(disabled)d disabled, %(system)d system tasks.") % {
            "enabled": counts["enabled"], "disabled": counts["disabled"], "system": len(system)}
