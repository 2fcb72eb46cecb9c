import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from etlsite.admin_utils import (
    SoftDeleteAdmin,
    changelist_url,
    count_subquery,
    form_for_user,
    link,
    pretty_json,
)
from pipelines.models import Pipeline
from sources.models import DataSource
from sources.secrets import mask_config
from sources.services import source_config_merge, source_server_files_errors, source_test_connection


class DataSourceForm(forms.ModelForm):
    """Shows connection_config with its secrets masked and keeps the stored secret where the mask comes back,
    unless the source now points elsewhere (sources.services.source_config_merge)."""

    user = None  # who saves: DataSourceAdmin.get_form sets it

    class Meta:
        model = DataSource
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin's fieldsets decide what is shown

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "connection_config" in self.fields:
            self.initial["connection_config"] = mask_config(self.instance.connection_config,
                                                            self.instance.source_type)
            self.fields["connection_config"].help_text = _(
                "Secrets (passwords, tokens, keys, API headers and parameters) are shown as ******** and kept as "
                "stored unless you type a new value in their place. Changing where the source points (its host, "
                "URL, port, bucket, brokers...) needs the secrets typed again."
            )

    def clean_connection_config(self):
        # self.instance still holds the stored values here: the form copies cleaned data onto it later.
        source_type = self.cleaned_data.get("source_type", self.instance.source_type)
        return source_config_merge(source=self.instance, source_type=source_type,
                                   config=self.cleaned_data["connection_config"])

    def clean(self):
        cleaned = super().clean()
        if "connection_config" in cleaned and cleaned.get("source_type"):
            for message in source_server_files_errors(
                    user=self.user, source_type=cleaned["source_type"],
                    config=cleaned["connection_config"], stored=self.instance if self.instance.pk else None):
                self.add_error("connection_config", message)
        return cleaned


@admin.register(DataSource)
class DataSourceAdmin(SoftDeleteAdmin):
    form = DataSourceForm
    list_display = ("name_with_state", "source_type", "is_active", "pipelines_link", "config_summary", "updated_at")
    list_display_links = ("name_with_state",)
    list_filter = ("source_type", "is_active", "is_deleted")
    search_fields = ("name", "description")
    readonly_fields = ("pipelines_link", "masked_connection_config", "created_at", "updated_at")
    restore_unique_field = "name"
    actions = [*SoftDeleteAdmin.actions, "test_connection"]
    fieldsets = (
        (None, {"fields": ("name", "description", "source_type", "is_active")}),
        (_("Connection"), {"fields": ("connection_config",)}),
        (_("State"), {"fields": ("pipelines_link", "is_deleted", "deleted_at", "created_at", "updated_at")}),
    )

    # Testing reaches out to the source's host (the network, a server's files): for those who may change the
    # source, not for viewers. Django offers the action only with the permission and refuses it without.
    @admin.action(description=_("Test the connection of selected sources"), permissions=["change"])
    def test_connection(self, request, queryset):
        for source in queryset:
            check = source_test_connection(source=source)
            level = messages.SUCCESS if check.ok else messages.ERROR
            self.message_user(request, gettext("%(source)s: %(result)s") % {
                "source": source.name, "result": check.message or (gettext("OK") if check.ok else "")}, level)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return form_for_user(form, request.user)  # server paths are judged by who saves them

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            pipeline_count=count_subquery(Pipeline, "data_source", is_deleted=False)
        )

    def get_search_results(self, request, queryset, search_term):
        """The pipeline form's source picker (autocomplete) offers live sources only; the list shows all."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            queryset = queryset.filter(is_deleted=False)
        return queryset, may_have_duplicates

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page renders every field as text: show the masked copy instead of the raw JSON.
            return [(name, {**opts, "fields": tuple("masked_connection_config" if f == "connection_config" else f
                                                    for f in opts["fields"])})
                    for name, opts in fieldsets]
        return fieldsets

    @admin.display(description=_("pipelines"), ordering="pipeline_count")
    def pipelines_link(self, obj):
        if obj.pk is None:
            return "-"
        count = getattr(obj, "pipeline_count", None)
        if count is None:
            count = obj.pipelines.count()
        text = ngettext("%(count)d pipeline", "%(count)d pipelines", count) % {"count": count}
        return link(changelist_url(Pipeline, data_source__id__exact=obj.pk, is_deleted__exact=0), text)

    @admin.display(description=_("connection configuration"))
    def config_summary(self, obj):
        text = json.dumps(mask_config(obj.connection_config, obj.source_type), ensure_ascii=False)
        return format_html("<code>{}</code>", Truncator(text).chars(80))

    @admin.display(description=_("connection configuration"))
    def masked_connection_config(self, obj):
        return pretty_json(mask_config(obj.connection_config, obj.source_type))
