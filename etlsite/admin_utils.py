"""Small pieces the admin classes of all apps share: links between rows, badges, soft delete, read-only rows."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override as translation_override

from etlsite.formatting import format_duration as humanized_duration

# Badge colours per status (several enumerations share a meaning): classes of static/site/admin_extra.css,
# not style attributes (the Content-Security-Policy allows styles from this site's files only).
STATUS_CLASSES = frozenset({
    "active", "cancelled", "completed", "critical", "deleted", "deprecated", "draft", "failed", "high",
    "in_progress", "inactive", "low", "medium", "pending", "processed", "processing", "running", "success",
    "uploaded",
})


def changelist_url(model, **filters) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def change_url(app_label: str, model_name: str, pk) -> str:
    """The change page of a row, built from its id alone (also for rows of another database)."""
    return reverse(f"admin:{app_label}_{model_name}_change", args=[quote(pk)])


def link(url: str, text) -> str:
    return format_html('<a href="{}">{}</a>', url, text)


def badge(value: str, label) -> str:
    if not value:
        return "-"
    status = value if value in STATUS_CLASSES else "other"
    return format_html('<span class="status-badge status-{}">{}</span>', status, label)


def pretty_json(value) -> str:
    return format_html('<pre class="pretty-json">{}</pre>',
                       json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return humanized_duration(seconds)


def count_subquery(model, fk_field: str, **filters) -> Coalesce:
    """COUNT of `model` rows pointing at the outer row, as a correlated subquery.

    Unlike Count() over a join it needs no GROUP BY over the whole outer table, so a changelist page of a
    huge table only counts for the rows it shows (each count uses the index on the foreign key).
    """
    counts = (
        model._base_manager.filter(**{fk_field: OuterRef("pk")}, **filters)
        .order_by().values(fk_field).annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class KeepDeletedTargetsMixin:
    """For foreign keys to soft-deletable models: the form offers live rows only (their default manager),
    which would make a row whose target was deleted meanwhile impossible to save; keep that target valid."""

    soft_deleted_fk_fields: tuple[str, ...] = ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        for name in self.soft_deleted_fk_fields:
            field = form.base_fields.get(name)
            current = getattr(obj, f"{name}_id", None) if obj is not None else None
            if field is not None and current is not None:
                field.queryset = field.queryset.model.all_objects.filter(Q(is_deleted=False) | Q(pk=current))
        return form


class SoftDeleteAdmin(KeepDeletedTargetsMixin, admin.ModelAdmin):
    """Admin of a SoftDeleteModel: lists deleted rows too, and deleting only marks rows as deleted.

    Subclasses set `restore_unique_field` to the field a conditional unique constraint covers among live rows
    (e.g. "name"), so restoring a row whose name was taken meanwhile is refused instead of failing.
    """

    restore_unique_field: str | None = None
    actions = ("soft_delete_selected", "restore_selected")

    def get_queryset(self, request):
        qs = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        if IS_POPUP_VAR in request.GET:
            # Raw-id pickers must not offer deleted rows.
            qs = qs.filter(is_deleted=False)
        return qs

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "is_deleted", "deleted_at")

    # On the add form these have no value yet ("Created at" would show the time the empty form was drawn).
    hidden_on_add = ("is_deleted", "deleted_at", "created_at", "updated_at", "runs_link", "pipelines_link")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        shown = [(name, {**opts, "fields": tuple(f for f in opts["fields"] if f not in self.hidden_on_add)})
                 for name, opts in fieldsets]
        return [(name, opts) for name, opts in shown if opts["fields"]]

    @admin.display(description=_("name"), ordering="name")
    def name_with_state(self, obj):
        if obj.is_deleted:
            return format_html('<del>{}</del> {}', str(obj), badge("deleted", gettext("deleted")))
        return str(obj)

    # --- the built-in delete (delete view and "Delete selected") soft-deletes -------------------------
    def delete_model(self, request, obj):
        if not obj.is_deleted:
            obj.soft_delete()

    def delete_queryset(self, request, queryset):
        self.model.all_objects.filter(pk__in=list(queryset.values_list("pk", flat=True)), is_deleted=False) \
            .soft_delete()

    def get_deleted_objects(self, objs, request):
        # Nothing cascades and nothing is protected: only the selected rows are marked.
        objs = list(objs)
        opts = self.model._meta
        perms_needed = set() if self.has_delete_permission(request) else {opts.verbose_name}
        to_delete = [
            format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name),
                        change_url(opts.app_label, opts.model_name, obj.pk), obj)
            for obj in objs
        ]
        return to_delete, {opts.verbose_name_plural: len(objs)}, perms_needed, []

    # --- actions ------------------------------------------------------------------------------------
    @admin.action(permissions=["delete"], description=_("Soft-delete selected %(verbose_name_plural)s"))
    def soft_delete_selected(self, request, queryset):
        rows = list(queryset.filter(is_deleted=False))
        self.model.all_objects.filter(pk__in=[row.pk for row in rows]).soft_delete()
        self._log_state_change(request, rows)
        self.message_user(request, ngettext("%(count)d row was soft-deleted.", "%(count)d rows were soft-deleted.",
                                            len(rows)) % {"count": len(rows)}, messages.SUCCESS)

    @admin.action(permissions=["delete"], description=_("Restore selected %(verbose_name_plural)s"))
    def restore_selected(self, request, queryset):
        rows = list(queryset.filter(is_deleted=True).order_by("-deleted_at", "pk"))
        restorable, conflicts = rows, []
        if self.restore_unique_field:
            restorable, conflicts = self._split_unique_conflicts(rows)
        self.model.all_objects.filter(pk__in=[row.pk for row in restorable]).restore()
        self._log_state_change(request, restorable)
        self.message_user(request, ngettext("%(count)d row was restored.", "%(count)d rows were restored.",
                                            len(restorable)) % {"count": len(restorable)}, messages.SUCCESS)
        if conflicts:
            self.message_user(
                request,
                gettext("Not restored, the name is used by a live row: %(names)s. Rename one of them first.")
                % {"names": ", ".join(str(row) for row in conflicts)},
                messages.ERROR,
            )

    def _split_unique_conflicts(self, rows):
        field = self.restore_unique_field
        taken = set(self.model.objects.filter(**{f"{field}__in": [getattr(r, field) for r in rows]})
                    .values_list(field, flat=True))
        restorable, conflicts = [], []
        for row in rows:  # most recently deleted first: that one wins among deleted namesakes
            value = getattr(row, field)
            (conflicts if value in taken else restorable).append(row)
            taken.add(value)
        return restorable, conflicts

    def _log_state_change(self, request, rows):
        # Stored like Django's own change messages: field names in the default language, translated on display.
        with translation_override(None):
            fields = [str(self.model._meta.get_field(name).verbose_name) for name in ("is_deleted", "deleted_at")]
            message = [{"changed": {"fields": fields}}]
        for row in rows:
            self.log_change(request, row, message)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the run engine writes: people look at them (and may delete them) but never add or edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def form_for_user(form: type, user) -> type:
    """`form` with `user` set on it, for a form whose checks depend on who saves (sources.read_server_files).
    The fields the admin prepared (querysets, help texts) are kept: a subclass alone would build them anew."""
    subclass = type(form.__name__, (form,), {"user": user})
    subclass.base_fields = form.base_fields
    return subclass
