"""Who may read and who may change what: Django model permissions, as in the admin.

* `ModelPermissions`: reading needs the model's *view* permission (DRF's own class lets any authenticated
  user read); writes need add/change/delete. A view may name other permissions per action in
  `action_permissions` (e.g. re-running a run needs `pipelines.change_pipelinerun`).
* `ClickHousePermissions`: the ClickHouse resources have no model; each view names the permissions its
  reads and writes need in `read_permissions` / `write_permissions`.
* `SuperuserOnly`: the audit log.
Anonymous callers get 401 (token authentication comes first), authenticated ones without the permission 403.
"""

from __future__ import annotations

from rest_framework import permissions

SAFE = permissions.SAFE_METHODS


class ModelPermissions(permissions.DjangoModelPermissions):
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if needed is not None:
            return request.user.has_perms(needed)
        return super().has_permission(request, view)


class ClickHousePermissions(permissions.BasePermission):
    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        needed = view.read_permissions if request.method in SAFE else view.write_permissions
        return request.user.has_perms(needed)


class SuperuserOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
