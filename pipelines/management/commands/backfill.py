"""`backfill PIPELINE --from DATE --to DATE [--failed-only]`: one run per day, or re-run the failed ones."""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from pipelines.models import Pipeline
from pipelines.services import pipeline_backfill, runs_rerun_failed


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("\"%(value)s\" is not a date; use YYYY-MM-DD.") % {"value": value}) from None


def _pipeline(ref: str) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    pipeline = pipeline or Pipeline.objects.filter(name=ref).first()
    if pipeline is None:
        raise CommandError(_("No pipeline named or numbered \"%(ref)s\".") % {"ref": ref})
    return pipeline


class Command(BaseCommand):
    help = _("Queue one run of a pipeline per day of a date range (execution_context.logical_date), or with "
             "--failed-only re-run the failed runs of that period.")

    def add_arguments(self, parser):
        parser.add_argument("pipeline", help=_("Pipeline name or id."))
        parser.add_argument("--from", dest="start", required=True, help=_("First day, YYYY-MM-DD."))
        parser.add_argument("--to", dest="end", required=True, help=_("Last day (included), YYYY-MM-DD."))
        parser.add_argument("--failed-only", action="store_true",
                            help=_("Re-run only the failed runs of the period, each once."))
        parser.add_argument("--triggered-by", default="backfill", help=_("Recorded as the runs' trigger."))

    def handle(self, *args, pipeline, start, end, failed_only, triggered_by, **options):
        target, first, last = _pipeline(pipeline), _date(start), _date(end)
        try:
            if failed_only:
                runs = runs_rerun_failed(pipeline=target, since=first, until=last, triggered_by=triggered_by)
            else:
                runs = pipeline_backfill(pipeline=target, start=first, end=last, triggered_by=triggered_by)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return _("%(count)d run(s) of \"%(name)s\" queued.") % {"count": len(runs), "name": target.name}
