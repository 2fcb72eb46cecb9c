"""Business-metrics dashboard: the filters made into the arguments of analytics.queries.business.

Business metrics are dated by their data (``calculation_date``), which may lie far in the past: the period
filters ``calculation_date`` (up to today), and the page starts with all dates. Filters: the period and the
pipeline (its runs).
"""

from __future__ import annotations

from django.utils.translation import gettext

from analytics.masking import DimensionMasker
from analytics.queries import business as queries
from analytics.queries.business import GRANULARITIES
from dashboards.filters import Filters
from etlsite.formatting import humanize_identifier
from pipelines.models import Pipeline, PipelineRun

MAX_METRICS = 200
MAX_DAYS = 400
MAX_DIMENSIONS = 20
__all__ = ["GRANULARITIES", "MAX_DAYS", "MAX_DIMENSIONS", "MAX_METRICS"]


def _narrowing(filters: Filters) -> dict:
    """The period's dates and the filtered pipeline's runs, as the queries take them."""
    run_ids = None
    if filters.pipeline is not None:
        run_ids = list(PipelineRun.objects.filter(pipeline=filters.pipeline).values_list("pk", flat=True))
    since = filters.since
    return {"since": None if since is None else since.date(), "until": None if since is None else filters.until.date(),
            "run_ids": run_ids}


def summary(filters: Filters) -> list[dict]:
    """The specification's query: average and last calculation date by category and name."""
    return queries.summary(**_narrowing(filters), limit=MAX_METRICS)


def series_extent(filters: Filters, category: str, name: str) -> dict[str, int]:
    """How many points the metric's series has per granularity (days, weeks, months with a value)."""
    return queries.series_extent(category, name, **_narrowing(filters))


def granularity_for(extent: dict[str, int], asked: str) -> str:
    """The granularity asked for, or (auto) the finest whose whole series fits on one chart."""
    if asked in GRANULARITIES:
        return asked
    for granularity in GRANULARITIES:
        if extent.get(granularity, 0) <= MAX_DAYS:
            return granularity
    return "month"


def series(filters: Filters, category: str, name: str, *, granularity: str = "day", offset: int = 0,
           aggregation: str = "") -> list[dict]:
    """One metric per calculation day, week or month (at most MAX_DAYS points from `offset`)."""
    return queries.series(category, name, **_narrowing(filters), granularity=granularity, aggregation=aggregation,
                          offset=offset, limit=MAX_DAYS)


def metric_definitions(filters: Filters) -> dict[tuple[str, str], dict]:
    """(category, name) -> the metric's definition in the pipelines' configurations (the filtered one's first),
    for its label and aggregation."""
    pipelines = Pipeline.objects.order_by("pk")
    if filters.pipeline is not None:
        pipelines = [filters.pipeline, *pipelines.exclude(pk=filters.pipeline.pk)]
    definitions: dict[tuple[str, str], dict] = {}
    for pipeline in pipelines:
        for item in (pipeline.configuration or {}).get("business_metrics") or []:
            if isinstance(item, dict) and item.get("name"):
                definitions.setdefault((str(item.get("category", "")), str(item["name"])), item)
    return definitions


def metric_label(definition: dict | None, name: str) -> str:
    """The metric's configured label (translated when the catalogue knows it, as the demo's are), else its
    identifier in words: "average_check" -> "Average check"."""
    label = (definition or {}).get("label")
    return gettext(label) if isinstance(label, str) and label.strip() else gettext(humanize_identifier(name))


def hidden_dimensions(user, filters: Filters, category: str, name: str):
    """The dimensions of one metric whose values `user` may not see: the sensitive columns (lineage included)
    of the target tables its runs loaded; all of them when a run's pipeline is gone."""
    masker = DimensionMasker(user, target_table_of=lambda run_id: "")
    if masker.allowed:
        return set()
    run_ids = queries.metric_run_ids(category, name, **_narrowing(filters))
    tables = {run.pk: run.pipeline.target_table
              for run in PipelineRun.objects.filter(pk__in=run_ids).select_related("pipeline")}
    masker = DimensionMasker(user, target_table_of=lambda run_id: tables.get(run_id, ""))
    return masker.hidden_in_runs(run_ids)


def breakdown_count(filters: Filters, category: str, name: str, *, hidden) -> int:
    return queries.breakdown_count(category, name, **_narrowing(filters), hidden=hidden)


def breakdown(filters: Filters, category: str, name: str, *, hidden) -> list[dict]:
    """One metric by its dimension values (averaged over the period), largest first; the values of the
    dimensions in `hidden` (`hidden_dimensions`) masked."""
    return queries.breakdown(category, name, **_narrowing(filters), limit=MAX_DIMENSIONS, hidden=hidden)
