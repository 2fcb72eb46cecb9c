"""Reads of pipelines and runs that pages, the API and commands make (writes are in pipelines.services)."""

from __future__ import annotations

from django.db.models import QuerySet

from pipelines.models import Pipeline, PipelineRun, PipelineStatus
from sources.models import SourceType


def upload_pipelines() -> QuerySet[Pipeline]:
    """Pipelines that read files: the ones an uploaded file can be run through (deprecated ones are not offered)."""
    return (Pipeline.objects.select_related("data_source")
            .filter(data_source__source_type=SourceType.FILE)
            .exclude(status=PipelineStatus.DEPRECATED).order_by("name"))


def runs_with_source() -> QuerySet[PipelineRun]:
    """Runs with their pipeline and its source, as the run pages show them."""
    return PipelineRun.objects.select_related("pipeline__data_source")


def run_context(run_id: int) -> dict:
    """A run's execution_context as committed now (another process writes it while the run executes)."""
    return PipelineRun.objects.values_list("execution_context", flat=True).get(pk=run_id) or {}


def pipeline_by_ref(ref: str) -> Pipeline | None:
    """A live pipeline by id (digits) or else by name; None when there is none."""
    pipeline = Pipeline.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    return pipeline or Pipeline.objects.filter(name=ref).first()


def pipeline_names(limit: int = 20) -> list[str]:
    return list(Pipeline.objects.values_list("name", flat=True)[:limit])
