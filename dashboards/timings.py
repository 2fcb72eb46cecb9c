"""Timings of the dashboards' own ClickHouse queries, and the slowest recent ones.

Every dashboard query runs through `timed_rows`, which records (name, milliseconds, rows) in Django's cache
(per process with the default local-memory cache, shared with Redis/Memcached). The health page shows those,
and also ClickHouse's own ``system.query_log`` when the server keeps one (chDB does not flush one).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from analytics.clickhouse import ClickHouseError, get_target

CACHE_KEY = "dashboards:query-timings"
KEEP = 500


def timed_rows(name: str, sql: str, parameters: dict | None = None) -> list[dict[str, Any]]:
    """Run a read query and record how long it took."""
    started = time.perf_counter()
    result = get_target().query(sql, parameters)
    rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    timing_record(name, (time.perf_counter() - started) * 1000, len(rows))
    return rows


def timing_record(name: str, milliseconds: float, rows: int) -> None:
    timings = cache.get(CACHE_KEY) or []
    timings.append({"name": name, "ms": round(milliseconds, 2), "rows": rows, "at": timezone.now()})
    cache.set(CACHE_KEY, timings[-KEEP:], timeout=None)


def timings_recent() -> list[dict]:
    return list(cache.get(CACHE_KEY) or [])


def timings_summary() -> list[dict]:
    """Per query name: how often it ran recently, its median, 95th percentile and slowest time (ms)."""
    by_name: dict[str, list[float]] = {}
    for item in timings_recent():
        by_name.setdefault(item["name"], []).append(item["ms"])
    summary = []
    for name, values in by_name.items():
        values.sort()
        summary.append({"name": name, "count": len(values), "p50": values[(len(values) - 1) // 2],
                        "p95": values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))],
                        "max": values[-1]})
    return sorted(summary, key=lambda s: s["p95"], reverse=True)


def timings_slowest(limit: int = 10) -> list[dict]:
    return sorted(timings_recent(), key=lambda t: t["ms"], reverse=True)[:limit]


def query_log_slowest(limit: int = 10) -> list[dict] | None:
    """The slowest finished queries of the last day from ClickHouse's system.query_log; None without one."""
    target = get_target()
    try:
        if not target.command("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log'"):
            return None
        return target.rows(
            "SELECT event_time, query_duration_ms, read_rows, memory_usage, substring(query, 1, 300) AS query "
            "FROM system.query_log WHERE type = 'QueryFinish' AND event_date >= yesterday() "
            "AND query_kind = 'Select' AND current_database = {db:String} "
            "ORDER BY query_duration_ms DESC LIMIT {limit:UInt32}",
            {"db": target.database, "limit": limit})
    except ClickHouseError:
        return None
