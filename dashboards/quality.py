"""Data-quality dashboard queries (ClickHouse ``data_quality_metrics``).

Every query is bounded by the period on ``created_at`` and, when filtered, by ``table_name`` (the first key
of the table's ORDER BY), aggregates in ClickHouse and ends in a LIMIT.
"""

from __future__ import annotations

from dashboards.filters import Filters
from dashboards.spec_queries import FAILED_QUALITY, narrowed
from dashboards.timings import timed_rows

MAX_DAYS = 400
MAX_COLUMNS = 300
MAX_FAILED = 50


def _conditions(filters: Filters) -> tuple[list[str], dict]:
    conditions = ["created_at >= {since:DateTime64(3, 'UTC')}", "created_at <= {until:DateTime64(3, 'UTC')}"]
    params: dict = {"since": filters.since, "until": filters.until}
    if filters.tables is not None:
        conditions.insert(0, "table_name IN {tables:Array(String)}")
        params["tables"] = filters.tables
    return conditions, params


def pass_rate_by_day(filters: Filters) -> list[dict]:
    """Per day: checked metrics, passed ones and the pass rate (passed / checked)."""
    conditions, params = _conditions(filters)
    return timed_rows(
        "quality.pass_rate_by_day",
        "SELECT toDate(created_at) AS day, count() AS checked, countIf(is_passed) AS passed, "
        "passed / checked AS pass_rate FROM data_quality_metrics WHERE " + " AND ".join(conditions) +
        " GROUP BY day ORDER BY day LIMIT {limit:UInt32}",
        {**params, "limit": MAX_DAYS})


def null_rates(filters: Filters) -> list[dict]:
    """The latest null rate of each (table, column) measured in the period."""
    conditions, params = _conditions(filters)
    return timed_rows(
        "quality.null_rates",
        "SELECT table_name, column_name, argMax(metric_value, created_at) AS null_rate, "
        "max(created_at) AS measured_at FROM data_quality_metrics WHERE metric_name = 'null_rate' AND " +
        " AND ".join(conditions) +
        " GROUP BY table_name, column_name ORDER BY null_rate DESC, table_name, column_name LIMIT {limit:UInt32}",
        {**params, "limit": MAX_COLUMNS})


def failed_checks(filters: Filters) -> list[dict]:
    """The specification's failed-checks query, narrowed to the filters and the newest MAX_FAILED."""
    conditions, params = _conditions(filters)
    return timed_rows("quality.failed_checks", narrowed(FAILED_QUALITY, conditions), {**params, "limit": MAX_FAILED})


def quality_totals(filters: Filters) -> dict:
    conditions, params = _conditions(filters)
    rows = timed_rows(
        "quality.totals",
        "SELECT count() AS checked, countIf(is_passed) AS passed, uniqExact(table_name) AS tables, "
        "uniqExact(pipeline_run_id) AS runs FROM data_quality_metrics WHERE " + " AND ".join(conditions), params)
    return rows[0]
