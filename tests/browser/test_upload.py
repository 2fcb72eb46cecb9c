"""The upload pages in a real browser: log in, upload the demo CSV (drag and drop and the file chooser),
preview it, run it, watch the progress reach the end; then the run detail, quarantine and schema change
pages, in English and in Russian. Screenshots of every page; no console errors (the harness checks)."""

from __future__ import annotations

import pytest

from pipelines.demo import demo_load
from pipelines.models import PipelineRun, RunStatus, SchemaChange
from tests.browser.conftest import switch_language, wait_until

DEMO_ROWS = 400
RUN_WAIT_MS = 180_000  # a bound for waiting, not a speed check


@pytest.fixture
def demo(tmp_path, settings, browser_clickhouse, monkeypatch):
    """The specification's demo pipeline and its CSV; runs execute eagerly inside the live server's request
    (no worker process can see the test database)."""
    from etlsite.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=DEMO_ROWS)
    return pipeline, tmp_path / "demo" / "sales_2024.csv"


def _drop_file(page, name: str, content: str) -> None:
    """Drop a file on the drop zone the way a browser does: a drop event carrying a DataTransfer."""
    page.evaluate(
        """([name, content]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([content], name, {type: "text/csv"}));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""", [name, content])


def test_upload_preview_run_and_follow_it_to_the_end(browser_page, demo, screenshot):
    pipeline, csv_path = demo
    page = browser_page
    page.goto("/")
    page.wait_for_url("**/upload/")
    page.select_option("#upload-pipeline", str(pipeline.pk))
    screenshot(page, "upload-empty")

    page.set_input_files("#file-input", str(csv_path))
    _drop_file(page, "renamed.csv", "Sale Date,Sum,product_id,quantity\n2024-01-02,10.5,1,1\n2024-01-03,x,2,1\n")
    items = page.locator(".upload-file")
    items.nth(0).locator(".file-actions").wait_for(state="visible")
    items.nth(1).locator(".file-actions").wait_for(state="visible")
    assert items.nth(0).locator(".upload-progress").evaluate("bar => bar.value") == 100
    assert items.count() == 2

    # Preview of the demo file: its schema, encoding, delimiter and validation errors with row numbers.
    demo_item = items.nth(0)
    demo_item.locator(".preview-button").click()
    demo_item.locator(".schema-table").wait_for()
    facts = demo_item.locator(".facts").inner_text()
    assert "csv" in facts and "utf-8" in facts.lower()
    assert "date" in demo_item.locator(".schema-table").inner_text()
    assert demo_item.locator(".errors-table tbody tr").count() > 0
    screenshot(page, "upload-preview")
    assert PipelineRun.objects.count() == 0, "a preview commits nothing"

    # The dropped file lacks the pipeline's columns: map them, the preview then validates.
    other = items.nth(1)
    other.locator(".preview-button").click()
    other.locator(".missing-columns").wait_for()
    other.get_by_label("Pipeline column for Sale Date").select_option("date")
    other.get_by_label("Pipeline column for Sum").select_option("amount")
    other.locator(".mapping-form button[type=submit]").click()
    other.locator(".validation-summary").wait_for()
    screenshot(page, "upload-mapping")
    pipeline.refresh_from_db()
    assert pipeline.configuration["column_mapping"] == {"sale_date": "date", "sum": "amount"}

    demo_item.locator(".run-button").click()
    # The run executes inside the request (eagerly): on a busy machine that can take a while.
    wait_until(page, "document.querySelector('.upload-file').dataset.runStatus !== undefined", timeout=RUN_WAIT_MS)
    assert demo_item.get_attribute("data-run-status") == RunStatus.SUCCESS
    assert demo_item.locator(".run-progress").evaluate("bar => bar.value") == 100
    screenshot(page, "upload-run-finished")
    run = PipelineRun.objects.get()
    assert run.status == RunStatus.SUCCESS and run.execution_context["rows_read"] == DEMO_ROWS + DEMO_ROWS // 200

    demo_item.locator(".run-link").click()
    page.wait_for_url(f"**/runs/{run.pk}/")
    assert page.locator(".balanced").count() == 1
    assert page.locator(".logs-table").count() >= 1
    assert page.locator(".staged-table tbody tr").count() > 0
    wait_until(page, "window.lineageGraph && window.lineageGraph.nodes().length > 0")
    screenshot(page, "run-detail")

    page.click(f"a[href='/quarantine/{run.pk}/']")
    page.wait_for_url(f"**/quarantine/{run.pk}/")
    assert page.locator(".quarantine-table tbody tr[data-row]").count() == run.execution_context["rows_quarantined"]
    screenshot(page, "quarantine-run")
    page.goto("/quarantine/")
    screenshot(page, "quarantine")


def test_correct_a_quarantined_value_and_replay_it(browser_page, demo, screenshot):
    pipeline, csv_path = demo
    from pipelines.engine.runner import run_execute
    from pipelines.services import run_claim, run_create

    run = run_create(pipeline=pipeline, triggered_by="test", execution_context={"file_path": str(csv_path)})
    assert run_claim(run=run)
    run = run_execute(run=run)
    quarantined = run.execution_context["rows_quarantined"]
    assert quarantined > 0
    page = browser_page
    page.goto(f"/quarantine/{run.pk}/")
    first = page.locator(".quarantine-table tbody tr[data-row]").first
    first.locator("input[type=text]").fill("2024-03-01" if "date" in first.inner_text() else "100.5")
    page.click("#quarantine-form button[type=submit]")
    page.locator(".message.success").wait_for()
    page.click("#replay-button")
    page.locator(".message").first.wait_for(timeout=RUN_WAIT_MS)
    screenshot(page, "quarantine-replayed")
    run.refresh_from_db()
    assert run.execution_context["rows_quarantined"] <= quarantined


def test_schema_changes_approve_in_english_and_the_page_in_russian(browser_page, demo, screenshot):
    pipeline, _csv = demo
    change = SchemaChange.objects.create(pipeline=pipeline, diff={"added": ["discount"], "removed": [],
                                                                  "retyped": []}, fingerprint="f" * 64)
    page = browser_page
    page.goto("/schema-changes/")
    assert "discount" in page.locator(".schema-changes-pending").inner_text()
    screenshot(page, "schema-changes")
    page.click("button[value=approve]")
    page.locator(".message.success").wait_for()
    change.refresh_from_db()
    assert change.status == "approved" and change.decided_by == "browser-admin"

    switch_language(page, "ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Администрирование" in page.locator(".site-nav").text_content()  # under "Ещё"
    screenshot(page, "schema-changes-ru")
    page.goto("/upload/")
    assert "ETL-система" in page.locator(".site-brand").inner_text()
    screenshot(page, "upload-ru")


def test_process_waits_until_the_missing_columns_are_mapped(browser_page, demo, screenshot):
    pipeline, _csv_path = demo
    page = browser_page
    page.goto("/upload/")
    page.select_option("#upload-pipeline", str(pipeline.pk))
    _drop_file(page, "renamed.csv", "Sale Date,Sum,product_id,quantity\n2024-01-02,10.5,1,1\n")
    item = page.locator(".upload-file").nth(0)
    item.locator(".file-actions").wait_for(state="visible")
    button, reason = item.locator(".run-button"), item.locator(".run-blocked")
    assert button.is_enabled() and reason.is_hidden()  # before a preview: the server still refuses (tested there)

    item.locator(".preview-button").click()
    item.locator(".missing-columns").wait_for()
    assert button.is_disabled()
    assert reason.is_visible() and "map the missing columns" in reason.inner_text()
    screenshot(page, "upload-process-waits")

    item.get_by_label("Pipeline column for Sale Date").select_option("date")
    item.get_by_label("Pipeline column for Sum").select_option("amount")
    item.locator(".mapping-form button[type=submit]").click()
    item.locator(".validation-summary").wait_for()
    assert button.is_enabled() and reason.is_hidden()
    assert PipelineRun.objects.count() == 0
