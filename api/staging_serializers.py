"""Serializers of the staging database: uploaded files, staging tables, processing logs, quarantined rows."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipelines.models import Pipeline
from sources.secrets import mask_config
from staging.models import FileMetadata, ProcessingLog, QuarantinedRow, StagingTable
from staging.ownership import upload_paths_hidden


def _reader(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class FileMetadataSerializer(serializers.ModelSerializer):
    class Meta:
        model = FileMetadata
        # file_path is where the server keeps the file: not the caller's business.
        fields = ("id", "filename", "original_filename", "file_size", "file_hash", "mime_type", "encoding", "status",
                  "uploaded_by", "processing_started_at", "processing_finished_at", "error_message", "metadata",
                  "pipeline_run_id", "created_at", "updated_at")
        read_only_fields = fields


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The file (CSV, TSV, JSON, JSON Lines, Parquet, Excel; .gz or .zip)."))
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False,
        help_text=_("Optional: start a run of this pipeline on the file."))


class StagingTableSerializer(serializers.ModelSerializer):
    source_config = serializers.SerializerMethodField()

    class Meta:
        model = StagingTable
        fields = ("id", "table_name", "schema_name", "source_type", "source_config", "row_count", "column_count",
                  "file_size_bytes", "is_active", "expires_at", "pipeline_run_id", "created_at", "updated_at")
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_source_config(self, obj) -> dict:
        return upload_paths_hidden(user=_reader(self), data=mask_config(obj.source_config or {}))


class ProcessingLogSerializer(serializers.ModelSerializer):
    execution_context = serializers.SerializerMethodField()

    class Meta:
        model = ProcessingLog
        fields = ("id", "table_name", "operation_type", "status", "records_processed", "records_success",
                  "records_failed", "processing_time_seconds", "started_at", "finished_at", "error_message",
                  "execution_context", "pipeline_run_id", "created_at", "updated_at")
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_execution_context(self, obj) -> dict:
        return upload_paths_hidden(user=_reader(self), data=mask_config(obj.execution_context or {}))


class QuarantinedRowSerializer(serializers.ModelSerializer):
    # In the reader's language (etlsite.messages); the stored English text for rows without a message.
    reason = serializers.CharField(source="reason_text", read_only=True)

    class Meta:
        model = QuarantinedRow
        fields = ("id", "pipeline_run_id", "staging_table", "row_number", "column_name", "value", "reason", "rule",
                  "status", "corrected_value", "created_at", "updated_at")
        read_only_fields = fields
