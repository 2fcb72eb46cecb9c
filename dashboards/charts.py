"""Chart specifications handed to the page as JSON (json_script) and drawn by static/dashboards/charts.js
with Chart.js: ``{"type", "labels", "datasets": [{"label", "data"}], "percent", "horizontal"}``."""

from __future__ import annotations

from datetime import date, datetime


def _label(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def chart(kind: str, labels: list, datasets: list[tuple[str, list]], *, percent: bool = False,
          horizontal: bool = False) -> dict:
    return {
        "type": kind,
        "labels": [_label(v) for v in labels],
        "datasets": [{"label": str(label), "data": [None if v is None else float(v) for v in data]}
                     for label, data in datasets],
        "percent": percent,
        "horizontal": horizontal,
    }
