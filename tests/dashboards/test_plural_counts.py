"""Counts on the dashboards take the noun's plural form of the page's language (Russian has three: 1 запуск,
2 запуска, 5 запусков, 21 запуск)."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from dashboards.filters import DashboardFilterForm

pytestmark = pytest.mark.django_db

RUSSIAN = {1: "запуск", 2: "запуска", 5: "запусков", 21: "запуск"}


def _kpis(html: str) -> dict[str, str]:
    """{data-kpi: the caption after the number}."""
    return {kpi: caption.strip() for kpi, caption in
            re.findall(r'data-kpi="([a-z-]+)">[^<]*</span>([^<]*)</div>', html)}


def _render(template: str, totals: dict) -> dict[str, str]:
    request = RequestFactory().get("/")
    context = {"form": DashboardFilterForm(), "filters": {"period": "7d"}, "totals": totals, "section": "runs",
               "durations": dict.fromkeys(("p50", "p90", "p95", "max", "count"), 1)}
    with translation.override("ru"):
        html = render_to_string(f"dashboards/{template}", context, request=request)
    return _kpis(html)


@pytest.mark.parametrize("n", [1, 2, 5, 21])
def test_the_runs_dashboard_counts_in_russian(n):
    kpis = _render("runs.html", {"total": n, "failed": n, "records_processed": n, "success_rate": 0.5})
    assert kpis["total"] == RUSSIAN[n]
    assert kpis["records"] == {1: "запись обработана", 2: "записи обработаны", 5: "записей обработано",
                               21: "запись обработана"}[n]


@pytest.mark.parametrize("n", [1, 2, 5, 21])
def test_the_quality_dashboard_counts_in_russian(n):
    kpis = _render("quality.html", {"checked": n, "passed": n, "failed": n, "pass_rate": 0.5})
    assert kpis["checked"] == {1: "проверка измерена", 2: "проверки измерены", 5: "проверок измерено",
                               21: "проверка измерена"}[n]
    assert kpis["passed"] == {1: "пройдена", 2: "пройдены", 5: "пройдено", 21: "пройдена"}[n]
