"""Data-quality dashboard: the filters made into the arguments of analytics.queries.quality.

The queries themselves (and why they read the ``quality_by_day`` projection) are in analytics.queries.quality.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from analytics.queries import quality as queries
from dashboards.filters import Filters

MAX_DAYS = 400
MAX_COLUMNS = 300
MAX_FAILED = 50


def _days(filters: Filters) -> dict:
    return {"since_day": filters.since.date(), "until_day": filters.until.date(), "tables": filters.tables}


def pass_rate_by_day(filters: Filters) -> list[dict]:
    """Per day (UTC): checked metrics, passed ones and the pass rate (passed / checked)."""
    return queries.pass_rate_by_day(**_days(filters), limit=MAX_DAYS)


def null_rates(filters: Filters) -> tuple[list[dict], int]:
    """The latest null rate of each (table, column) measured in the period's days (at most MAX_COLUMNS), and
    how many such pairs there are in all."""
    rows = queries.null_rates(**_days(filters), limit=MAX_COLUMNS)
    return rows, int(rows[0]["columns"]) if rows else 0


def failed_checks(filters: Filters) -> list[dict]:
    """The specification's failed-checks query, narrowed to the filters and the newest MAX_FAILED."""
    return queries.failed_checks(since=filters.since, until=filters.until, tables=filters.tables, limit=MAX_FAILED)


def quality_totals(days: list[dict]) -> dict:
    """Checks measured and passed over the period, from the per-day aggregates (no second scan)."""
    checked = sum(d["checked"] for d in days)
    passed = sum(d["passed"] for d in days)
    return {"checked": checked, "passed": passed, "failed": checked - passed,
            "pass_rate": passed / checked if checked else None}


def page_reads(filters: Filters) -> tuple[list[dict], tuple[list[dict], int], list[dict]]:
    """The page's three reads side by side (per-day pass rates, null rates, failed checks): each is a
    ClickHouse query over the period's metrics, tens of milliseconds over 10 million rows, and ClickHouse
    answers them at once. A ClickHouseError of any is raised here."""
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="quality-page") as pool:
        days, nulls, failed = (pool.submit(_in_own_thread, read, filters)
                               for read in (pass_rate_by_day, null_rates, failed_checks))
        return days.result(), nulls.result(), failed.result()


def _in_own_thread(read, filters: Filters):
    try:
        return read(filters)
    finally:
        # A query's timing goes to Django's cache, which may be database-backed: the connection that opened
        # in this thread is closed with it, not left to the thread's end.
        connections.close_all()
