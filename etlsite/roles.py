"""Named roles (auth groups) the application ships with. Today one: "Viewers", who see every page, admin
list and API list of the ETL's own models but cannot change, run, cancel or upload anything.

Kept in sync by `manage.py create_roles` (and at the end of `migrate_all`): the group gets exactly the
view permissions listed here, so permissions added by later migrations reach it on the next sync.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

VIEWERS = "Viewers"
# The ETL's own data and its schedules; never users, groups or API tokens (a token is a credential).
VIEWER_APPS = ("sources", "pipelines", "staging", "dashboards", "django_celery_beat")
# A permission named view_* that is not read-only in spirit: it reveals masked values (analytics/masking.py).
NOT_FOR_VIEWERS = {"view_sensitive_data"}


def viewer_permissions() -> list[Permission]:
    return list(Permission.objects.filter(content_type__app_label__in=VIEWER_APPS, codename__startswith="view_")
                .exclude(Q(codename__in=NOT_FOR_VIEWERS)).select_related("content_type"))


def roles_sync() -> dict[str, int]:
    """Create or update the shipped groups; returns each group's number of permissions."""
    viewers, _created = Group.objects.get_or_create(name=VIEWERS)
    permissions = viewer_permissions()
    viewers.permissions.set(permissions)
    return {VIEWERS: len(permissions)}
