"""Every page needs a logged-in user (else the admin's login) and a model permission: view to read,
change to act. A missing permission is a 403 page, not an error."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def page(*perms: str):
    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(checked, login_url="admin:login")

    return decorate
