"""Numbers as people read them, in the viewer's language: shares as percentages, seconds as "3 min 10 s",
sizes as "445 B" / "1.2 MB" (Russian "445 Б" / "1,2 МБ"), identifiers as words. The pages, the dashboards and
the admin all format through here (template filters in etlsite/templatetags/formatting.py), so a rate never
shows as "0.800" on one page and "80 %" on another."""

from __future__ import annotations

import math

from django.utils.formats import number_format
from django.utils.translation import gettext as _

# A no-break space keeps "80 %" and "3 min" on one line.
NBSP = "\xa0"
MISSING = "\u2014"


def _number(value: float, digits: int) -> str:
    rounded = round(float(value), digits)
    if rounded == int(rounded):
        return number_format(int(rounded), force_grouping=True)
    return number_format(rounded, decimal_pos=digits, force_grouping=True)


def format_percent(share: float | None, digits: int = 1) -> str:
    """A share (0.8) as a percentage ("80 %"; "99.5 %", Russian "99,5 %"); a dash for nothing measured.

    A share that rounds to 100 % or 0 % without being it keeps its decimals ("99.96 %"), so a failed check
    never reads as "100 %"."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return MISSING
    percent = float(share) * 100
    while digits < 4 and percent not in (0.0, 100.0) and round(percent, digits) in (0.0, 100.0):
        digits += 1
    return f"{_number(percent, digits)}{NBSP}%"


def format_duration(seconds: float | None) -> str:
    """Seconds as "40 ms", "0.4 s", "42 s", "3 min 10 s", "2 h 5 min" (Russian "3 мин 10 с"); a dash for none."""
    if seconds is None:
        return MISSING
    seconds = max(0.0, float(seconds))
    if 0 < seconds < 0.1:
        return _("%(milliseconds)s ms") % {"milliseconds": _number(seconds * 1000, 0) if seconds >= 0.001 else "<1"}
    if seconds < 10:
        return _("%(seconds)s s") % {"seconds": _number(seconds, 1)}
    whole = int(round(seconds))
    if whole < 60:
        return _("%(seconds)d s") % {"seconds": whole}
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        if not rest:
            return _("%(minutes)d min") % {"minutes": minutes}
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}
    hours, rest = divmod(whole, 3600)
    minutes = rest // 60
    if not minutes:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


def byte_units() -> list[str]:
    """The units of format_bytes, each a template around "%(size)s", in the viewer's language (the upload page's
    script sizes files with the same words)."""
    return [_("%(size)s B"), _("%(size)s KB"), _("%(size)s MB"), _("%(size)s GB"), _("%(size)s TB")]


def format_bytes(size: float | None) -> str:
    """A size in bytes, 1024 to the next unit: "445 B", "2 KB", "1.5 MB" (Russian "445 Б", "1,5 МБ"); a dash for
    none. Django's filesizeformat says "bytes" and, in Russian, "байт": the pages use one set of units."""
    if size is None:
        return MISSING
    units = byte_units()
    value, unit = max(0.0, float(size)), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return (units[unit] % {"size": _number(value, 1 if unit else 0)}).replace(" ", NBSP)


def humanize_identifier(name: str) -> str:
    """`average_check` -> "Average check": the fallback for a name nobody gave a label."""
    words = str(name or "").replace("_", " ").replace("-", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:]
