"""Schema changes: pending column diffs of pipelines whose policy asks for approval, and target tables whose
column types the data no longer has (with a preview of the migration); approve or reject."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from analytics.clickhouse import ClickHouseError, get_target
from analytics.masking import MASK, columns_to_mask
from pipelines.decisions import schema_change_decision
from pipelines.models import SchemaChange, SchemaChangeKind
from pipelines.selectors import schema_changes_for_page
from pipelines.type_changes import (
    TypeChangeRefused,
    method_label,
    type_change_apply,
    type_change_preview,
)
from webui.access import page

RECENT = 20


@page("pipelines.view_schemachange")
@require_GET
def schema_changes(request):
    pending, decided = schema_changes_for_page(RECENT)
    for change in pending:
        if change.kind == SchemaChangeKind.TYPES:
            try:
                change.preview = type_change_preview(change)
                _mask_examples(request.user, change.preview)
            except ClickHouseError as exc:  # the table is gone, ClickHouse is down...: said on the page
                change.preview_error = str(exc)
    return render(request, "webui/schema_changes.html", {
        "pending": pending, "decided": decided,
        "can_change": request.user.has_perm("pipelines.change_schemachange"),
    })


def _mask_examples(user, preview) -> None:
    """Example values of sensitive columns are hidden from people who may not see them (analytics.masking)."""
    hidden = columns_to_mask(user, get_target(), preview.table)
    for column in preview.columns:
        if column.column in hidden:
            column.examples = [MASK] * len(column.examples)


@page("pipelines.change_schemachange")
@require_POST
def schema_change_decide_view(request, change_id):
    change = get_object_or_404(SchemaChange.objects.select_related("pipeline"), pk=change_id)
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, _("Choose approve or reject."))
        return redirect("webui:schema-changes")
    approve = decision == "approve"
    if approve and change.kind == SchemaChangeKind.TYPES:
        return _migrate(request, change)
    if schema_change_decision(change=change, approve=approve, by=request.user.get_username()):
        messages.success(request, (_("Schema change of %(pipeline)s approved.") if approve
                                   else _("Schema change of %(pipeline)s rejected.")) % {"pipeline": change.pipeline})
    else:
        messages.warning(request, _("This change was already decided."))
    return redirect("webui:schema-changes")


def _migrate(request, change: SchemaChange):
    try:
        result = type_change_apply(change=change, by=request.user.get_username(), user_id=request.user.pk,
                                   null_unconvertible=request.POST.get("null_unconvertible") == "1")
    except TypeChangeRefused as exc:
        messages.warning(request, str(exc))
    except ClickHouseError as exc:
        messages.error(request, _("The table of %(pipeline)s was not migrated: %(error)s")
                       % {"pipeline": change.pipeline, "error": exc})
    else:
        messages.success(request, ngettext(
            "The table of %(pipeline)s was migrated (%(method)s, %(rows)d row); the next run loads.",
            "The table of %(pipeline)s was migrated (%(method)s, %(rows)d rows); the next run loads.", result.rows)
            % {"pipeline": change.pipeline, "method": method_label(result.method), "rows": result.rows})
    return redirect("webui:schema-changes")
