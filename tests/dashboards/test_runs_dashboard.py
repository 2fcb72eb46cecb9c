"""Runs dashboard: numbers on the page against an independent computation over the factories' runs."""

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db

URL = "/dashboards/runs/"


def _nearest_rank(values, p):
    values = sorted(values)
    return values[math.ceil(p / 100 * len(values)) - 1]


@pytest.fixture
def runs():
    now = timezone.now()
    sales, stock = PipelineFactory(name="Sales processing"), PipelineFactory(name="Stock sync")
    made = []
    for i in range(23):
        status = "failed" if i % 5 == 0 else "success"
        started, seconds = now - timedelta(days=i % 10, hours=i), 10.0 + (i * 7) % 31
        made.append(PipelineRunFactory(
            pipeline=sales if i % 3 else stock, status=status, created_at=started, started_at=started,
            finished_at=started + timedelta(seconds=seconds),
            duration_seconds=seconds, records_processed=100 * i, records_failed=i % 4,
            error_message=f"Source file missing ({i})" if status == "failed" else ""))
    long_ago = now - timedelta(days=45)
    old = PipelineRunFactory(pipeline=sales, created_at=long_ago, started_at=long_ago,
                             finished_at=long_ago + timedelta(seconds=999), duration_seconds=999.0)
    return {"sales": sales, "stock": stock, "recent": made, "old": old}


def test_totals_percentiles_and_latest_runs(client, viewer, runs):
    client.force_login(viewer)
    page = client.get(URL)
    assert page.status_code == 200
    recent = runs["recent"]  # the default period (30 days) leaves out the 45-day-old run
    totals = page.context["totals"]
    success = sum(r.status == "success" for r in recent)
    failed = sum(r.status == "failed" for r in recent)
    assert (totals["total"], totals["success"], totals["failed"]) == (len(recent), success, failed)
    assert totals["success_rate"] == pytest.approx(success / (success + failed))
    assert totals["records_processed"] == sum(r.records_processed for r in recent)

    durations = [r.duration_seconds for r in recent]
    got = page.context["durations"]
    assert got["count"] == len(recent) and got["max"] == max(durations)
    for p in (50, 90, 95):
        assert got[f"p{p}"] == _nearest_rank(durations, p)

    latest = sorted(recent, key=lambda r: r.created_at, reverse=True)[:10]
    assert [(r["pipeline_name"], r["records_processed"]) for r in page.context["latest"]] == [
        (r.pipeline.name, r.records_processed) for r in latest]
    failures = page.context["failures"]
    assert [f.pk for f in failures] == [r.pk for r in sorted(recent, key=lambda r: r.created_at, reverse=True)
                                         if r.status == "failed"]
    assert "Source file missing (0)" in page.content.decode()

    by_day = {}
    for r in recent:
        day = timezone.localtime(r.created_at).date()
        by_day[day] = by_day.get(day, 0) + r.records_processed
    chart = page.context["records_chart"]
    assert dict(zip(chart["labels"], chart["datasets"][0]["data"], strict=True)) == {
        d.isoformat(): float(v) for d, v in by_day.items()}


def test_the_pipeline_filter_stays_in_the_url_and_narrows_everything(client, viewer, runs):
    client.force_login(viewer)
    stock = runs["stock"]
    page = client.get(URL, {"pipeline": stock.pk, "period": "90"})
    assert page.status_code == 200
    ours = [r for r in runs["recent"] if r.pipeline_id == stock.pk]
    assert page.context["totals"]["total"] == len(ours)
    assert {r["pipeline_name"] for r in page.context["latest"]} == {"Stock sync"}
    html = page.content.decode()
    assert f'<option value="{stock.pk}" selected>' in html and '<option value="90" selected>' in html
    assert 'method="get"' in html


def test_a_longer_period_includes_older_runs(client, viewer, runs):
    client.force_login(viewer)
    page = client.get(URL, {"period": "90"})
    assert page.context["totals"]["total"] == len(runs["recent"]) + 1
    assert page.context["durations"]["max"] == 999.0


@pytest.mark.parametrize("query, message", [
    ({"period": "12"}, "Unknown period 12"),
    ({"pipeline": "999999"}, "There is no such pipeline"),
    ({"pipeline": "abc"}, "There is no such pipeline"),
])
def test_bad_filters_are_explained_on_the_page(client, viewer, query, message):
    client.force_login(viewer)
    page = client.get(URL, query)
    assert page.status_code == 400
    assert message in page.content.decode()


def test_empty_state_says_what_to_do(client, viewer):
    client.force_login(viewer)
    assert "run_pipeline" in client.get(URL).content.decode()


def test_latest_runs_link_to_their_run_pages_with_the_specifications_numbers(client, viewer, runs):
    """Each row of "Latest runs" links to /runs/<id>/ of the run whose numbers it shows (the id is read by
    the same statement as the specification's columns, so it cannot belong to another row)."""
    client.force_login(viewer)
    page = client.get(URL)
    latest = sorted(runs["recent"], key=lambda r: r.created_at, reverse=True)[:10]
    rows = page.context["latest"]
    assert [r["run_id"] for r in rows] == [r.pk for r in latest]
    for row, run in zip(rows, latest, strict=True):
        assert (row["pipeline_name"], row["status"], row["duration_seconds"], row["records_processed"]) == (
            run.pipeline.name, run.status, run.duration_seconds, run.records_processed)
    html = page.content.decode()
    table = html[html.index('<table id="latest-runs">'):]
    table = table[:table.index("</table>")]
    assert table.count('<a href="/runs/') == len(latest)
    for run in latest:
        assert f'<a href="/runs/{run.pk}/">{run.pipeline.name}</a>' in table
