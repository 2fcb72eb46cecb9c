"""Sources, pipelines, runs and analysis results (the metadata database)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from api.errors import Conflict
from api.filters import AnalysisResultFilter, DataSourceFilter, PipelineFilter, PipelineRunFilter
from api.parsers import JSONParser
from api.serializers import (
    AnalysisResultSerializer,
    DataSourceSerializer,
    PipelineRunSerializer,
    PipelineSerializer,
    RunTriggerSerializer,
)
from api.throttles import TriggerThrottle
from api.uploads import upload_register
from api.views.base import ListFiltersOnlyMixin, SoftDeleteViewSet
from pipelines import services
from pipelines.models import AnalysisResult, Pipeline, PipelineRun, RunStatus
from pipelines.services import run_cancel, run_rerun
from sources.models import DataSource
from staging.models import FileMetadata, FileStatus
from staging.ownership import upload_visible_get


@extend_schema_view(destroy=extend_schema(summary="Soft-delete a source"))
class DataSourceViewSet(SoftDeleteViewSet):
    queryset = DataSource.objects.all()
    serializer_class = DataSourceSerializer
    filterset_class = DataSourceFilter
    ordering_fields = ("id", "name", "source_type", "created_at", "updated_at")
    ordering = ("name", "id")
    action_permissions = {"restore": ["sources.delete_datasource"]}


@extend_schema_view(destroy=extend_schema(summary="Soft-delete a pipeline"))
class PipelineViewSet(SoftDeleteViewSet):
    queryset = Pipeline.objects.all()
    serializer_class = PipelineSerializer
    filterset_class = PipelineFilter
    ordering_fields = ("id", "name", "status", "created_at", "updated_at")
    ordering = ("name", "id")
    action_permissions = {"restore": ["pipelines.delete_pipeline"]}

    def get_queryset(self):
        return super().get_queryset().select_related("data_source")


def pipeline_runnable(pipeline: Pipeline) -> None:
    """409 when the pipeline may not run (pipelines.services.pipeline_run_refusal)."""
    refusal = services.pipeline_run_refusal(pipeline)
    if refusal:
        raise Conflict(refusal)


def file_for_run(file_id: int, user) -> FileMetadata:
    """An uploaded file `user` may run (staging.ownership); another user's file is as unknown as a missing one."""
    file = upload_visible_get(user=user, file_id=file_id)
    if file is None or file.status == FileStatus.DELETED:
        raise serializers.ValidationError({"file_id": [_("There is no uploaded file %(id)d.") % {"id": file_id}]})
    return file


def run_trigger(*, pipeline: Pipeline, user, file: FileMetadata | None, load_again: bool = False) -> PipelineRun:
    """Queue a run of `pipeline`, on `file` when given (as `run_pipeline --file` does)."""
    pipeline_runnable(pipeline)
    return services.run_trigger(pipeline=pipeline, triggered_by=user.get_username(), file=file,
                                load_again=load_again, link_file=True)


@extend_schema_view(
    list=extend_schema(summary="List runs (filter by pipeline, status, period)"),
    retrieve=extend_schema(summary="A run with its progress"),
)
class PipelineRunViewSet(ListFiltersOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    queryset = PipelineRun.objects.select_related("pipeline")
    serializer_class = PipelineRunSerializer
    filterset_class = PipelineRunFilter
    ordering_fields = ("id", "created_at", "started_at", "finished_at", "duration_seconds", "status",
                       "records_processed")
    ordering = ("-created_at", "-id")
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    action_permissions = {"create": ["pipelines.add_pipelinerun"], "cancel": ["pipelines.change_pipelinerun"],
                          "rerun": ["pipelines.change_pipelinerun"]}

    def get_throttles(self):
        if self.action in ("create", "rerun"):
            return [TriggerThrottle()]
        return super().get_throttles()

    @extend_schema(request={"application/json": RunTriggerSerializer, "multipart/form-data": RunTriggerSerializer},
                   responses={201: PipelineRunSerializer}, summary="Trigger a run (optionally on a file)")
    def create(self, request, *args, **kwargs):
        trigger = RunTriggerSerializer(data=request.data)
        trigger.is_valid(raise_exception=True)
        pipeline = trigger.validated_data["pipeline"]
        pipeline_runnable(pipeline)
        file = None
        if trigger.validated_data.get("file_id"):
            file = file_for_run(trigger.validated_data["file_id"], request.user)
        elif trigger.validated_data.get("file"):
            file = upload_register(upload=trigger.validated_data["file"], user=request.user).file
        run = run_trigger(pipeline=pipeline, user=request.user, file=file,
                          load_again=trigger.validated_data.get("load_again", False))
        return Response(PipelineRunSerializer(run, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: PipelineRunSerializer, 409: OpenApiResponse(description="Ended")},
                   summary="Cancel a pending or running run")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not run_cancel(run=run, by=request.user.get_username()):
            raise Conflict(_("Run %(id)d has already ended (%(status)s); it was left as it was.")
                           % {"id": run.pk, "status": run.get_status_display()})
        return Response(self.get_serializer(run).data)

    @extend_schema(request=None, responses={201: PipelineRunSerializer}, summary="Re-run a failed or cancelled run")
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        run = self.get_object()
        if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise Conflict(_("Only failed or cancelled runs are re-run; run %(id)d is %(status)s.")
                           % {"id": run.pk, "status": run.get_status_display()})
        pipeline_runnable(run.pipeline)
        with transaction.atomic():
            new = run_rerun(run=run, triggered_by=request.user.get_username())
        return Response(self.get_serializer(new).data, status=status.HTTP_201_CREATED)


class AnalysisResultViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet):
    queryset = AnalysisResult.objects.select_related("pipeline_run")
    serializer_class = AnalysisResultSerializer
    filterset_class = AnalysisResultFilter
    ordering_fields = ("id", "created_at", "analysis_type", "alert_level")
    ordering = ("-created_at", "-id")
