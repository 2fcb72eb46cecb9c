"""Chart specifications handed to the page as JSON (json_script) and drawn by static/dashboards/charts.js
with Chart.js: ``{"type", "labels", "datasets": [{"label", "data"}], "percent", "horizontal", "shown", "total",
"note"}``.

A chart that shows fewer values than there are says so (issue 16: a daily series of 1,461 values stopped in
2013 without a word): ``total`` is how many there are, ``shown`` how many are drawn, ``note`` the sentence the
page prints under the chart, and the page offers the rest (paging, a coarser bucket, or the full table).
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _label(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _count(value: int) -> str:
    return number_format(value, force_grouping=True)


def limit_note(shown: int, total: int, *, first: int = 1) -> str:
    """"Showing points 1–400 of 1,461." when a chart draws only part of its values; "" when it draws all."""
    if total <= shown:
        return ""
    if first == 1:
        return ngettext("Showing %(shown)s of %(total)s point.", "Showing %(shown)s of %(total)s points.",
                        total) % {"shown": _count(shown), "total": _count(total)}
    return ngettext("Showing points %(first)s–%(last)s of %(total)s point.",
                    "Showing points %(first)s–%(last)s of %(total)s points.", total) % {
        "first": _count(first), "last": _count(first + shown - 1), "total": _count(total)}


def chart(kind: str, labels: list, datasets: list[tuple[str, list]], *, percent: bool = False,
          horizontal: bool = False, total: int | None = None, first: int = 1, note: str = "") -> dict:
    """A chart's specification. `total`: how many values there are when `labels` holds only some of them
    (`first` is the 1-based position of the first one drawn); `note` replaces the standard sentence."""
    shown = len(labels)
    total = shown if total is None else max(total, shown)
    return {
        "type": kind,
        "labels": [_label(v) for v in labels],
        "datasets": [{"label": str(label), "data": [None if v is None else float(v) for v in data]}
                     for label, data in datasets],
        "percent": percent,
        "horizontal": horizontal,
        "shown": shown,
        "total": total,
        "note": note or limit_note(shown, total, first=first),
    }


def bucket_note(granularity: str) -> str:
    """What one point of a bucketed series is."""
    return {"day": _("One point per day."), "week": _("One point per week (weeks start on Monday)."),
            "month": _("One point per month.")}.get(granularity, "")
