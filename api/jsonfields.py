"""JSON fields of the API's writable serializers, the same whatever the request's body type.

In a JSON body a field's value is already JSON and DRF checks `null` against `allow_null`. In a multipart or
form-encoded body every value is text that DRF's JSONField parses itself, after that check: "null" became
None and reached the database as NULL (an IntegrityError, a 500), and "NaN" or "Infinity" (which JSON does
not have, and PostgreSQL's jsonb refuses) went through. Here the parsed value is checked like a JSON body's.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class StrictJSONField(serializers.JSONField):
    default_error_messages = {
        "invalid": _("Value must be valid JSON."),
        "null": _("This field may not be null."),
    }

    def to_internal_value(self, data):
        if self.binary or getattr(data, "is_json_string", False):
            if isinstance(data, bytes):
                data = data.decode()
            try:
                data = json.loads(data, cls=self.decoder, parse_constant=_no_constant)
            except (TypeError, ValueError):
                self.fail("invalid")
            if data is None and not self.allow_null:
                self.fail("null")
            return data
        return super().to_internal_value(data)
