"""The runner of the dashboards' ClickHouse reads: each query has a name and its time is recorded.

`named_rows` records (name, milliseconds, rows) in Django's cache (per process with the default
local-memory cache, shared with Redis/Memcached); the health page shows those (dashboards.timings).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from analytics.clickhouse import get_target

CACHE_KEY = "dashboards:query-timings"
KEEP = 500


def named_rows(name: str, sql: str, parameters: dict | None = None) -> list[dict[str, Any]]:
    """Run a read query and record how long it took under `name`."""
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
