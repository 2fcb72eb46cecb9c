"""Reads of ``data_quality_metrics``: the quality dashboard's and the run page's.

Every dashboard query is bounded by the period and, when filtered, by ``table_name`` (the first key of the
table's ORDER BY), aggregates in ClickHouse and ends in a LIMIT. The per-day queries filter and group by
whole days (``toDate(created_at)``) so that ClickHouse answers them from the ``quality_by_day`` projection
(ClickHouse migration 0003) instead of scanning every metric of the period.
"""

from __future__ import annotations

from datetime import date, datetime

from analytics.clickhouse import get_target
from analytics.queries.spec import FAILED_QUALITY, narrowed
from analytics.queries.timing import named_rows


def _day_conditions(since_day: date, until_day: date, tables: list[str] | None) -> tuple[list[str], dict]:
    conditions = ["toDate(created_at) >= {since_day:Date}", "toDate(created_at) <= {until_day:Date}"]
    params: dict = {"since_day": since_day, "until_day": until_day}
    if tables is not None:
        conditions.insert(0, "table_name IN {tables:Array(String)}")
        params["tables"] = tables
    return conditions, params


def pass_rate_by_day(*, since_day: date, until_day: date, tables: list[str] | None, limit: int) -> list[dict]:
    """Per day (UTC): checked metrics, passed ones and the pass rate (passed / checked)."""
    conditions, params = _day_conditions(since_day, until_day, tables)
    return named_rows(
        "quality.pass_rate_by_day",
        "SELECT toDate(created_at) AS day, count() AS checked, countIf(is_passed) AS passed, "
        "if(checked > 0, passed / checked, 0) AS pass_rate FROM data_quality_metrics "
        "WHERE " + " AND ".join(conditions) +
        " GROUP BY day ORDER BY day LIMIT {limit:UInt32}",
        {**params, "limit": limit})


def null_rates(*, since_day: date, until_day: date, tables: list[str] | None, limit: int) -> list[dict]:
    """The latest null rate of each (table, column) measured in the period's days; each row also carries
    `columns`, how many (table, column) pairs there are in all (a window over the groups, counted before the
    LIMIT: no second scan to say "showing 300 of N")."""
    conditions, params = _day_conditions(since_day, until_day, tables)
    return named_rows(
        "quality.null_rates",
        "SELECT table_name, column_name, argMax(metric_value, created_at) AS null_rate, "
        "max(created_at) AS measured_at, count() OVER () AS columns "
        "FROM data_quality_metrics WHERE metric_name = 'null_rate' AND " +
        " AND ".join(conditions) +
        " GROUP BY table_name, column_name ORDER BY null_rate DESC, table_name, column_name LIMIT {limit:UInt32}",
        {**params, "limit": limit})


def failed_checks(*, since: datetime, until: datetime, tables: list[str] | None, limit: int) -> list[dict]:
    """The specification's failed-checks query, narrowed to the period (and tables), the newest `limit`."""
    conditions = ["created_at >= {since:DateTime64(3, 'UTC')}", "created_at <= {until:DateTime64(3, 'UTC')}"]
    params: dict = {"since": since, "until": until}
    if tables is not None:
        conditions.insert(0, "table_name IN {tables:Array(String)}")
        params["tables"] = tables
    return named_rows("quality.failed_checks", narrowed(FAILED_QUALITY, conditions), {**params, "limit": limit})


def run_metrics(run_id: int, *, limit: int) -> list[dict]:
    """The quality metrics one run measured, failed first (the run page)."""
    return get_target().rows(
        "SELECT table_name, column_name, metric_name, metric_value, threshold_min, threshold_max, is_passed "
        "FROM data_quality_metrics WHERE pipeline_run_id = {run:UInt64} "
        "ORDER BY is_passed, table_name, column_name, metric_name LIMIT {limit:UInt32}",
        {"run": int(run_id), "limit": limit})
