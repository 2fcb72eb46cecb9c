"""Run detail: live progress, timeline, reconciliation, processing logs per attempt, quality, staged rows, lineage."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboards.lineage import lineage_labels
from pipelines.models import PipelineRun
from pipelines.selectors import runs_with_source
from pipelines.services import pipeline_run_refusal, run_rerun
from pipelines.warnings import warning_text
from webui import rundetail
from webui.access import page
from webui.progress import reconciliation, run_progress_payload
from webui.quality_summary import quality_summary
from webui.timeline import run_timeline, run_timing


def _run(run_id: int) -> PipelineRun:
    return get_object_or_404(runs_with_source(), pk=run_id)


@page("pipelines.view_pipelinerun")
@require_GET
def run_detail(request, run_id):
    run = _run(run_id)
    metrics, metrics_error = rundetail.quality_metrics(run)
    staged_names, staged_rows, staged_error = rundetail.staged_preview(run, request.user)
    graph, lineage_error = rundetail.run_lineage(run)
    attempts = rundetail.logs_by_attempt(run)
    return render(request, "webui/run_detail.html", {
        "run": run, "progress": run_progress_payload(run), "reconciliation": reconciliation(run),
        "timing": run_timing(run), "timeline": run_timeline(run, attempts),
        "attempts": attempts, "quality": quality_summary(run),
        "metrics": metrics, "metrics_error": metrics_error,
        "staged_names": staged_names, "staged_rows": staged_rows, "staged_error": staged_error,
        "graph": graph, "lineage_error": lineage_error, "lineage_labels": lineage_labels(),
        "can_see_catalog": request.user.has_perm("dashboards.view_catalogentry"),
        "quarantined": (run.execution_context or {}).get("rows_quarantined", 0),
        "warnings": [warning_text(w) for w in (run.execution_context or {}).get("warnings") or []],
        "skipped": _skipped(run),
        "can_load_again": _skipped(run) and request.user.has_perm("pipelines.add_pipelinerun"),
    })


def _skipped(run: PipelineRun) -> bool:
    """A run that ended without loading because its file was loaded before (pipelines.engine.repeats)."""
    return (run.execution_context or {}).get("step") == "skipped"


@page("pipelines.view_pipelinerun", "pipelines.add_pipelinerun")
@require_POST
def run_load_again(request, run_id):
    """"Load it again" on a run that skipped a file already loaded: a re-run that loads it (a second copy)."""
    run = _run(run_id)
    refusal = pipeline_run_refusal(run.pipeline)
    if not _skipped(run):
        messages.error(request, _("Only a run that skipped a file already loaded can load it again."))
    elif refusal:
        messages.error(request, refusal)
    else:
        again = run_rerun(run=run, triggered_by=request.user.get_username())
        messages.success(request, _("Run #%(id)d loads the file again.") % {"id": again.pk})
        return redirect("webui:run-detail", again.pk)
    return redirect("webui:run-detail", run.pk)


@page("pipelines.view_pipelinerun", "staging.view_processinglog")
@require_GET
def run_logs(request, run_id):
    run = _run(run_id)
    attempt = request.GET.get("attempt")
    attempt = int(attempt) if attempt and attempt.isdigit() else None
    response = HttpResponse(rundetail.logs_as_text(run, attempt, reader=request.user),
                            content_type="text/plain; charset=utf-8")
    suffix = f"-attempt-{attempt}" if attempt else ""
    # Opens in the browser (issue 16); saving it keeps this name.
    response["Content-Disposition"] = f'inline; filename="run-{run.pk}{suffix}-logs.txt"'
    return response
