"""Failed logins are limited per username and per client address (the admin's login page, which is also the
site's, and the API's token endpoint): one module owns the rule.

After ETL_LOGIN_MAX_FAILURES failures for one username (or ETL_LOGIN_MAX_FAILURES_PER_ADDRESS from one client
address) within ETL_LOGIN_LOCKOUT_MINUTES, that username (or address) is locked out for ETL_LOGIN_LOCKOUT_MINUTES:
every attempt is refused with "too many attempts, try again in M minutes" (the API: 429 with Retry-After) —
the right password too, since `LockoutBackend` refuses before any backend checks it. A successful login
clears the username's failures. Each lockout is logged (username and address, never the password).

Counters live in Django's cache (CACHES: a folder under ETL_VAR_DIR by default, so every web process shares
them; Redis where DJANGO_CACHE_URL names one). The client address is REMOTE_ADDR: behind a proxy that is the
proxy's, so put the limit there as well (X-Forwarded-For is whatever the client wrote).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)


def _window() -> int:
    return settings.ETL_LOGIN_LOCKOUT_MINUTES * 60


def _key(kind: str, value: str) -> str:
    # Hashed: usernames and addresses are not cache key material (spaces, length), nor worth keeping in clear.
    return f"login-throttle:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def client_address(request) -> str:
    return (getattr(request, "META", None) or {}).get("REMOTE_ADDR", "") or ""


def _subjects(username: str | None, address: str) -> list[tuple[str, str, int]]:
    subjects = []
    if username:
        subjects.append(("user", username.strip().lower(), settings.ETL_LOGIN_MAX_FAILURES))
    if address:
        subjects.append(("address", address, settings.ETL_LOGIN_MAX_FAILURES_PER_ADDRESS))
    return subjects


def login_lockout_seconds(*, username: str | None, request) -> int:
    """Seconds until `username` and the request's address may try again; 0 when neither is locked out."""
    now = time.time()
    until = max((cache.get(_key(f"{kind}-locked", value)) or 0 for kind, value, _limit in
                 _subjects(username, client_address(request))), default=0)
    return max(0, math.ceil(until - now))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("Too many failed login attempts. Try again in %(minutes)d minute.",
                    "Too many failed login attempts. Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes}


def login_failure_record(*, username: str | None, request) -> None:
    """Count a failed login; lock the username or the address out when it reaches its limit."""
    if login_lockout_seconds(username=username, request=request):
        return  # refused during a lockout: it does not extend it
    address = client_address(request)
    for kind, value, limit in _subjects(username, address):
        key = _key(kind, value)
        cache.add(key, 0, timeout=_window())
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=_window())
            failures = 1
        if failures >= limit:
            cache.set(_key(f"{kind}-locked", value), time.time() + _window(), timeout=_window())
            cache.delete(key)
            logger.warning("Login lockout for %s minutes: %d failed logins for %s %r (username %r, address %s)",
                           settings.ETL_LOGIN_LOCKOUT_MINUTES, failures, "username" if kind == "user" else "address",
                           value, username or "", address or "?")


def login_success_record(*, username: str | None) -> None:
    if username:
        cache.delete(_key("user", username.strip().lower()))


class LockoutBackend:
    """First in AUTHENTICATION_BACKENDS: while the username or the address is locked out, authentication stops
    here (PermissionDenied ends Django's `authenticate`), whatever the password. It has no `get_user`: it never
    logs anyone in, so Django never records it as a session's backend (nor picks it for `force_login`)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and login_lockout_seconds(username=username, request=request):
            raise PermissionDenied
        return None


@receiver(user_login_failed, dispatch_uid="etlsite.login_throttle.failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None:
        login_failure_record(username=credentials.get("username"), request=request)


@receiver(user_logged_in, dispatch_uid="etlsite.login_throttle.logged_in")
def _on_logged_in(sender, request, user, **kwargs):
    login_success_record(username=user.get_username())


def lockout_form_class():
    """The admin's login form (the site's login page too), refusing with the lockout message first."""
    from django import forms
    from django.contrib.admin.forms import AdminAuthenticationForm

    class LockoutAuthenticationForm(AdminAuthenticationForm):
        def clean(self):
            seconds = login_lockout_seconds(username=self.data.get("username"), request=self.request)
            if seconds:
                raise forms.ValidationError(lockout_message(seconds), code="locked_out")
            return super().clean()

    return LockoutAuthenticationForm
