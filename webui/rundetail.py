"""What the run detail page reads: processing logs per attempt, quality metrics, staged rows, lineage."""

from __future__ import annotations

import logging
from itertools import groupby

from django.db import DatabaseError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError
from analytics.masking import hidden_columns, mask_rows
from analytics.queries.quality import run_metrics
from dashboards.lineage import lineage_edges, lineage_graph
from dashboards.metrics_text import bounds_text, metric_label, metric_value
from etlsite.csvsafe import text_row
from pipelines.models import PipelineRun
from pipelines.targets import target_table_name
from sources.secrets import mask_config
from staging.models import ProcessingLog
from staging.ownership import upload_paths_hidden
from staging.writer import StagingError, StagingWriter

logger = logging.getLogger(__name__)
STAGED_PREVIEW_ROWS = 20
QUALITY_LIMIT = 500
# An empty cell of the logs download; a bare "-" would be quoted as a possible formula.
NONE = "\u2014"


def _attempt(log: ProcessingLog) -> int:
    return int((log.execution_context or {}).get("attempt") or 1)


def logs_by_attempt(run: PipelineRun) -> list[tuple[int, list[ProcessingLog]]]:
    logs = sorted(ProcessingLog.objects.filter(pipeline_run_id=run.pk), key=lambda log: (_attempt(log), log.pk))
    return [(attempt, list(group)) for attempt, group in groupby(logs, key=_attempt)]


def logs_as_text(run: PipelineRun, attempt: int | None = None, *, reader=None) -> str:
    """The processing logs of a run (or one attempt) as tab-separated text, for download; secrets masked.

    A spreadsheet may open it: every line goes through `text_row`, so names, paths and messages (which can
    quote data) neither start a formula nor split a cell or a line with a tab or line break of their own.
    The server path of an upload `reader` may not see is shown as its original name (staging.ownership)."""
    lines = [text_row([_("Run #%(id)d of %(pipeline)s: %(status)s") % {
        "id": run.pk, "pipeline": run.pipeline.name, "status": run.get_status_display()}])]
    for number, logs in logs_by_attempt(run):
        if attempt is not None and number != attempt:
            continue
        lines.append("")
        lines.append(text_row([_("Attempt %(n)d") % {"n": number}]))
        for log in logs:
            lines.append(text_row([
                log.started_at.isoformat() if log.started_at else NONE, log.get_operation_type_display(),
                log.table_name, log.get_status_display(), log.records_processed, log.records_success,
                log.records_failed, f"{log.processing_time_seconds:.3f}s" if log.processing_time_seconds else NONE,
                log.error_text]))
            if log.execution_context:
                context = upload_paths_hidden(user=reader, data=mask_config(log.execution_context))
                lines.append(text_row(["", context]))
    if run.error_message:
        lines += ["", text_row([_("Error: %(message)s") % {"message": run.error_text}])]
    return "\n".join(lines) + "\n"


def run_target_table(run: PipelineRun) -> str:
    return (run.execution_context or {}).get("target_table") or target_table_name(run.pipeline)


def quality_metrics(run: PipelineRun) -> tuple[list[dict], str]:
    """data_quality_metrics of the run (failed first), or [] and a message when ClickHouse cannot answer."""
    try:
        rows = run_metrics(run.pk, limit=QUALITY_LIMIT)
    except ClickHouseError as exc:
        logger.warning("run page: quality metrics of run %s unreadable: %s", run.pk, exc)
        return [], _("The quality metrics cannot be read now: %(error)s") % {"error": exc}
    for row in rows:
        metric = row["metric_name"]
        row.update(label=metric_label(metric), value_text=metric_value(metric, row["metric_value"]),
                   allowed=bounds_text(metric, row["threshold_min"], row["threshold_max"]))
    return rows, ""


def staged_preview(run: PipelineRun, user) -> tuple[list[str], list[list], str]:
    """The first staged rows, sensitive values masked for `user`; a message instead when they are gone."""
    table = (run.execution_context or {}).get("staging_table")
    if not table:
        return [], [], _("This run staged no rows.")
    try:
        names, rows = StagingWriter.open(table_name=table).preview(limit=STAGED_PREVIEW_ROWS)
    except StagingError as exc:
        return [], [], str(exc)
    except DatabaseError as exc:
        logger.warning("run page: staging table %s unreadable: %s", table, exc)
        return [], [], _("The staging table cannot be read now.")
    hidden = hidden_columns(user, target_table=run_target_table(run), staging_table=table)
    return names, mask_rows(names, rows, hidden), ""


def run_lineage(run: PipelineRun) -> tuple[dict | None, str]:
    """The run's lineage graph, drawn by the same builder as the lineage page (dashboards.lineage), with the
    file's own headers beside the sanitized names; or None and a message when ClickHouse cannot answer."""
    try:
        edges = lineage_edges(run.pk)
    except ClickHouseError as exc:
        logger.warning("run page: lineage of run %s unreadable: %s", run.pk, exc)
        return None, _("The lineage cannot be read now: %(error)s") % {"error": exc}
    if not edges:
        return None, ""
    return lineage_graph(edges, headers=(run.execution_context or {}).get("source_headers")), ""
