"""`export_openlineage RUN_ID`: a run's OpenLineage run event (JSON) for Marquez, DataHub or OpenMetadata."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError
from analytics.openlineage import openlineage_run_event
from analytics.queries.lineage import run_column_lineage, table_fields
from pipelines.models import PipelineRun, RunStatus

EVENT_TYPES = {RunStatus.SUCCESS: "COMPLETE", RunStatus.FAILED: "FAIL", RunStatus.CANCELLED: "ABORT",
               RunStatus.RUNNING: "START", RunStatus.PENDING: "OTHER"}


class Command(BaseCommand):
    help = _("Print a pipeline run as an OpenLineage run event (JSON), with its column lineage.")

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int)

    def handle(self, *args, run_id, **options):
        run = PipelineRun.objects.select_related("pipeline__data_source").filter(pk=run_id).first()
        if run is None:
            raise CommandError(_("There is no pipeline run %(id)d.") % {"id": run_id})
        ctx = run.execution_context or {}
        table = ctx.get("target_table")
        namespace = settings.ETL_OPENLINEAGE_NAMESPACE
        rows, fields = [], []
        if table:
            try:
                rows = run_column_lineage(run.pk)
                fields = table_fields(table)
            except ClickHouseError as exc:
                raise CommandError(_("ClickHouse: %(error)s") % {"error": exc}) from exc
        source = run.pipeline.data_source
        inputs = [(namespace, source.name, [c for c, _type in ctx.get("source_columns", [])])]
        event = openlineage_run_event(
            run_id=run.pk, job_name=run.pipeline.name, namespace=namespace,
            event_type=EVENT_TYPES.get(run.status, "OTHER"), inputs=inputs,
            output=(namespace, table, [tuple(f) for f in fields]) if table else None,
            column_lineage=rows, event_time=run.finished_at or run.updated_at,
            producer=settings.ETL_OPENLINEAGE_PRODUCER)
        self.stdout.write(json.dumps(event, ensure_ascii=False, indent=2))
