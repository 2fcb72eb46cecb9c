"""Throttling of the expensive writes: uploads and run triggers, per user (per IP for anonymous callers).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (API_THROTTLE_UPLOADS, API_THROTTLE_TRIGGERS).
Only the write actions are throttled: polling a run's status is not.
"""

from rest_framework.throttling import UserRateThrottle


class _ScopedWriteThrottle(UserRateThrottle):
    scope = ""

    def get_rate(self):
        # Read at request time, not import time, so a changed setting (tests, override_settings) applies.
        from django.conf import settings

        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def __init__(self):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)


class UploadThrottle(_ScopedWriteThrottle):
    scope = "uploads"


class TriggerThrottle(_ScopedWriteThrottle):
    scope = "triggers"
