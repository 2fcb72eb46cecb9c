"""Query-string filters of the ORM lists (django-filter). Periods are `created_after` / `created_before`
(ISO 8601 date or date-time; a bare date means its midnight in the server's time zone)."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from pipelines.models import AnalysisResult, Pipeline, PipelineRun
from sources.models import DataSource
from staging.models import FileMetadata, ProcessingLog, QuarantinedRow, StagingTable


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC: PostgreSQL refuses offsets beyond ±15:59, which
    ISO 8601 allows."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError(_("Enter a valid date/time."), code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class PeriodFilterSet(django_filters.FilterSet):
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                         label=_("Created at or after (ISO 8601)."))
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                          label=_("Created before (ISO 8601)."))


class SoftDeleteFilterSet(PeriodFilterSet):
    """Deleted rows are hidden unless `deleted=true` (only them) or `deleted=all` is asked for."""

    deleted = django_filters.ChoiceFilter(
        choices=(("false", "false"), ("true", "true"), ("all", "all")), method="filter_deleted",
        label=_("false (default): live rows; true: soft-deleted rows; all: both."))
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Name contains."))

    def filter_deleted(self, queryset, name, value):
        return queryset  # applied in filter_queryset, so that the default holds when the parameter is absent

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        value = self.form.cleaned_data.get("deleted") or "false"
        if value == "all":
            return queryset
        return queryset.filter(is_deleted=value == "true")


class DataSourceFilter(SoftDeleteFilterSet):
    class Meta:
        model = DataSource
        fields = ("source_type", "is_active")


class PipelineFilter(SoftDeleteFilterSet):
    tag = django_filters.CharFilter(method="filter_tag", label=_("Has this tag."))

    class Meta:
        model = Pipeline
        fields = ("status", "data_source")

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])


class PipelineRunFilter(PeriodFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PipelineRun._meta.get_field("status").choices)

    class Meta:
        model = PipelineRun
        fields = ("pipeline", "status", "triggered_by")


class AnalysisResultFilter(PeriodFilterSet):
    pipeline = django_filters.NumberFilter(field_name="pipeline_run__pipeline", label=_("Pipeline id."))

    class Meta:
        model = AnalysisResult
        fields = ("pipeline_run", "analysis_type", "is_alert", "alert_level")


class FileMetadataFilter(PeriodFilterSet):
    class Meta:
        model = FileMetadata
        fields = ("status", "pipeline_run_id", "uploaded_by", "file_hash")


class StagingTableFilter(PeriodFilterSet):
    class Meta:
        model = StagingTable
        fields = ("pipeline_run_id", "is_active", "source_type", "table_name")


class ProcessingLogFilter(PeriodFilterSet):
    class Meta:
        model = ProcessingLog
        fields = ("pipeline_run_id", "operation_type", "status", "table_name")


class QuarantinedRowFilter(PeriodFilterSet):
    class Meta:
        model = QuarantinedRow
        fields = ("pipeline_run_id", "staging_table", "column_name", "status", "rule")
