"""The language switch as plain links (GET /language/<code>/?next=...): no form and no submit button in the
page header, so the first button of the login page is the login form's own, and it works without JavaScript.

Django's set_language changes the language on POST only, against cross-site requests. A link cannot post, so
this view applies the change only when the browser says the request comes from this site (Sec-Fetch-Site, sent
by every current browser; a request without it - a typed URL in an old browser, a test client - is allowed):
another site can link here but cannot change a visitor's language. The redirect goes to a path of this site
only, never to an address taken from the query string.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.urls import translate_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

SAME_SITE = {"same-origin", "same-site", "none"}


def safe_next(request, candidate: str | None) -> str:
    """`candidate` when it is a path of this site, else the site's root."""
    if candidate and candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return "/"


@never_cache
@require_GET
def switch_language(request, code: str):
    if code not in dict(settings.LANGUAGES):
        raise Http404
    target = safe_next(request, request.GET.get("next"))
    response = HttpResponseRedirect(translate_url(target, code))
    if request.headers.get("Sec-Fetch-Site", "none") in SAME_SITE:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    return response
