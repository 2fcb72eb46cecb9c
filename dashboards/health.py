"""System health: disk used by each database and by the staging tables.

Sizes come from the databases themselves: PostgreSQL's pg_database_size / pg_total_relation_size,
ClickHouse's system.parts (active parts only, read by analytics.queries.health).
"""

from __future__ import annotations

from django.db import connections

from analytics.queries import health as queries
from staging.models import StagingTable

MAX_TABLES = 30


def relational_size(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def clickhouse_tables() -> list[dict]:
    """Rows and bytes on disk per table of the target database, largest first."""
    return queries.clickhouse_tables(limit=MAX_TABLES)


def clickhouse_size() -> int:
    return queries.clickhouse_size()


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
