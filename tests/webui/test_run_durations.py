"""A run's duration is the whole run's (retries and their waits included) on every page that lists runs, the
same as on the run page: the runs dashboard's latest runs, the admin's run list (issue 16)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import PipelineRunFactory
from tests.webui.test_run_page import _retried_run
from webui.timeline import run_duration

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

WHOLE = {"en": "3 min 11 s", "ru": "3 мин 11 с"}  # _retried_run: 1 s, 189 s waiting, 1.1 s
LAST_ATTEMPT = {"en": "1.1 s", "ru": "1,1 с"}


def test_the_whole_run_counts_from_the_first_attempt_and_an_ongoing_run_has_none_yet():
    assert run_duration(_retried_run()) == pytest.approx(191.1)
    assert run_duration(PipelineRunFactory(duration_seconds=83.0)) == pytest.approx(83.0)
    start = timezone.now() - timedelta(minutes=1)
    assert run_duration(PipelineRunFactory(status="running", started_at=start, finished_at=None)) is None
    assert run_duration(PipelineRunFactory(status="pending", started_at=None, finished_at=None)) is None


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_page_shows_the_whole_run(admin_client, language):
    run = _retried_run()
    get = {"HTTP_ACCEPT_LANGUAGE": language}
    detail = admin_client.get(reverse("webui:run-detail", args=[run.pk]), **get).content.decode()
    assert f'<dd id="run-duration">{WHOLE[language]}</dd>' in detail

    dashboard = admin_client.get("/dashboards/runs/", **get)
    [row] = [r for r in dashboard.context["latest"] if r["started_at"] == run.started_at]
    assert row["duration_seconds"] == pytest.approx(191.1)
    table = dashboard.content.decode().split('id="latest-runs"', 1)[1].split("</table>", 1)[0]
    assert f'<td class="num">{WHOLE[language]}</td>' in table
    assert f'<td class="num">{LAST_ATTEMPT[language]}</td>' not in table

    listing = admin_client.get(reverse("admin:pipelines_pipelinerun_changelist"), **get).content.decode()
    cell = re.search(r'<td class="field-duration">([^<]*)</td>', listing)
    assert cell and cell.group(1) == WHOLE[language]


def test_the_admin_run_list_sorts_by_the_duration_it_shows(admin_client):
    retried, single = _retried_run(), PipelineRunFactory(duration_seconds=83.0)  # 191 s (last attempt 1.1 s); 83 s
    running = PipelineRunFactory(status="running", finished_at=None, duration_seconds=None)
    url = reverse("admin:pipelines_pipelinerun_changelist")
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    order = re.search(r'<th scope="col" class="sortable column-duration">.*?href="\?o=([\d.]+)"', page, re.S).group(1)
    rows = admin_client.get(url, {"o": order}, HTTP_ACCEPT_LANGUAGE="en").context["cl"].result_list
    assert [run.pk for run in rows] == [single.pk, retried.pk, running.pk]  # no duration yet sorts last
    assert [run.whole_duration for run in rows][:2] == [pytest.approx(83.0), pytest.approx(191.1)]
    assert [run_duration(run) for run in rows][:2] == [pytest.approx(83.0), pytest.approx(191.1)]


def test_the_runs_dashboard_percentiles_count_the_whole_runs(admin_client):
    _retried_run()  # 191.1 s in all, 1.1 s its last attempt
    PipelineRunFactory(duration_seconds=83.0)
    PipelineRunFactory(status="running", finished_at=None, duration_seconds=None)  # not finished: not counted
    durations = admin_client.get("/dashboards/runs/").context["durations"]
    assert durations["count"] == 2
    assert (durations["p50"], durations["max"]) == (pytest.approx(83.0), pytest.approx(191.1))
