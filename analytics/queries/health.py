"""Reads of ClickHouse's own system tables for the health page: sizes and the slowest recent queries."""

from __future__ import annotations

from analytics.clickhouse import ClickHouseError, get_target
from analytics.queries.timing import named_rows


def clickhouse_tables(*, limit: int) -> list[dict]:
    """Rows and bytes on disk per table of the target database (active parts), largest first."""
    return named_rows(
        "health.clickhouse_tables",
        "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts "
        "WHERE active AND database = {db:String} GROUP BY table ORDER BY bytes DESC, table LIMIT {limit:UInt32}",
        {"db": get_target().database, "limit": limit})


def clickhouse_size() -> int:
    rows = named_rows("health.clickhouse_size",
                      "SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = {db:String}",
                      {"db": get_target().database})
    return int(rows[0]["bytes"] or 0)


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
