"""The upload page's small JSON endpoints: the same login and permission rules as the pages, answered in
JSON (the page's script shows `error` where the file is)."""

from __future__ import annotations

import json
from functools import wraps

from django.http import JsonResponse
from django.utils.translation import gettext as _


def json_error(message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": str(message), **extra}, status=status)


def endpoint(*perms: str):
    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return json_error(_("Your session has ended; log in again."), 401)
            if not request.user.has_perms(perms):
                return json_error(_("You do not have permission to do this."), 403)
            return view(request, *args, **kwargs)

        return checked

    return decorate


def json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
