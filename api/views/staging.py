"""Uploaded files, staging tables (with a paged preview of their rows), processing logs, quarantined rows."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from analytics.audit import audit_record
from analytics.masking import masked_staged_records
from api.filters import FileMetadataFilter, ProcessingLogFilter, QuarantinedRowFilter, StagingTableFilter
from api.pagination import PageWindow, page_openapi_parameters, paginated_schema
from api.serializers import PipelineRunSerializer
from api.staging_serializers import (
    FileMetadataSerializer,
    FileUploadSerializer,
    ProcessingLogSerializer,
    QuarantinedRowSerializer,
    StagingTableSerializer,
)
from api.throttles import UploadThrottle
from api.uploads import upload_register
from api.views.base import ListFiltersOnlyMixin
from api.views.metadata import pipeline_runnable, run_trigger
from staging.masking import QuarantineMasker, run_target_table
from staging.models import FileMetadata, ProcessingLog, QuarantinedRow, StagingTable
from staging.ownership import upload_visible_get, uploads_visible
from staging.writer import ROW_NUMBER_COLUMN, StagingError, StagingWriter

logger = logging.getLogger(__name__)



class FileUploadResponseSerializer(serializers.Serializer):
    file = FileMetadataSerializer()
    duplicate_of = serializers.IntegerField(allow_null=True)
    run = PipelineRunSerializer(allow_null=True)


class FileMetadataViewSet(ListFiltersOnlyMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = FileMetadata.objects.all()
    serializer_class = FileMetadataSerializer
    filterset_class = FileMetadataFilter
    ordering_fields = ("id", "created_at", "file_size", "status", "original_filename")
    ordering = ("-created_at", "-id")
    parser_classes = (MultiPartParser, FormParser)

    def get_queryset(self):
        return uploads_visible(user=self.request.user, queryset=super().get_queryset())

    def get_throttles(self):
        return [UploadThrottle()] if self.action == "create" else super().get_throttles()

    @extend_schema(request={"multipart/form-data": FileUploadSerializer},
                   responses={201: FileUploadResponseSerializer},
                   summary="Upload a file (multipart); optionally start a run of a pipeline on it")
    def create(self, request, *args, **kwargs):
        form = FileUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        pipeline = form.validated_data.get("pipeline")
        if pipeline is not None:  # checked before anything is stored
            if not request.user.has_perm("pipelines.add_pipelinerun"):
                raise PermissionDenied(_("Starting a run needs the permission to add pipeline runs."))
            pipeline_runnable(pipeline)
        registered = upload_register(upload=form.validated_data["file"], user=request.user)
        run = run_trigger(pipeline=pipeline, user=request.user, file=registered.file) if pipeline else None
        registered.file.refresh_from_db()
        context = self.get_serializer_context()
        duplicate = registered.duplicate_of
        if duplicate is not None and upload_visible_get(user=request.user, file_id=duplicate.pk) is None:
            duplicate = None  # another user's file: not named to this one
        body = {"file": FileMetadataSerializer(registered.file, context=context).data,
                "duplicate_of": duplicate.pk if duplicate else None,
                "run": PipelineRunSerializer(run, context=context).data if run else None}
        return Response(body, status=status.HTTP_201_CREATED)


STAGED_ROWS_SCHEMA = paginated_schema(
    {"type": "object", "additionalProperties": True},
    columns={"type": "array", "items": {"type": "string"}},
)


class StagingTableViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet):
    queryset = StagingTable.objects.all()
    serializer_class = StagingTableSerializer
    filterset_class = StagingTableFilter
    ordering_fields = ("id", "created_at", "row_count", "table_name", "expires_at")
    ordering = ("-created_at", "-id")
    action_permissions = {"rows": ["staging.view_stagingtable"]}

    @extend_schema(parameters=page_openapi_parameters(), responses={200: STAGED_ROWS_SCHEMA},
                   summary="A page of the table's staged rows (sensitive columns masked without permission)")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def rows(self, request, pk=None):
        table = self.get_object()
        if not table.is_active:
            raise NotFound(_("The staging table %(table)s has been dropped.") % {"table": table})
        window = PageWindow(request)
        try:
            writer = StagingWriter.open(table_name=table.table_name)
            columns, rows = writer.preview(limit=window.limit, offset=window.offset)
        except StagingError as exc:
            raise NotFound(str(exc)) from exc
        except DatabaseError as exc:  # the registry names a schema or table the database does not have
            logger.warning("staging table %s cannot be read: %s", table, exc)
            raise NotFound(_("The staging table %(table)s no longer exists.") % {"table": table}) from exc
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        records = masked_staged_records(request.user, records, table_name=table.table_name,
                                        target_table=run_target_table(table.pipeline_run_id),
                                        keep=[ROW_NUMBER_COLUMN])
        # Staged rows are data: reading them is recorded like an export.
        audit_record(operation_type="query", table_name=table.table_name, pipeline_run_id=table.pipeline_run_id,
                     details={"action": "preview", "via": "api", "page": window.page, "rows": len(records)})
        records = [{key: _json_value(value) for key, value in record.items()} for record in records]
        return window.response(table.row_count, records, columns=columns)


def _json_value(value):
    """Values the JSON renderer would otherwise stringify unevenly (Decimal, bytes) as text or numbers."""
    from datetime import date, datetime, time
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


class ProcessingLogViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet):
    queryset = ProcessingLog.objects.all()
    serializer_class = ProcessingLogSerializer
    filterset_class = ProcessingLogFilter
    ordering_fields = ("id", "created_at", "started_at", "processing_time_seconds", "records_processed")
    ordering = ("-created_at", "-id")


class QuarantinedRowViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet):
    """Rows that failed validation; the values of sensitive columns are masked without the permission."""

    queryset = QuarantinedRow.objects.all()
    serializer_class = QuarantinedRowSerializer
    filterset_class = QuarantinedRowFilter
    ordering_fields = ("id", "created_at", "row_number", "column_name")
    ordering = ("pipeline_run_id", "row_number", "id")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(QuarantineMasker(request.user).serialized(page, data))

    def retrieve(self, request, *args, **kwargs):
        row = self.get_object()
        return Response(QuarantineMasker(request.user).serialized([row], [self.get_serializer(row).data])[0])
