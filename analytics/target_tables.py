"""Which ClickHouse tables a pipeline may load into.

Not the tables of the application's own schema (the specification's tables, those later migrations add and
the migrations record), not a cluster's storage tables ("<name>_local"), and not an existing table that no
pipeline created (it lacks the loader's columns): a pipeline whose target was etl_audit_log ran
ALTER TABLE etl_audit_log before failing. Judged when a pipeline is saved (its name or
configuration.target.table: Pipeline.clean) and when a load begins (analytics.loading.TargetLoad).
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext as _

from analytics.clickhouse.client import ClickHouseError
from analytics.clickhouse.cluster import LOCAL_SUFFIX

ACCESS_DENIED = 497  # ClickHouse's own code: a refusal, not a failure worth retrying
_CREATED = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z_][A-Za-z0-9_]*)`?", re.IGNORECASE)


class TargetTableRefused(ClickHouseError):
    def __init__(self, message: str):
        super().__init__(message, code=ACCESS_DENIED)


@cache
def schema_tables() -> frozenset[str]:
    """The tables the ClickHouse migrations create, and their record table."""
    from analytics.clickhouse.migrator import MIGRATIONS_TABLE, load_migrations

    names = {MIGRATIONS_TABLE}
    for migration in load_migrations():
        for operation in migration.operations:
            if isinstance(operation, str):
                names.update(_CREATED.findall(operation))
    return frozenset(names)


def reserved_table_error(table: str) -> str | None:
    """Why no pipeline may load into `table` whatever the database holds, or None."""
    if table in schema_tables():
        return _("%(table)s is a table of the application's own schema; a pipeline cannot load into it. "
                 "Name another target table (configuration.target.table).") % {"table": table}
    if table.endswith(LOCAL_SUFFIX):
        return _("%(table)s ends in \"%(suffix)s\", the names of a cluster's storage tables; name another "
                 "target table (configuration.target.table).") % {"table": table, "suffix": LOCAL_SUFFIX}
    return None


def foreign_table_error(table: str, columns, loader_columns) -> str | None:
    """Why an existing table with `columns` is not a pipeline's to load into (no loader's columns), or None."""
    missing = [name for name in loader_columns if name not in columns]
    if columns and missing:
        return _("The table %(table)s exists and was not created by a pipeline (it lacks the column(s) %(columns)s "
                 "that pipelines' tables have); a pipeline cannot load into it. Name another target table "
                 "(configuration.target.table).") % {"table": table, "columns": ", ".join(missing)}
    return None
