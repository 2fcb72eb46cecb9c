"""What the data catalog needs to know about a staging table: its columns as the staging database declares
them, and a sample of their values for personal-data detection."""

from __future__ import annotations

from django.db import connections

from staging.writer import ROW_NUMBER_COLUMN, STAGING_ALIAS, StagingWriter

SAMPLE_ROWS = 200


def staging_columns(table_name: str) -> list[dict]:
    """The columns of a staging table in `analytics.catalog.catalog_refresh`'s form (the row-number
    bookkeeping column left out); [] when the table does not exist."""
    connection = connections[STAGING_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable = 'YES', column_default "
            "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s "
            "ORDER BY ordinal_position", [table_name])
        described = cursor.fetchall()
    return [{"name": name, "data_type": (data_type or "").lower(), "is_nullable": bool(nullable),
             "default_value": default}
            for name, data_type, nullable, default in described if name != ROW_NUMBER_COLUMN]


def staging_samples(table_name: str, columns: list[str], limit: int = SAMPLE_ROWS) -> dict[str, list]:
    """Up to `limit` staged values per column, as text."""
    names, rows = StagingWriter.open(table_name=table_name).sample(limit)
    wanted = {name: index for index, name in enumerate(names) if name in set(columns)}
    return {name: [None if row[index] is None else str(row[index]) for row in rows]
            for name, index in wanted.items()}
