"""The specification's migration workflow (upgrade, downgrade one step, current, history) in Django's terms.

Django records every app's migrations in each database's ``django_migrations`` even where the router lets
none of their operations run; the "last step" of a database is therefore the latest applied migration of
an app that the router actually places in that database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from etlsite.routers import alias_for_app

# The names the specification's scripts use, mapped to Django aliases.
DATABASE_NAMES = {"metadata": "default", "staging": "staging"}


def aliases_for(name: str) -> list[str]:
    return list(DATABASE_NAMES.values()) if name == "all" else [DATABASE_NAMES[name]]


def apps_in(alias: str) -> set[str]:
    """App labels with migrations whose tables the router puts in `alias`."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {label for label in loader.migrated_apps if alias_for_app(label) == alias}


@dataclass(frozen=True)
class AppliedMigration:
    app: str
    name: str
    applied: datetime


def history(alias: str) -> list[AppliedMigration]:
    """Applied migrations of this database's own apps, oldest first."""
    recorder = MigrationRecorder(connections[alias])
    if not recorder.has_table():
        return []
    own = apps_in(alias)
    rows = recorder.migration_qs.filter(app__in=own).order_by("applied", "id")
    return [AppliedMigration(r.app, r.name, r.applied) for r in rows]


def current(alias: str) -> dict[str, str]:
    """The latest applied migration of each app in this database (its "current version"), or "zero"."""
    loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    heads: dict[str, str] = {}
    for app in sorted(apps_in(alias)):
        applied = [key for key in loader.applied_migrations if key[0] == app]
        parents = {parent for key in applied for parent in loader.graph.node_map[key].parents}
        tips = sorted(name for key_app, name in applied if (key_app, name) not in parents)
        heads[app] = ", ".join(tips) or "zero"
    return heads


def previous_step(alias: str) -> tuple[str, str] | None:
    """(app_label, target) that undoes the most recently applied migration of this database, or None."""
    steps = history(alias)
    if not steps:
        return None
    last = steps[-1]
    loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    node = loader.graph.node_map[(last.app, last.name)]
    parents = sorted(p for p in node.parents if p[0] == last.app)
    return last.app, (parents[-1][1] if parents else "zero")
