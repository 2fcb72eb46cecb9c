"""Apply the numbered ClickHouse migrations and record them inside ClickHouse.

The record table plays the part of Django's ``django_migrations``. It is a ReplacingMergeTree keyed by the
migration's name, so two processes migrating at once leave one record per migration, and every migration's
statements are idempotent, so applying one again is harmless.

With a cluster name configured (``TARGET_CLICKHOUSE_CLUSTER``) every statement, the record table's included,
is translated by `analytics.clickhouse.cluster` into ``ON CLUSTER`` DDL with Replicated and Distributed
tables. A migration's checksum is always that of its single-node text, the one its file holds.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from django.utils.translation import gettext as _

from analytics.clickhouse import cluster as cluster_ddl
from analytics.clickhouse import migrations as migrations_package
from analytics.clickhouse.client import ClickHouseError, ClickHouseTarget

MIGRATIONS_TABLE = "clickhouse_migrations"
_NAME = re.compile(r"^\d{4}_[a-z0-9_]+$")

_RECORD_TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}
(
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY name
"""


@dataclass(frozen=True)
class Migration:
    name: str
    description: str
    operations: tuple[str, ...]

    @property
    def number(self) -> int:
        return int(self.name[:4])

    @property
    def checksum(self) -> str:
        return hashlib.sha256("\n;\n".join(self.operations).encode()).hexdigest()[:16]


def load_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(migrations_package.__path__):
        if not _NAME.match(info.name):
            continue
        module = importlib.import_module(f"{migrations_package.__name__}.{info.name}")
        found.append(Migration(info.name, getattr(module, "description", ""), tuple(module.operations)))
    found.sort(key=lambda m: m.name)
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise ClickHouseError(_("Two ClickHouse migrations share a number: %(names)s") %
                              {"names": ", ".join(m.name for m in found)})
    return found


def statements_for(target: ClickHouseTarget, operations) -> list[str]:
    """The statements to run on `target`: `operations` as written on one node, translated on a cluster."""
    if not target.cluster:
        return list(operations)
    return [sql for operation in operations
            for sql in cluster_ddl.translate(operation, cluster=target.cluster, database=target.database)]


def setup_statements(target: ClickHouseTarget) -> list[str]:
    """What every migrate run executes first: the database and the record table."""
    return [target.create_database_sql(), *statements_for(target, [_RECORD_TABLE_DDL])]


def applied_migrations(target: ClickHouseTarget) -> dict[str, dict]:
    """name -> {checksum, applied_at}; empty when the database or the record table does not exist yet."""
    if not target.database_exists():
        return {}
    exists = target.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": target.database, "t": MIGRATIONS_TABLE},
    )
    if not exists:
        return {}
    rows = target.rows(f"SELECT name, checksum, applied_at FROM {MIGRATIONS_TABLE} FINAL ORDER BY name")
    return {r["name"]: r for r in rows}


def resolve_upto(migrations: list[Migration], upto: str | None) -> list[Migration]:
    if not upto:
        return migrations
    matches = [m for m in migrations if m.name == upto or m.name.startswith(f"{upto}_") or
               (upto.isdigit() and m.number == int(upto))]
    if not matches:
        raise ClickHouseError(_("No ClickHouse migration named %(name)s.") % {"name": upto})
    return [m for m in migrations if m.number <= matches[0].number]


def plan(target: ClickHouseTarget, upto: str | None = None) -> list[Migration]:
    done = applied_migrations(target)
    return [m for m in resolve_upto(load_migrations(), upto) if m.name not in done]


def migrate(target: ClickHouseTarget, *, upto: str | None = None, fake: bool = False,
            on_apply: Callable[[Migration], None] | None = None) -> list[Migration]:
    """Create the database if needed and apply every pending migration (up to `upto`) in order."""
    create_database, *record_table = setup_statements(target)
    target.command(create_database, database=False)
    with target.connection() as client:
        for statement in record_table:
            client.command(statement)
        pending = plan(target, upto)
        # Translated before anything runs: a statement the cluster translation refuses stops the whole plan.
        statements = {m.name: statements_for(target, m.operations) for m in pending}
        for migration in pending:
            if on_apply:
                on_apply(migration)
            if not fake:
                for statement in statements[migration.name]:
                    client.command(statement)
            client.insert(
                MIGRATIONS_TABLE,
                [[migration.name, migration.checksum, datetime.now(timezone.utc)]],
                column_names=["name", "checksum", "applied_at"],
            )
    return pending


def changed_since_applied(target: ClickHouseTarget) -> list[str]:
    """Applied migrations whose file has been edited since: migrations are append-only."""
    done = applied_migrations(target)
    return [m.name for m in load_migrations() if m.name in done and done[m.name]["checksum"] != m.checksum]
