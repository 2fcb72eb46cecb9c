"""Staging rows are written by the run engine: the admin shows them read-only (they can still be deleted).

`pipeline_run_id` points into the metadata database; it is shown as a link built from the id, without a query.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from analytics.masking import MASK
from etlsite.admin_utils import (
    ReadOnlyAdmin,
    badge,
    change_url,
    format_duration,
    link,
    pretty_json,
)
from etlsite.formatting import format_bytes
from sources.secrets import mask_config
from staging.admin_viewer import ViewerAwareAdmin, for_viewer
from staging.masking import QuarantineMasker
from staging.models import FileMetadata, ProcessingLog, QuarantinedRow, QuarantineStatus, StagingTable
from staging.ownership import uploads_visible


class StagingAdmin(ReadOnlyAdmin):
    show_full_result_count = False

    @admin.display(description=_("pipeline run"), ordering="pipeline_run_id")
    def run_link(self, obj):
        if obj.pipeline_run_id is None:
            return "-"
        return link(change_url("pipelines", "pipelinerun", obj.pipeline_run_id), f"#{obj.pipeline_run_id}")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())


@admin.register(StagingTable)
class StagingTableAdmin(ViewerAwareAdmin, StagingAdmin):
    list_display = ("__str__", "source_type", "row_count", "column_count", "size", "is_active", "expires_at",
                    "run_link", "created_at")
    list_filter = ("source_type", "is_active", "expires_at", "created_at")
    search_fields = ("table_name", "schema_name")
    fields = ("table_name", "schema_name", "source_type", "masked_source_config", "row_count", "column_count",
              "size", "is_active", "expires_at", "run_link", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description=_("size"), ordering="file_size_bytes")
    def size(self, obj):
        return format_bytes(obj.file_size_bytes)

    @admin.display(description=_("source configuration"))
    def masked_source_config(self, obj):
        # It may be a copy of a source's connection_config.
        return pretty_json(for_viewer(obj, mask_config(obj.source_config)))


@admin.register(FileMetadata)
class FileMetadataAdmin(StagingAdmin):
    list_display = ("original_filename", "status_badge", "size", "mime_type", "encoding", "uploaded_by", "run_link",
                    "created_at")
    list_filter = ("status", "mime_type", "encoding", "created_at")
    search_fields = ("original_filename", "filename", "=file_hash", "uploaded_by")
    date_hierarchy = "created_at"
    fields = ("original_filename", "filename", "file_path", "size", "file_hash", "mime_type", "encoding", "status",
              "uploaded_by", "processing_started_at", "processing_finished_at", "error_message", "metadata",
              "run_link", "created_at", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return uploads_visible(user=request.user, queryset=super().get_queryset(request))

    @admin.display(description=_("file size"), ordering="file_size")
    def size(self, obj):
        return format_bytes(obj.file_size)


@admin.register(ProcessingLog)
class ProcessingLogAdmin(ViewerAwareAdmin, StagingAdmin):
    list_display = ("id", "table_name", "operation_type", "status_badge", "records_processed", "records_success",
                    "records_failed", "processing_time", "started_at", "run_link")
    list_filter = ("operation_type", "status", "created_at")
    search_fields = ("table_name", "error_message")
    date_hierarchy = "created_at"
    fields = ("table_name", "operation_type", "status", "records_processed", "records_success", "records_failed",
              "processing_time", "started_at", "finished_at", "error_message", "masked_execution_context",
              "run_link", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description=_("processing time"), ordering="processing_time_seconds")
    def processing_time(self, obj):
        return format_duration(obj.processing_time_seconds)

    @admin.display(description=_("execution context"))
    def masked_execution_context(self, obj):
        return pretty_json(for_viewer(obj, mask_config(obj.execution_context)))


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(admin.ModelAdmin):
    """People correct values in place (list_editable) and replay the corrected rows into the target."""

    list_display = ("id", "run_link", "row_number", "column_name", "short_value", "rule", "reason_shown", "status",
                    "corrected_value")
    list_editable = ("status", "corrected_value")
    list_filter = ("status", "rule", "created_at")
    search_fields = ("column_name", "value", "reason")
    show_full_result_count = False
    readonly_fields = ("pipeline_run_id", "staging_table", "row_number", "column_name", "value", "reason", "rule",
                       "created_at", "updated_at", "reason_shown")
    actions = ["replay", "dismiss"]

    def has_add_permission(self, request):
        return False

    run_link = StagingAdmin.run_link

    @admin.display(description=_("value"))
    def short_value(self, obj):
        return _short(obj.value)

    @admin.display(description=_("value"))
    def masked_value(self, obj):
        return MASK

    @admin.display(description=_("reason"))
    def reason_shown(self, obj):
        return obj.reason_text  # in the reader's language (the stored text is English)

    @admin.display(description=_("reason"))
    def masked_reason(self, obj):
        return obj.reason_text.replace(obj.value, MASK) if obj.value else obj.reason_text

    # Values of sensitive columns are hidden from users without analytics.view_sensitive_data: the list asks
    # the catalog once per run, through a masker made for this request.
    def get_list_display(self, request):
        masker = QuarantineMasker(request.user)
        if masker.allowed:
            return self.list_display

        @admin.display(description=_("value"))
        def shown_value(obj):
            return _short(masker.value(obj))

        @admin.display(description=_("reason"))
        def shown_reason(obj):
            return masker.reason(obj)

        swap = {"short_value": shown_value, "reason_shown": shown_reason}
        return [swap.get(name, name) for name in self.list_display]

    def get_search_fields(self, request):
        # Searching by value would tell a user whether a hidden value is there.
        if QuarantineMasker(request.user).allowed:
            return self.search_fields
        return tuple(name for name in self.search_fields if name not in ("value", "reason"))

    def _hides_value(self, request, obj) -> bool:
        return obj is not None and QuarantineMasker(request.user).value(obj) is MASK

    def get_fields(self, request, obj=None):
        # The reason is shown in the reader's language; the message it is rendered from is not for editing.
        fields = [name for name in super().get_fields(request, obj) if name not in ("reason_shown", "reason_message")]
        swap = ({"value": "masked_value", "reason": "masked_reason"} if self._hides_value(request, obj)
                else {"reason": "reason_shown"})
        return [swap.get(name, name) for name in fields]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "masked_value", "masked_reason") if self._hides_value(request, obj) else fields

    @admin.action(description=_("Dismiss selected rows (they stay out of the target)"), permissions=["change"])
    def dismiss(self, request, queryset):
        count = queryset.update(status=QuarantineStatus.DISMISSED)
        self.message_user(request, ngettext("%(count)d row dismissed.", "%(count)d rows dismissed.", count)
                          % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Replay corrected rows of the selected rows' runs into the target"),
                  permissions=["change"])
    def replay(self, request, queryset):
        from pipelines.decisions import run_quarantine_replay
        from pipelines.selectors import run_with_pipeline

        for run_id in sorted(set(queryset.values_list("pipeline_run_id", flat=True))):
            run = run_with_pipeline(run_id)
            if run is None:
                continue
            try:
                result = run_quarantine_replay(run=run)
            except ValueError as exc:  # pipelines.decisions.ReplayRefused included
                self.message_user(request, gettext("Run #%(id)d: %(error)s") % {"id": run_id, "error": exc},
                                  messages.ERROR)
                continue
            self.message_user(request, gettext(
                "Run #%(id)d: %(replayed)d rows loaded, %(failing)d still failing, %(removed)d removed by "
                "transformations.") % {"id": run_id, "replayed": result.replayed, "failing": result.still_failing,
                                       "removed": result.removed}, messages.SUCCESS)


def _short(value):
    return "NULL" if value is None else (value[:80] + "…" if len(value) > 80 else value)
