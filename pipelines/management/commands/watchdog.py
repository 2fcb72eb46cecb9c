"""`watchdog [--stale-minutes N]`: mark failed the running runs whose worker stopped responding."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from pipelines.watchdog import run_stale_after, runs_mark_dead


class Command(BaseCommand):
    help = _("Mark failed every running run whose heartbeat is older than the limit (beat does this every "
             "minute; this is for scripts and for when beat is not running).")

    def add_arguments(self, parser):
        parser.add_argument("--stale-minutes", type=float, default=None,
                            help=_("Silence after which a run counts as dead (default: ETL_RUN_STALE_SECONDS, "
                                   "%(default)s).") % {"default": run_stale_after()})

    def handle(self, *args, stale_minutes, **options):
        if stale_minutes is not None and stale_minutes <= 0:
            raise CommandError(_("--stale-minutes must be positive."))
        stale_after = timedelta(minutes=stale_minutes) if stale_minutes is not None else None
        marked = runs_mark_dead(stale_after=stale_after)
        return _("%(count)d run(s) marked failed.") % {"count": marked}
