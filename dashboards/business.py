"""Business-metrics dashboard queries (ClickHouse ``business_metrics``).

Business metrics are dated by their data (``calculation_date``), which may lie far in the past: the period
filters ``calculation_date`` (up to today), and the page starts with all dates. Filters: the period and the
pipeline (its runs). Every query aggregates in ClickHouse and ends in a LIMIT.
"""

from __future__ import annotations

from django.utils.translation import gettext

from dashboards.filters import Filters
from dashboards.spec_queries import BUSINESS_SUMMARY, narrowed
from dashboards.timings import timed_rows
from etlsite.formatting import humanize_identifier
from pipelines.models import Pipeline, PipelineRun

MAX_METRICS = 200
MAX_DAYS = 400
MAX_DIMENSIONS = 20
# Points of a series: one per day, week (starting on Monday) or month.
GRANULARITIES = {"day": "calculation_date", "week": "toMonday(calculation_date)",
                 "month": "toStartOfMonth(calculation_date)"}
# How a week or a month combines the daily values of a metric with this aggregation.
BUCKET_COMBINE = {"sum": "sum", "count": "sum", "avg": "avg", "min": "min", "max": "max", "count_distinct": "avg"}
# Rows without dimensions are a metric's total; a metric defined only per dimension falls back to the average.
_DAY_VALUE = ("if(countIf(dimension_values = '{}') > 0, avgIf(metric_value, dimension_values = '{}'), "
              "avg(metric_value))")
_DIMENSION_LABEL = ("arrayStringConcat(arrayMap(kv -> concat(kv.1, ': ', kv.2), "
                    "JSONExtractKeysAndValues(dimension_values, 'String')), ', ')")


def _run_conditions(filters: Filters) -> tuple[list[str], dict]:
    if filters.pipeline is None:
        return [], {}
    run_ids = list(PipelineRun.objects.filter(pipeline=filters.pipeline).values_list("pk", flat=True))
    return ["pipeline_run_id IN {runs:Array(UInt64)}"], {"runs": run_ids}


def _conditions(filters: Filters) -> tuple[list[str], dict]:
    conditions, params = _run_conditions(filters)
    if filters.since is not None:
        conditions = ["calculation_date > {since:Date}", "calculation_date <= {until:Date}", *conditions]
        params = {**params, "since": filters.since.date(), "until": filters.until.date()}
    return conditions, params


def _where(conditions: list[str]) -> str:
    return " AND " + " AND ".join(conditions) if conditions else ""


def summary(filters: Filters) -> list[dict]:
    """The specification's query: average and last calculation date by category and name."""
    conditions, params = _conditions(filters)
    return timed_rows("business.summary", narrowed(BUSINESS_SUMMARY, conditions), {**params, "limit": MAX_METRICS})


def series_extent(filters: Filters, category: str, name: str) -> dict[str, int]:
    """How many points the metric's series has per granularity (days, weeks, months with a value)."""
    conditions, params = _conditions(filters)
    rows = timed_rows(
        "business.series_extent",
        "SELECT uniqExact(calculation_date) AS day, uniqExact(toMonday(calculation_date)) AS week, "
        "uniqExact(toStartOfMonth(calculation_date)) AS month FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String}" + _where(conditions),
        {**params, "category": category, "name": name})
    return {key: int(value) for key, value in rows[0].items()} if rows else dict.fromkeys(GRANULARITIES, 0)


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
    """One metric per calculation day, week or month (at most MAX_DAYS points from `offset`).

    A week or month adds up its days for a metric that is a sum or a count (revenue, orders) and takes
    their average, minimum or maximum for one that is that (the average check)."""
    conditions, params = _conditions(filters)
    bucket = GRANULARITIES.get(granularity, GRANULARITIES["day"])
    combine = BUCKET_COMBINE.get(aggregation, "avg")
    return timed_rows(
        "business.series",
        f"SELECT {bucket} AS day, {combine}(day_value) AS value, any(day_unit) AS unit FROM ("
        f"SELECT calculation_date, {_DAY_VALUE} AS day_value, any(metric_unit) AS day_unit FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String}" + _where(conditions) +
        " GROUP BY calculation_date) GROUP BY day ORDER BY day LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        {**params, "category": category, "name": name, "limit": MAX_DAYS, "offset": max(0, int(offset))})


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


def breakdown_count(filters: Filters, category: str, name: str) -> int:
    conditions, params = _conditions(filters)
    rows = timed_rows(
        "business.breakdown_count",
        f"SELECT uniqExact({_DIMENSION_LABEL}) AS n FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String} "
        "AND dimension_values != '{}'" + _where(conditions), {**params, "category": category, "name": name})
    return int(rows[0]["n"]) if rows else 0


def breakdown(filters: Filters, category: str, name: str) -> list[dict]:
    """One metric by its dimension values (averaged over the period), largest first."""
    conditions, params = _conditions(filters)
    return timed_rows(
        "business.breakdown",
        f"SELECT {_DIMENSION_LABEL} AS dimension, avg(metric_value) AS value FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String} "
        "AND dimension_values != '{}'" + _where(conditions) +
        " GROUP BY dimension ORDER BY value DESC, dimension LIMIT {limit:UInt32}",
        {**params, "category": category, "name": name, "limit": MAX_DIMENSIONS})
