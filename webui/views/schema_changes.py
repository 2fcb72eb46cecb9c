"""Schema changes: pending column diffs of pipelines whose policy asks for approval; approve or reject."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pipelines.engine.drift import describe, schema_change_decide
from pipelines.models import SchemaChange, SchemaChangeStatus
from webui.access import page

RECENT = 20


@page("pipelines.view_schemachange")
@require_GET
def schema_changes(request):
    changes = SchemaChange.objects.select_related("pipeline", "pipeline_run")
    pending = list(changes.filter(status=SchemaChangeStatus.PENDING).order_by("created_at"))
    decided = list(changes.exclude(status=SchemaChangeStatus.PENDING).order_by("-decided_at")[:RECENT])
    for change in pending + decided:
        change.summary = describe(change.diff)
    return render(request, "webui/schema_changes.html", {
        "pending": pending, "decided": decided,
        "can_change": request.user.has_perm("pipelines.change_schemachange"),
    })


@page("pipelines.change_schemachange")
@require_POST
def schema_change_decide_view(request, change_id):
    change = get_object_or_404(SchemaChange, pk=change_id)
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, _("Choose approve or reject."))
        return redirect("webui:schema-changes")
    approve = decision == "approve"
    if schema_change_decide(change=change, approve=approve, by=request.user.get_username()):
        messages.success(request, (_("Schema change of %(pipeline)s approved.") if approve
                                   else _("Schema change of %(pipeline)s rejected.")) % {"pipeline": change.pipeline})
    else:
        messages.warning(request, _("This change was already decided."))
    return redirect("webui:schema-changes")
