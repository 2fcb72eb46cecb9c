"""The run page in a browser (issue 16): a retried run's timeline and whole duration, the lineage graph with the
file's own headers, in English and Russian, with no console error (the harness fails a test on one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines.engine.runner import run_execute
from pipelines.models import PipelineRun
from pipelines.services import run_claim, run_create
from staging.models import ProcessingLog
from tests.browser.conftest import wait_until
from tests.factories import DataSourceFactory, PipelineFactory


@pytest.fixture
def retried_run(tmp_path, browser_clickhouse):
    """A real run of a small file whose headers are not column names, plus the record of a first attempt that
    failed 190 s before it (as run_retry leaves it)."""
    path = tmp_path / "penguins.csv"
    path.write_text("Species,Body Mass (g),Island\nAdelie,3750,Torgersen\nGentoo,5000,Biscoe\n"
                    "Chinstrap,3500,Dream\n", encoding="utf-8")
    source = DataSourceFactory(name="Penguins file", source_type="file", connection_config={"file_path": str(path)})
    run = run_create(pipeline=PipelineFactory(name="Penguins", data_source=source, configuration={}),
                     triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    first = run.started_at - timedelta(seconds=190)
    ctx = {**run.execution_context, "attempts": [
        {"attempt": 1, "started_at": first.isoformat(), "finished_at": (first + timedelta(seconds=1)).isoformat(),
         "duration_seconds": 1.0, "error_message": "ClickHouse could not be reached"}]}
    PipelineRun.objects.filter(pk=run.pk).update(execution_context=ctx, retry_count=1)
    ProcessingLog.objects.filter(pipeline_run_id=run.pk).update(execution_context={"attempt": 2})
    return run


def test_the_run_page_draws_its_timeline_and_lineage(browser_page, retried_run, screenshot):
    page = browser_page
    page.goto(f"/runs/{retried_run.pk}/")
    assert page.locator("#run-timeline rect").count() >= 3  # attempt 1, the wait, attempt 2 and its steps
    assert page.locator("#run-timeline tr[data-status=waiting]").count() == 1
    assert page.locator("#run-duration").inner_text().startswith("3 min")
    wait_until(page, "window.lineageGraph && window.lineageGraph.nodes().length > 0")
    labels = page.evaluate("window.lineageGraph.nodes().map(n => n.data('label'))")
    assert "body_mass_g\nBody Mass (g)" in labels and "species" in labels  # no "Species" under "species"
    screenshot(page, "run-detail-retried")


def test_the_run_page_in_russian(ru_page, retried_run, screenshot):
    page = ru_page
    page.goto(f"/runs/{retried_run.pk}/")
    headers = page.locator(".logs-table thead th").all_inner_texts()
    assert len(headers) == len(set(headers)) and "Сообщение об ошибке" in headers
    assert page.locator("#run-duration").inner_text().startswith("3 мин")
    assert "Ход запуска" in page.content()
    wait_until(page, "window.lineageGraph && window.lineageGraph.nodes().length > 0")
    screenshot(page, "run-detail-ru")
