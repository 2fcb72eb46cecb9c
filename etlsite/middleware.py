"""Request-scoped context for the audit trail (analytics.audit)."""

from __future__ import annotations

from analytics.audit import audit_context_set


class AuditContextMiddleware:
    """Makes the current request the audit context: services and signals read its user, session, IP
    address and user agent through `analytics.audit.audit_context()`. Place after AuthenticationMiddleware.
    The request is read lazily, so a user authenticated later (DRF token auth in the view) is seen too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context_set(request):
            return self.get_response(request)
