"""The API's JSON parser: DRF's, which refuses NaN and Infinity, and also refuses lone surrogates.

JSON lets a string spell "\\ud800" alone, which is no character: Python keeps it, but it cannot be encoded as
UTF-8, so the row could not be written to PostgreSQL or rendered back (a 500). It is a malformed body (400).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_lone_surrogate(data):
            raise ParseError(_("JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), which is not "
                               "a character."))
        return data
