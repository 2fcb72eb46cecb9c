"""Quarantine: the rows runs kept out, with their reasons; correct values in place and replay them."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from pipelines.decisions import run_quarantine_replay
from pipelines.models import PipelineRun
from pipelines.selectors import runs_in_bulk
from staging.masking import QuarantineMasker
from staging.quarantine import QuarantinedRow, QuarantineStatus
from webui.access import page
from webui.quarantine import EDITABLE, quarantine_correct, quarantine_runs, quarantine_whole_rows

ROWS_PER_PAGE = 100


@page("staging.view_quarantinedrow")
@require_GET
def quarantine_list(request):
    groups = Paginator(quarantine_runs(), 50).get_page(request.GET.get("page"))
    runs = runs_in_bulk([g["pipeline_run_id"] for g in groups])
    for group in groups:
        group["run"] = runs.get(group["pipeline_run_id"])
    return render(request, "webui/quarantine_list.html", {"groups": groups})


@page("staging.view_quarantinedrow")
@require_GET
def quarantine_run(request, run_id):
    run = get_object_or_404(PipelineRun.objects.select_related("pipeline"), pk=run_id)
    status = request.GET.get("status", "")
    rows = QuarantinedRow.objects.filter(pipeline_run_id=run.pk)
    if status in QuarantineStatus.values:
        rows = rows.filter(status=status)
    page_obj = Paginator(rows.order_by("row_number", "id"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    masker = QuarantineMasker(request.user)
    whole = quarantine_whole_rows(list(page_obj), user=request.user, target_table=run.pipeline.target_table)
    previous = None
    for row in page_obj:
        row.shown_value = masker.value(row)
        row.shown_reason = masker.reason(row)
        row.shown_correction = masker.value(row, "corrected_value")
        row.editable = row.status in EDITABLE
        # the whole row is shown once, above the first of its failing values on the page
        row.whole = whole.get(row.row_number) if row.row_number != previous else None
        previous = row.row_number
    return render(request, "webui/quarantine_run.html", {
        "run": run, "rows": page_obj, "status": status, "statuses": QuarantineStatus.choices,
        "can_change": request.user.has_perm("staging.change_quarantinedrow"),
    })


@page("staging.change_quarantinedrow")
@require_POST
def quarantine_save(request, run_id):
    run = get_object_or_404(PipelineRun, pk=run_id)
    corrections = {}
    for key, value in request.POST.items():
        if key.startswith("fix-") and key[4:].isdigit() and value != "":
            corrections[int(key[4:])] = None if request.POST.get(f"null-{key[4:]}") else value
        elif key.startswith("null-") and key[5:].isdigit():
            corrections[int(key[5:])] = None
    dismiss = {int(v) for v in request.POST.getlist("dismiss") if v.isdigit()}
    changed = quarantine_correct(run_id=run.pk, corrections=corrections, dismiss=dismiss)
    messages.success(request, ngettext("%(count)d row saved.", "%(count)d rows saved.", changed)
                     % {"count": changed})
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/"):
        return redirect(back)
    return redirect("webui:quarantine-run", run_id=run.pk)


@page("staging.change_quarantinedrow")
@require_POST
def quarantine_replay_view(request, run_id):
    run = get_object_or_404(PipelineRun.objects.select_related("pipeline"), pk=run_id)
    try:
        result = run_quarantine_replay(run=run)
    except ValueError as exc:  # pipelines.decisions.ReplayRefused included
        messages.error(request, _("The replay did not happen: %(error)s") % {"error": exc})
    else:
        if result.replayed or result.still_failing or result.removed:
            messages.success(request, _("Replayed: %(loaded)d loaded, %(failing)d still failing, "
                                        "%(removed)d removed by transformations.")
                             % {"loaded": result.replayed, "failing": result.still_failing,
                                "removed": result.removed})
        else:
            messages.warning(request, _("Nothing to replay: correct or dismiss every value of a row first."))
    return redirect("webui:quarantine-run", run_id=run.pk)
