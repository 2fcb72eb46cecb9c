from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from etlsite.admin_utils import (
    KeepDeletedTargetsMixin,
    SoftDeleteAdmin,
    badge,
    change_url,
    changelist_url,
    count_subquery,
    form_for_user,
    format_duration,
    link,
    pretty_json,
)
from pipelines.config_json_schema import configuration_json_schema
from pipelines.decisions import schema_change_decision
from pipelines.models import (
    Alert,
    AnalysisResult,
    Pipeline,
    PipelineRun,
    RunStatus,
    SchemaChange,
    SchemaChangeKind,
)
from pipelines.selectors import schema_change_summary
from pipelines.services import pipeline_may_run, pipeline_server_files_errors, run_cancel, run_enqueue, run_rerun
from pipelines.targets import shared_target_permission_errors
from pipelines.widgets import JSONSchemaEditor, TagsField
from sources.secrets import mask_config
from staging.admin_viewer import ViewerAwareAdmin, for_viewer
from staging.models import FileMetadata, ProcessingLog, StagingTable

admin.site.site_header = _("ETL system")
admin.site.site_title = _("ETL system")
admin.site.index_title = _("Administration")


class PipelineForm(forms.ModelForm):
    """Judges the reference files a configuration names by who saves it (sources.read_server_files); tags as a
    comma-separated line and the configuration in a schema-driven editor (pipelines.widgets)."""

    user = None
    tags = TagsField(label=capfirst(Pipeline._meta.get_field("tags").verbose_name))

    class Meta:
        model = Pipeline
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin's fieldsets decide what is shown
        widgets = {"configuration": JSONSchemaEditor(configuration_json_schema)}

    def clean(self):
        cleaned = super().clean()
        if "configuration" in cleaned:
            for message in pipeline_server_files_errors(
                    user=self.user, config=cleaned["configuration"],
                    stored=self.instance if self.instance.pk else None):
                self.add_error("configuration", message)
        return cleaned

    def _post_clean(self):
        # After the model's checks: only then does the instance hold the form's name and configuration.
        super()._post_clean()
        if self.errors:
            return
        stored = Pipeline.all_objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        for field, problems in shared_target_permission_errors(user=self.user, pipeline=self.instance,
                                                               stored=stored).items():
            for message in problems:
                self.add_error(field if field in self.fields else None, message)


@admin.register(Pipeline)
class PipelineAdmin(SoftDeleteAdmin):
    form = PipelineForm
    list_display = ("name_with_state", "source_link", "status_badge", "schedule_cron", "runs_link", "tags",
                    "updated_at")
    list_display_links = ("name_with_state",)
    list_filter = ("status", "is_deleted", "data_source", "data_source__source_type")
    list_select_related = ("data_source",)
    search_fields = ("name", "description", "data_source__name")
    autocomplete_fields = ("data_source",)  # searched by DataSourceAdmin.search_fields, live sources only
    soft_deleted_fk_fields = ("data_source",)
    restore_unique_field = "name"
    readonly_fields = ("source_link", "runs_link", "created_at", "updated_at")
    actions = [*SoftDeleteAdmin.actions, "run_now", "clone"]
    fieldsets = (
        (None, {"fields": ("name", "description", "data_source", "status", "tags")}),
        (_("Processing"), {"fields": ("configuration", "schedule_cron", "max_retries", "timeout_seconds")}),
        (_("State"), {"fields": ("runs_link", "is_deleted", "deleted_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(run_count=count_subquery(PipelineRun, "pipeline"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "configuration" in form.base_fields:
            form.base_fields["configuration"].help_text = transformations_help()
        return form_for_user(form, request.user)  # reference files are judged by who saves (PipelineForm)

    @admin.action(description=_("Run selected pipelines now"), permissions=["change"])
    def run_now(self, request, queryset):
        runnable = [p for p in queryset if pipeline_may_run(p)]
        for pipeline in runnable:
            run_enqueue(pipeline=pipeline, triggered_by=request.user.get_username())
        skipped = len(queryset) - len(runnable)
        self.message_user(request, ngettext("%(count)d run queued.", "%(count)d runs queued.", len(runnable))
                          % {"count": len(runnable)}, messages.SUCCESS)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d deleted or deprecated pipeline was not run.",
                "%(count)d deleted or deprecated pipelines were not run.", skipped) % {"count": skipped},
                messages.WARNING)

    @admin.action(description=_("Clone selected pipelines (as drafts)"), permissions=["add"])
    def clone(self, request, queryset):
        from pipelines.cloning import pipeline_clone

        clones = [pipeline_clone(pipeline=pipeline) for pipeline in queryset.select_related("data_source")]
        self.message_user(request, ngettext("%(count)d pipeline cloned: %(names)s.",
                                            "%(count)d pipelines cloned: %(names)s.", len(clones))
                          % {"count": len(clones), "names": ", ".join(c.name for c in clones)}, messages.SUCCESS)

    @admin.display(description=_("data source"), ordering="data_source__name")
    def source_link(self, obj):
        if obj.data_source_id is None:
            return "-"
        return link(change_url("sources", "datasource", obj.data_source_id), obj.data_source)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("runs"), ordering="run_count")
    def runs_link(self, obj):
        if obj.pk is None:
            return "-"
        count = getattr(obj, "run_count", None)
        if count is None:
            count = obj.runs.count()
        text = ngettext("%(count)d run", "%(count)d runs", count) % {"count": count}
        return link(changelist_url(PipelineRun, pipeline__id__exact=obj.pk), text)


@admin.register(PipelineRun)
class PipelineRunAdmin(ViewerAwareAdmin, KeepDeletedTargetsMixin, admin.ModelAdmin):
    list_display = ("id", "pipeline_link", "status_badge", "progress", "started_at", "duration",
                    "records_processed", "records_failed_display", "triggered_by", "retry_count", "results_link",
                    "page_links")
    list_filter = ("status", "pipeline", "started_at")
    list_select_related = ("pipeline",)
    search_fields = ("pipeline__name", "triggered_by", "error_message")
    # No date_hierarchy: over a long history its DISTINCT month scan cost more than the page's own query,
    # and the started_at filter already narrows by period. Fifty rows a page keep rendering short.
    list_per_page = 50
    raw_id_fields = ("pipeline",)
    soft_deleted_fk_fields = ("pipeline",)
    show_full_result_count = False
    actions = ["cancel_runs", "rerun_failed"]
    readonly_fields = ("results_link", "staging_links", "page_links", "progress", "masked_execution_context",
                       "created_at", "updated_at", "error_shown")
    fieldsets = (
        (None, {"fields": ("pipeline", "status", "triggered_by", "retry_count")}),
        (_("Timing"), {"fields": ("started_at", "finished_at", "duration_seconds")}),
        (_("Records"), {"fields": ("records_processed", "records_failed", "error_shown")}),
        (_("Details"), {"fields": ("progress", "page_links", "results_link", "staging_links",
                                   "masked_execution_context", "created_at", "updated_at")}),
    )

    @admin.display(description=_("error message"))
    def error_shown(self, obj):
        return obj.error_text  # in the reader's language (the stored text is English)

    def get_queryset(self, request):
        from webui.timeline import run_duration_expression

        return super().get_queryset(request).annotate(result_count=count_subquery(AnalysisResult, "pipeline_run"),
                                                      whole_duration=run_duration_expression())

    @admin.action(description=_("Cancel selected runs"), permissions=["change"])
    def cancel_runs(self, request, queryset):
        user = request.user.get_username()
        done = sum(run_cancel(run=run, by=user) for run in queryset)
        self.message_user(request, ngettext("%(count)d run cancelled.", "%(count)d runs cancelled.", done)
                          % {"count": done}, messages.SUCCESS)
        if done < len(queryset):
            self.message_user(request, gettext("Runs that had already ended were left as they were."),
                              messages.WARNING)

    @admin.action(description=_("Re-run selected failed runs"), permissions=["change"])
    def rerun_failed(self, request, queryset):
        failed = [run for run in queryset.select_related("pipeline") if run.status == RunStatus.FAILED]
        for run in failed:
            run_rerun(run=run, triggered_by=request.user.get_username())
        self.message_user(request, ngettext("%(count)d run queued again.", "%(count)d runs queued again.",
                                            len(failed)) % {"count": len(failed)}, messages.SUCCESS)
        if len(failed) < len(queryset):
            self.message_user(request, gettext("Only failed runs are re-run; the others were skipped."),
                              messages.WARNING)

    @admin.display(description=_("pipeline"), ordering="pipeline__name")
    def pipeline_link(self, obj):
        if obj.pipeline_id is None:
            return "-"
        return link(change_url("pipelines", "pipeline", obj.pipeline_id), obj.pipeline)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description=_("duration"), ordering="whole_duration")
    def duration(self, obj):
        from webui.timeline import run_duration

        # the whole run's, retries and their waits included, as on the run page (duration_seconds is the last
        # attempt's)
        return format_duration(run_duration(obj))

    @admin.display(description=_("records failed"), ordering="records_failed")
    def records_failed_display(self, obj):
        if obj.records_failed:
            return format_html('<strong class="records-failed">{}</strong>', obj.records_failed)
        return obj.records_failed

    @admin.display(description=_("analysis results"), ordering="result_count")
    def results_link(self, obj):
        if obj.pk is None:
            return "-"
        count = getattr(obj, "result_count", None)
        if count is None:
            count = obj.analysis_results.count()
        text = ngettext("%(count)d analysis result", "%(count)d analysis results", count) % {"count": count}
        return link(changelist_url(AnalysisResult, pipeline_run__id__exact=obj.pk), text)

    @admin.display(description=_("staging"))
    def staging_links(self, obj):
        if obj.pk is None:
            return "-"
        # Another database: link to the filtered lists without counting there.
        models = ((ProcessingLog, gettext("processing logs")), (FileMetadata, gettext("files")),
                  (StagingTable, gettext("staging tables")))
        return format_html_join(" | ", '<a href="{}">{}</a>',
                                ((changelist_url(model, pipeline_run_id__exact=obj.pk), text)
                                 for model, text in models))

    @admin.display(description=_("execution context"))
    def masked_execution_context(self, obj):
        return pretty_json(for_viewer(obj, mask_config(obj.execution_context)))

    @admin.display(description=_("progress"))
    def progress(self, obj):
        if obj.pk is None:
            return "-"
        from webui.progress import run_progress_payload

        data = run_progress_payload(obj)
        return format_html('<progress max="100" value="{}" title="{}"></progress> {}', data["percent"],
                           data["step_label"], data["step_label"])

    @admin.display(description=_("run page"))
    def page_links(self, obj):
        if obj.pk is None:
            return "-"
        links = ((reverse("webui:run-detail", args=[obj.pk]), gettext("details")),
                 (reverse("webui:run-logs", args=[obj.pk]), gettext("logs as text")),
                 (reverse("webui:quarantine-run", args=[obj.pk]), gettext("quarantine")))
        return format_html_join(" | ", '<a href="{}">{}</a>', links)


@admin.register(AnalysisResult)
class AnalysisResultAdmin(admin.ModelAdmin):
    list_display = ("id", "analysis_type", "run_link", "is_alert", "alert_badge", "created_at")
    list_filter = ("analysis_type", "is_alert", "alert_level")
    list_select_related = ("pipeline_run__pipeline",)
    search_fields = ("pipeline_run__pipeline__name",)
    date_hierarchy = "created_at"
    raw_id_fields = ("pipeline_run",)
    show_full_result_count = False
    readonly_fields = ("run_link", "recommendation_list", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("pipeline_run", "run_link", "analysis_type", "is_alert", "alert_level")}),
        (_("Findings"), {"fields": ("result_data", "metrics", "recommendation_list")}),
        (_("State"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("recommendations"))
    def recommendation_list(self, obj):
        texts = obj.recommendation_texts
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((t,) for t in texts))) if texts else "-"

    @admin.display(description=_("pipeline run"), ordering="pipeline_run_id")
    def run_link(self, obj):
        if obj.pipeline_run_id is None:
            return "-"
        run = obj.pipeline_run
        return link(change_url("pipelines", "pipelinerun", run.pk),
                    gettext("%(pipeline)s, run #%(id)d") % {"pipeline": run.pipeline, "id": run.pk})

    @admin.display(description=_("alert level"), ordering="alert_level")
    def alert_badge(self, obj):
        return badge(obj.alert_level, obj.get_alert_level_display())


@admin.register(SchemaChange)
class SchemaChangeAdmin(admin.ModelAdmin):
    list_display = ("pipeline", "kind", "summary", "status_badge", "pipeline_run", "decided_by", "decided_at",
                    "created_at")
    list_filter = ("status", "kind", "pipeline")
    list_select_related = ("pipeline",)
    search_fields = ("pipeline__name",)
    raw_id_fields = ("pipeline", "pipeline_run")
    readonly_fields = ("pipeline", "pipeline_run", "kind", "summary", "diff", "fingerprint", "status", "decided_by",
                       "decided_at", "last_error", "result", "created_at", "updated_at")
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False  # changes are detected by runs, never typed in

    @admin.display(description=_("change"))
    def summary(self, obj):
        return schema_change_summary(obj)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    def _decide(self, request, queryset, approve: bool):
        if approve and queryset.filter(kind=SchemaChangeKind.TYPES).exists():
            # Approving a type change migrates a table after a preview: the page or the command does that.
            self.message_user(request, gettext("Changes of column types are approved on the Schema changes page "
                                               "or with manage.py migrate_target_types, after their preview."),
                              messages.WARNING)
            queryset = queryset.exclude(kind=SchemaChangeKind.TYPES)
        done = sum(schema_change_decision(change=c, approve=approve, by=request.user.get_username())
                   for c in queryset)
        text = (ngettext("%(count)d schema change approved.", "%(count)d schema changes approved.", done)
                if approve else
                ngettext("%(count)d schema change rejected.", "%(count)d schema changes rejected.", done))
        self.message_user(request, text % {"count": done}, messages.SUCCESS)
        if done < len(queryset):
            self.message_user(request, gettext("Changes already decided were left as they were."),
                              messages.WARNING)

    @admin.action(description=_("Approve selected schema changes"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=_("Reject selected schema changes"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


def transformations_help():
    """The transformation registry as help under the configuration field: each step and its parameters."""
    from pipelines.transformations import describe_registry

    items = format_html_join(
        "", "<li><code>{}</code> — {}{}</li>",
        ((step["name"], step["description"], format_html_join(
            "", "<br><small><code>{}</code>{}: {}</small>",
            ((p["name"], "" if p["required"] else gettext(" (optional)"), p["description"])
             for p in step["parameters"]))) for step in describe_registry()))
    return format_html("{}<ul>{}</ul>", gettext(
        'JSON: "validation_rules", "transformations" (step names or {"name": ..., "params": {...}}), '
        '"references", "target", "schema_policy", "write_mode" ("append", "replace" or "merge" with '
        '"merge_key": [columns]). Steps:'), items)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are opened and resolved by runs; people read them here (and receive them by e-mail/webhook)."""

    list_display = ("pipeline", "condition", "status_badge", "occurrences", "opened_at", "last_notified_at",
                    "resolved_at", "last_run")
    list_filter = ("status", "condition", "pipeline")
    list_select_related = ("pipeline", "last_run")
    raw_id_fields = ("pipeline", "last_run")
    date_hierarchy = "opened_at"
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())
