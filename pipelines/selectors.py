"""Reads of pipelines and runs that pages, the API and commands make (writes are in pipelines.services)."""

from __future__ import annotations

from django.db.models import QuerySet

from pipelines.engine.drift import describe
from pipelines.models import (
    Pipeline,
    PipelineRun,
    PipelineStatus,
    SchemaChange,
    SchemaChangeKind,
    SchemaChangeStatus,
)
from pipelines.type_changes import describe_type_change
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


def run_by_id(run_id: int) -> PipelineRun | None:
    return PipelineRun.objects.filter(pk=run_id).first()


def run_with_pipeline(run_id: int) -> PipelineRun | None:
    return PipelineRun.objects.select_related("pipeline").filter(pk=run_id).first()


def runs_in_bulk(run_ids: list[int]) -> dict[int, PipelineRun]:
    """Runs (with their pipeline) by id, for a page that lists rows of several runs."""
    return PipelineRun.objects.select_related("pipeline").in_bulk(run_ids)


def schema_changes_for_page(recent: int) -> tuple[list[SchemaChange], list[SchemaChange]]:
    """The pending schema changes, oldest first, and the `recent` last decided ones, each with `summary`."""
    changes = SchemaChange.objects.select_related("pipeline", "pipeline_run")
    pending = list(changes.filter(status=SchemaChangeStatus.PENDING).order_by("created_at"))
    decided = list(changes.exclude(status=SchemaChangeStatus.PENDING).order_by("-decided_at")[:recent])
    for change in pending + decided:
        change.summary = schema_change_summary(change)
    return pending, decided


def schema_change_summary(change: SchemaChange) -> str:
    """One line for a change: the columns added, removed or retyped (the admin's list and the page)."""
    if change.kind == SchemaChangeKind.TYPES:
        return describe_type_change(change)
    return describe(change.diff)
