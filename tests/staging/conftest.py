"""Fixtures of the staging tests: writers whose tables are dropped after the test (the test databases are
flushed between tests, but flushing only empties the models' tables; staging tables are not models)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections

from etlsite.identifiers import quote_identifier_pg
from staging.writer import STAGING_ALIAS, StagingWriter


def staging_tables() -> set[str]:
    return set(connections[STAGING_ALIAS].introspection.table_names())


@pytest.fixture
def make_writer():
    """make_writer(schema, table_name=..., **create_kwargs) -> StagingWriter; drops what it created."""
    created: list[str] = []

    def make(schema, *, table_name: str = "stg_run_1", **kwargs) -> StagingWriter:
        options = {"pipeline_run_id": 1, "source_type": "csv", "source_config": {}, "expires_in": timedelta(days=7)}
        options.update(kwargs)
        writer = StagingWriter.create(table_name=table_name, schema=schema, **options)
        created.append(table_name)
        return writer

    yield make
    connection = connections[STAGING_ALIAS]
    with connection.cursor() as cursor:
        for name in created:
            cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier_pg(name)}")
