"""The Redoc bundle of the API docs, served without its one reference to another host.

drf-spectacular-sidecar ships Redoc's standalone bundle; its menu footer shows Redocly's logo from
cdn.redoc.ly. Served from here with that address replaced by an empty data: image (Redoc then hides the
logo), so the docs load nothing from elsewhere and the Content-Security-Policy has nothing to block.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.views.decorators.http import require_GET

BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def redoc_bundle_bytes() -> bytes:
    text = Path(finders.find(BUNDLE)).read_text(encoding="utf-8")
    return text.replace(REDOCLY_LOGO, "data:,").encode()


@require_GET
@login_required(login_url="admin:login")  # as the docs page itself (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"])
def redoc_bundle(request):
    response = HttpResponse(redoc_bundle_bytes(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "private, max-age=86400"
    return response
