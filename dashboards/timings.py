"""Timings of the dashboards' own ClickHouse queries, summarised for the health page.

Every dashboard query runs through `analytics.queries.timing.named_rows`, which records (name, milliseconds,
rows) in Django's cache. The health page shows those, and also ClickHouse's own ``system.query_log`` when the
server keeps one (chDB does not flush one): `analytics.queries.health.query_log_slowest`.
"""

from __future__ import annotations

from analytics.queries.timing import timings_recent


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
