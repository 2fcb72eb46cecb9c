"""Query-string filters of the ORM lists (django-filter). Periods are `created_after` / `created_before`
(ISO 8601 date or date-time; a bare date means its midnight in the server's time zone).

Filters take what the schema declares and refuse the rest with a 400 naming the parameter: an id (a foreign
key, a `pipeline_run_id`) is a whole number from 1 to 2^63-1 — an unknown one simply matches nothing, 0.5
or "null" is refused — and a parameter that is not a list is given once.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from drf_spectacular.utils import extend_schema_field

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


MAX_ID = 2**63 - 1


class WholeNumberField(forms.IntegerField):
    """Digits only: Django's IntegerField also takes "1.0" and " 1e0"-like forms the schema's integer does not."""

    def to_python(self, value):
        if isinstance(value, str) and value and not (value.lstrip("-").isdecimal() and value.isascii()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class TrueFalseField(forms.Field):
    """`true` or `false`, as the schema's boolean is written in a query string; empty: not filtered.
    (django-filter's BooleanFilter read anything else, "null" included, as "not filtered".)"""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value not in ("true", "false"):
            raise ValidationError(_("Use true or false."), code="invalid")
        return value == "true"


class TrueFalseFilter(django_filters.BooleanFilter):
    field_class = TrueFalseField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An id: a whole number, 1 to 2^63-1. An id no row has matches nothing (an empty page, not a 400)."""

    field_class = WholeNumberField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """Foreign keys and id columns filter through IdFilter; single-valued parameters given twice are refused."""

    FILTER_DEFAULTS = {**FILTER_FOR_DBFIELD_DEFAULTS,
                       models.ForeignKey: {"filter_class": IdFilter},
                       models.BigIntegerField: {"filter_class": IdFilter},
                       models.BooleanField: {"filter_class": TrueFalseFilter}}

    def is_valid(self):
        valid = super().is_valid()
        repeated = [name for name, flt in self.filters.items()
                    if not isinstance(flt, django_filters.MultipleChoiceFilter)
                    and hasattr(self.data, "getlist") and len(self.data.getlist(name)) > 1]
        for name in repeated:
            self.form.add_error(name, _("Give this parameter once."))
        return valid and not repeated


class PeriodFilterSet(StrictFilterSet):
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
    pipeline = IdFilter(field_name="pipeline_run__pipeline", label=_("Pipeline id."))

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
