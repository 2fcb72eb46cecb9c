"""Data-quality dashboard queries (ClickHouse ``data_quality_metrics``).

Every query is bounded by the period and, when filtered, by ``table_name`` (the first key of the table's ORDER
BY), aggregates in ClickHouse and ends in a LIMIT. The per-day queries filter and group by whole days
(``toDate(created_at)``) so that ClickHouse answers them from the ``quality_by_day`` projection (ClickHouse
migration 0003) instead of scanning every metric of the period.
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


def _day_conditions(filters: Filters) -> tuple[list[str], dict]:
    conditions = ["toDate(created_at) >= {since_day:Date}", "toDate(created_at) <= {until_day:Date}"]
    params: dict = {"since_day": filters.since.date(), "until_day": filters.until.date()}
    if filters.tables is not None:
        conditions.insert(0, "table_name IN {tables:Array(String)}")
        params["tables"] = filters.tables
    return conditions, params


def pass_rate_by_day(filters: Filters) -> list[dict]:
    """Per day (UTC): checked metrics, passed ones and the pass rate (passed / checked)."""
    conditions, params = _day_conditions(filters)
    return timed_rows(
        "quality.pass_rate_by_day",
        "SELECT toDate(created_at) AS day, count() AS checked, countIf(is_passed) AS passed, "
        "if(checked > 0, passed / checked, 0) AS pass_rate FROM data_quality_metrics "
        "WHERE " + " AND ".join(conditions) +
        " GROUP BY day ORDER BY day LIMIT {limit:UInt32}",
        {**params, "limit": MAX_DAYS})


def null_rates(filters: Filters) -> list[dict]:
    """The latest null rate of each (table, column) measured in the period's days."""
    conditions, params = _day_conditions(filters)
    return timed_rows(
        "quality.null_rates",
        "SELECT table_name, column_name, argMax(metric_value, created_at) AS null_rate, "
        "max(created_at) AS measured_at FROM data_quality_metrics WHERE metric_name = 'null_rate' AND " +
        " AND ".join(conditions) +
        " GROUP BY table_name, column_name ORDER BY null_rate DESC, table_name, column_name LIMIT {limit:UInt32}",
        {**params, "limit": MAX_COLUMNS})


def null_rate_count(filters: Filters) -> int:
    """How many (table, column) pairs have a null rate in the period (null_rates returns at most MAX_COLUMNS)."""
    conditions, params = _day_conditions(filters)
    rows = timed_rows("quality.null_rate_count",
                      "SELECT uniqExact(table_name, column_name) AS n FROM data_quality_metrics "
                      "WHERE metric_name = 'null_rate' AND " + " AND ".join(conditions), params)
    return int(rows[0]["n"]) if rows else 0


def failed_checks(filters: Filters) -> list[dict]:
    """The specification's failed-checks query, narrowed to the filters and the newest MAX_FAILED."""
    conditions, params = _conditions(filters)
    return timed_rows("quality.failed_checks", narrowed(FAILED_QUALITY, conditions), {**params, "limit": MAX_FAILED})


def quality_totals(days: list[dict]) -> dict:
    """Checks measured and passed over the period, from the per-day aggregates (no second scan)."""
    checked = sum(d["checked"] for d in days)
    passed = sum(d["passed"] for d in days)
    return {"checked": checked, "passed": passed, "failed": checked - passed,
            "pass_rate": passed / checked if checked else None}
