"""Serializers of the metadata database: sources, pipelines, runs, analysis results.

Writes are validated exactly as the admin validates them: the model's `full_clean()` (field validators,
`DataSource.clean()` with the connector's checks, `pipelines.validators` for configuration/cron/tags, the
"one live row per name" constraints). A source's secrets are write-only: responses show them masked, and an
update that sends the mask back (or leaves the configuration out) keeps the stored value.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.errors import django_errors
from api.jsonfields import StrictJSONField
from pipelines.models import AlertLevel, AnalysisResult, Pipeline, PipelineRun
from pipelines.services import pipeline_server_files_errors
from pipelines.targets import shared_target_permission_errors
from sources.models import DataSource
from sources.secrets import mask_config
from sources.services import source_config_merge, source_server_files_errors
from staging.ownership import upload_paths_hidden

SOFT_DELETE_FIELDS = ("is_deleted", "deleted_at", "created_at", "updated_at")


class FullCleanSerializer(serializers.ModelSerializer):
    """Runs the model's full_clean() on the instance as it would be saved, like a ModelForm does. JSON model
    fields become `StrictJSONField`s: the same checks in multipart and form bodies as in JSON ones."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.JSONField: StrictJSONField}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance or self.Meta.model()
        original = {name: getattr(instance, name) for name in attrs} if self.instance else {}
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(django_errors(exc)) from exc
        finally:
            for name, value in original.items():  # the instance is saved by save(), not here
                setattr(instance, name, value)
        return attrs


class DataSourceSerializer(FullCleanSerializer):
    connection_config = StrictJSONField(
        required=False,
        help_text=_("JSON object. Secrets (password, token, api_key, API headers and parameters...) are write-only: "
                    "shown as ******** and kept as stored when sent back as ******** or left out, unless the "
                    "source now points elsewhere (host, URL, port, bucket, brokers...): then they must be sent "
                    "again."))

    class Meta:
        model = DataSource
        fields = ("id", "name", "description", "source_type", "connection_config", "is_active", *SOFT_DELETE_FIELDS)
        read_only_fields = SOFT_DELETE_FIELDS
        # The name is unique among live rows only: full_clean() checks the conditional constraint.
        validators = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["connection_config"] = mask_config(instance.connection_config, instance.source_type)
        return data

    def validate(self, attrs):
        # Before full_clean: the connector checks the configuration with the stored secrets put back.
        source_type = attrs.get("source_type", getattr(self.instance, "source_type", None))
        type_changed = self.instance is not None and source_type != self.instance.source_type
        if "connection_config" in attrs or type_changed:
            # Left out while the type changes: the stored configuration, secrets masked, must pass the same rule.
            config = attrs["connection_config"] if "connection_config" in attrs else mask_config(
                self.instance.connection_config, source_type)
            try:
                attrs["connection_config"] = source_config_merge(source=self.instance, source_type=source_type,
                                                                 config=config)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"connection_config": exc.messages}) from exc
        attrs = super().validate(attrs)
        request = self.context.get("request")
        source_type = attrs.get("source_type", getattr(self.instance, "source_type", None))
        config = attrs.get("connection_config", getattr(self.instance, "connection_config", {}))
        errors = source_server_files_errors(user=getattr(request, "user", None), source_type=source_type,
                                            config=config, stored=self.instance)
        if errors:
            raise serializers.ValidationError({"connection_config": errors})
        return attrs


class PipelineSerializer(FullCleanSerializer):
    data_source = serializers.PrimaryKeyRelatedField(queryset=DataSource.objects.all())

    class Meta:
        model = Pipeline
        fields = ("id", "name", "description", "data_source", "status", "configuration", "schedule_cron",
                  "max_retries", "timeout_seconds", "tags", *SOFT_DELETE_FIELDS)
        read_only_fields = SOFT_DELETE_FIELDS
        validators = []

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "configuration" in attrs:
            request = self.context.get("request")
            errors = pipeline_server_files_errors(user=getattr(request, "user", None),
                                                  config=attrs["configuration"], stored=self.instance)
            if errors:
                raise serializers.ValidationError({"configuration": errors})
        self._shared_target_check(attrs)
        return attrs

    def _shared_target_check(self, attrs):
        """The target table another live pipeline loads needs a permission (pipelines.targets)."""
        request = self.context.get("request")
        candidate = Pipeline(pk=getattr(self.instance, "pk", None),
                             name=attrs.get("name", getattr(self.instance, "name", "")),
                             configuration=attrs.get("configuration", getattr(self.instance, "configuration", {})))
        errors = shared_target_permission_errors(user=getattr(request, "user", None), pipeline=candidate,
                                                 stored=self.instance)
        if errors:
            raise serializers.ValidationError(errors)

    def get_fields(self):
        fields = super().get_fields()
        # A pipeline whose source was deleted meanwhile can still be saved without changing the source.
        current = getattr(self.instance, "data_source_id", None)
        if current is not None:
            fields["data_source"].queryset = DataSource.all_objects.filter(Q(is_deleted=False) | Q(pk=current))
        return fields


# How far a run is at each step the engine reports (run_progress); "done" is 100.
STEP_PERCENT = {"pending": 0, "retry_wait": 0, "extract": 10, "stage": 25, "validate": 40, "transform": 55,
                "load": 70, "commit": 85, "analyze": 95, "done": 100}


class ProgressSerializer(serializers.Serializer):
    step = serializers.CharField(allow_blank=True)
    percent = serializers.IntegerField(allow_null=True)
    rows_read = serializers.IntegerField(allow_null=True)
    rows_loaded = serializers.IntegerField(allow_null=True)
    rows_quarantined = serializers.IntegerField(allow_null=True)


def _int_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def run_progress(run: PipelineRun) -> dict:
    """The progress bar of a run, from what the engine wrote to execution_context."""
    ctx = run.execution_context or {}
    step = str(ctx.get("step") or run.status)
    percent = ctx.get("percent")
    if run.status == "success":
        percent = 100
    elif not isinstance(percent, int | float) or isinstance(percent, bool):
        percent = STEP_PERCENT.get(step)
    return {"step": step, "percent": None if percent is None else int(percent),
            "rows_read": _int_or_none(ctx.get("rows_read")), "rows_loaded": _int_or_none(ctx.get("rows_loaded")),
            "rows_quarantined": _int_or_none(ctx.get("rows_quarantined"))}


class PipelineRunSerializer(serializers.ModelSerializer):
    pipeline_name = serializers.CharField(source="pipeline.name", read_only=True)
    # In the reader's language (etlsite.messages); the stored English text for runs without a message.
    error_message = serializers.CharField(source="error_text", read_only=True)
    progress = serializers.SerializerMethodField()
    execution_context = serializers.SerializerMethodField()

    class Meta:
        model = PipelineRun
        fields = ("id", "pipeline", "pipeline_name", "status", "progress", "started_at", "finished_at",
                  "duration_seconds", "records_processed", "records_failed", "error_message", "retry_count",
                  "triggered_by", "execution_context", "created_at", "updated_at")
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, run) -> dict:
        return run_progress(run)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_execution_context(self, run) -> dict:
        reader = getattr(self.context.get("request"), "user", None)
        return upload_paths_hidden(user=reader, data=mask_config(run.execution_context or {}))


class RunTriggerSerializer(serializers.Serializer):
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(),
                                                  help_text=_("The pipeline to run."))
    file = serializers.FileField(required=False, help_text=_("Optional: a file to read instead of the "
                                                             "source's file_path (multipart upload)."))
    file_id = serializers.IntegerField(required=False, min_value=1,
                                       help_text=_("Optional: an uploaded file (see /files/) to read."))
    load_again = serializers.BooleanField(required=False, default=False,
                                          help_text=_("Load the file even if this pipeline loaded the same bytes "
                                                      "before (by default such a run is skipped)."))

    def validate(self, attrs):
        if attrs.get("file") and attrs.get("file_id"):
            raise serializers.ValidationError({"file_id": [_("Send either a file or a file_id, not both.")]})
        return attrs


class AnalysisResultSerializer(serializers.ModelSerializer):
    # "" when there is no alert: declared so the schema's enum admits it.
    alert_level = serializers.ChoiceField(choices=AlertLevel.choices, allow_blank=True, read_only=True)
    # Stored as codes; worded in the request's language (analytics.recommendations).
    recommendations = serializers.ListField(child=serializers.CharField(), source="recommendation_texts",
                                            read_only=True)

    class Meta:
        model = AnalysisResult
        fields = ("id", "pipeline_run", "analysis_type", "result_data", "metrics", "recommendations", "is_alert",
                  "alert_level", "created_at", "updated_at")
        read_only_fields = fields
