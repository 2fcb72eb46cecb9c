"""Business-metrics dashboard queries (ClickHouse ``business_metrics``).

Business metrics are dated by their data (``calculation_date``), which may lie far in the past: the period
filters ``calculation_date`` (up to today), and the page starts with all dates. Filters: the period and the
pipeline (its runs). Every query aggregates in ClickHouse and ends in a LIMIT.
"""

from __future__ import annotations

from dashboards.filters import Filters
from dashboards.spec_queries import BUSINESS_SUMMARY, narrowed
from dashboards.timings import timed_rows
from pipelines.models import PipelineRun

MAX_METRICS = 200
MAX_DAYS = 400
MAX_DIMENSIONS = 20
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


def series(filters: Filters, category: str, name: str) -> list[dict]:
    """One metric per calculation day."""
    conditions, params = _conditions(filters)
    return timed_rows(
        "business.series",
        f"SELECT calculation_date AS day, {_DAY_VALUE} AS value, any(metric_unit) AS unit FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String}" + _where(conditions) +
        " GROUP BY day ORDER BY day LIMIT {limit:UInt32}",
        {**params, "category": category, "name": name, "limit": MAX_DAYS})


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
