"""The runner of the dashboards' ClickHouse reads: each query has a name and its time is recorded.

`named_rows` records (name, milliseconds, rows) in Django's cache (the file cache under var/ by default,
Redis or Memcached when configured: shared by the processes); the health page shows those
(dashboards.timings). Recording is a read, an append and a write of the whole list, a few milliseconds with
the file cache (pickled and compressed): once per query it cost a dashboard page 10 ms of its ~100. So a
process keeps its timings and adds them to the shared list at most once a second, on its next query, and
whenever it reads the list.
"""

from __future__ import annotations

import threading
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


FLUSH_SECONDS = 1.0
_pending: list[dict] = []
_pending_lock = threading.Lock()
_flushed_at = 0.0


def timing_record(name: str, milliseconds: float, rows: int) -> None:
    with _pending_lock:
        _pending.append({"name": name, "ms": round(milliseconds, 2), "rows": rows, "at": timezone.now()})
        due = time.monotonic() - _flushed_at >= FLUSH_SECONDS
    if due:
        timings_flush()


def timings_flush() -> None:
    """This process's timings so far into the shared list (the newest KEEP are kept)."""
    global _flushed_at
    with _pending_lock:
        items = _pending[:]
        _pending.clear()
        _flushed_at = time.monotonic()
    if items:
        timings = cache.get(CACHE_KEY) or []
        cache.set(CACHE_KEY, (timings + items)[-KEEP:], timeout=None)


def timings_recent() -> list[dict]:
    timings_flush()
    return list(cache.get(CACHE_KEY) or [])
