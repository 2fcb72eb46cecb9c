"""Stored codes put into words in the reader's language, at display time: run statuses, sensitivity levels,
lineage transformation types and their generated logic, personal-data kinds and evidence.

Rows keep the code (ClickHouse tables, JSON columns, the API); pages call these (or the `labels` template
filters, etlsite/templatetags/labels.py). An unknown code is shown as it is.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SENSITIVITY_LABELS = {
    "public": gettext_lazy("public"),
    "internal": gettext_lazy("internal"),
    "confidential": gettext_lazy("confidential"),
    "restricted": gettext_lazy("restricted"),
    "secret": gettext_lazy("secret"),
    "pii": gettext_lazy("personal data"),
}

LINEAGE_TYPE_LABELS = {
    "extract": gettext_lazy("extract"),
    "load": gettext_lazy("load"),
    "copy": gettext_lazy("copy"),
    "rename": gettext_lazy("rename"),
    "derive": gettext_lazy("derive"),
    "lookup": gettext_lazy("lookup"),
    "cast": gettext_lazy("cast"),
    "fill_nulls": gettext_lazy("fill empty values"),
    "trim": gettext_lazy("trim"),
}

# The pii module's evidence "pattern" is English words fixed per kind: shown from the kind.
PII_PATTERN_LABELS = {
    "card": gettext_lazy("13-19 digits passing the Luhn check"),
    "inn": gettext_lazy("10 or 12 digits passing the INN checksum"),
    "email": gettext_lazy("local@domain.tld"),
    "passport_ru": gettext_lazy("4 + 6 digits (series and number), optional space"),
    "phone": gettext_lazy("10-15 digits with +, Russian 7/8 prefix or separators"),
    "person_name": gettext_lazy("2-3 capitalised words, some with a known first name or patronymic"),
}

_CAST = re.compile(r"^cast to (?P<type>\w+)$")
_JOIN = re.compile(r"^left join on (?P<condition>.+)$", re.S)
_FILL = re.compile(r"^empty -> (?P<value>.*)$", re.S)


def sensitivity_label(code: str) -> str:
    return str(SENSITIVITY_LABELS.get((code or "").lower(), code))


def lineage_type_label(code: str) -> str:
    return str(LINEAGE_TYPE_LABELS.get(code, code))


def lineage_logic_label(text: str) -> str:
    """The logic a step recorded (pipelines/transformations, analytics/lineage) in words; expressions and
    "old -> new" renames are code and stay as written."""
    if text in LINEAGE_TYPE_LABELS:
        return lineage_type_label(text)
    if text == "trim whitespace":
        return _("trim whitespace")
    for pattern, words in ((_CAST, _("cast to %(type)s")), (_JOIN, _("left join on %(condition)s")),
                           (_FILL, _("empty → %(value)s"))):
        match = pattern.match(text or "")
        if match:
            return words % match.groupdict()
    return text


def pii_kind_label(kind: str) -> str:
    from analytics.pii import KIND_LABELS

    return str(KIND_LABELS.get(kind, kind))


def pii_pattern_label(kind: str, pattern: str = "") -> str:
    return str(PII_PATTERN_LABELS.get(kind, pattern))
