"""System health: disk used by each database and by the staging tables.

Sizes come from the databases themselves: PostgreSQL's pg_database_size / pg_total_relation_size,
ClickHouse's system.parts (active parts only).
"""

from __future__ import annotations

from django.db import connections

from analytics.clickhouse import get_target
from dashboards.timings import timed_rows
from staging.models import StagingTable

MAX_TABLES = 30


def relational_size(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def clickhouse_tables() -> list[dict]:
    """Rows and bytes on disk per table of the target database, largest first."""
    return timed_rows(
        "health.clickhouse_tables",
        "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts "
        "WHERE active AND database = {db:String} GROUP BY table ORDER BY bytes DESC, table LIMIT {limit:UInt32}",
        {"db": get_target().database, "limit": MAX_TABLES})


def clickhouse_size() -> int:
    rows = timed_rows("health.clickhouse_size",
                      "SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = {db:String}",
                      {"db": get_target().database})
    return int(rows[0]["bytes"] or 0)


def staging_tables() -> list[dict]:
    """The active staging tables, largest first by row count, with their size where the database tells it."""
    tables = list(StagingTable.objects.filter(is_active=True).order_by("-row_count")
                  .values("table_name", "schema_name", "row_count", "pipeline_run_id", "expires_at")[:MAX_TABLES])
    connection = connections["staging"]
    if tables:
        with connection.cursor() as cursor:
            for table in tables:
                name = connection.ops.quote_name(table["table_name"])
                if table["schema_name"]:
                    name = connection.ops.quote_name(table["schema_name"]) + "." + name
                cursor.execute("SELECT pg_total_relation_size(to_regclass(%s))", [name])
                table["bytes"] = cursor.fetchone()[0]
    return tables
