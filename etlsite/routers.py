"""Route each app to its database alias, as settings.DATABASE_APPS_MAPPING says.

Reads, writes and migrations of a mapped app go to its alias, and only there; every other app lives in
`default`. Relations may only join rows of one alias: cross-database references are plain integers.
"""

from django.conf import settings
from django.core.checks import Error, register
from django.db import connections

DEFAULT_ALIAS = "default"


def _mapping() -> dict[str, str]:
    return getattr(settings, "DATABASE_APPS_MAPPING", {})


def alias_for_app(app_label: str) -> str:
    return _mapping().get(app_label, DEFAULT_ALIAS)


class AppDatabaseRouter:
    def db_for_read(self, model, **hints):
        return alias_for_app(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return alias_for_app(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        return alias_for_app(obj1._meta.app_label) == alias_for_app(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return alias_for_app(app_label) == db


@register()
def check_database_mapping(app_configs, **kwargs):
    errors = []
    for app_label, alias in _mapping().items():
        if alias not in connections.databases:
            errors.append(
                Error(
                    f"DATABASE_APPS_MAPPING sends app '{app_label}' to unknown database alias '{alias}'.",
                    id="etlsite.E001",
                )
            )
    return errors
