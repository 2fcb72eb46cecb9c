"""A new user's journey in Chromium, in English and in Russian: no pipeline exists; they drop a real public CSV
(the Palmer penguins, tests/data/public) on /upload/, open its preview, keep the proposed types and rules,
create the pipeline, land on the run's page when the run has loaded the file, and find the typed table on the
pipeline's quality dashboard and lineage graph. No console error (the harness checks).

Screenshots go to test-results/screenshots/ like every browser test's; with ETL_DOCS_SCREENSHOTS=1 the
journey's are also written, reduced to 256 colours, to docs/web/ (the ones docs/WEB.md shows).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.models import Pipeline, PipelineRun, RunStatus
from tests.browser.conftest import SCREENSHOTS, switch_language, take_screenshot, wait_until
from tests.browser.test_upload import _drop_file

PENGUINS = Path(__file__).resolve().parents[1] / "data" / "public" / "penguins-raw.csv"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "web"
RUN_WAIT_MS = 180_000  # a bound for waiting on a busy machine, not a speed check
# What the page says in each language (the catalogue's own words, so an untranslated page fails).
WORDS = {
    "en": {"new": "None yet: a new pipeline from the file", "create": "Create the pipeline and load the file",
           "created": "was created", "certain": "certain"},
    "ru": {"new": "Пока нет: новый конвейер из файла", "create": "Создать конвейер и загрузить файл",
           "created": "создан", "certain": "точно"},
}


@pytest.fixture
def eager(tmp_path, settings, browser_clickhouse, monkeypatch):
    """Runs execute inside the live server's request (no worker process can see the test database)."""
    from etlsite.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path / "media"
    return browser_clickhouse


def docs_screenshot(page, name: str, element=None) -> None:
    """The whole page (or `element`) in test-results; for docs/web/ when asked: its top 1000 pixels in 256
    colours, so that the images stay small."""
    if element is None:
        path = take_screenshot(page, name)
    else:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        element.screenshot(path=str(path))
    if os.environ.get("ETL_DOCS_SCREENSHOTS") == "1":
        from PIL import Image

        DOCS.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            image = image.convert("RGB")
            image = image.crop((0, 0, image.width, min(image.height, 1000)))
            image.quantize(colors=256).save(DOCS / f"{name}.png", optimize=True)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_new_user_goes_from_a_dropped_csv_to_a_typed_table_a_dashboard_and_lineage(browser_page, eager, language):
    page, words, suffix = browser_page, WORDS[language], "" if language == "en" else "-ru"
    page.goto("/upload/")
    if language != "en":
        switch_language(page, language)
        assert page.locator("html").get_attribute("lang") == language
    assert Pipeline.objects.count() == 0
    # No pipeline: the choice is "a new pipeline from the file".
    assert page.locator("#upload-pipeline option:checked").inner_text() == words["new"]
    _drop_file(page, PENGUINS.name, PENGUINS.read_text(encoding="utf-8"))
    link = page.locator(".upload-file .new-pipeline-link")
    link.wait_for(state="visible")
    docs_screenshot(page, f"new-pipeline-1-upload{suffix}")

    with page.expect_navigation():
        link.click()
    assert "/new-pipeline/" in page.url
    facts = page.locator(".facts").inner_text()
    assert "utf-8" in facts and words["certain"] in facts and "NA" in facts
    mass = page.locator("tr.column-row[data-column=body_mass_g]")
    assert mass.locator("select").input_value() == "integer"
    # The range it was seen in is shown beside it, not proposed as a rule (the next file goes beyond it).
    assert mass.locator("input.column-minimum").input_value() == "" and "2700 … 6300" in mass.inner_text()
    assert page.locator("tr.column-row[data-column=date_egg] select").input_value() == "date"
    assert page.locator("tr.column-row[data-column=island] textarea").input_value().splitlines() == [
        "Biscoe", "Dream", "Torgersen"]
    page.fill("#id_name", "Penguins")
    docs_screenshot(page, f"new-pipeline-2-preview{suffix}")
    docs_screenshot(page, f"new-pipeline-3-form{suffix}", page.locator("form.new-pipeline-form"))

    # The run executes inside this request (eagerly): the run page comes when it has ended.
    with page.expect_navigation(timeout=RUN_WAIT_MS):
        page.click("button.create-pipeline")
    run = PipelineRun.objects.get()
    page.wait_for_url(f"**/runs/{run.pk}/")
    assert words["created"] in page.locator(".messages").inner_text()
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert run.execution_context["rows_read"] == 344
    docs_screenshot(page, f"new-pipeline-4-run{suffix}")

    # A typed table: dates as Date, numbers as numbers, NA as NULL.
    target = eager
    types = dict(target.query("SELECT name, type FROM system.columns WHERE database = {db:String} "
                              "AND table = 'penguins_raw'", {"db": target.database}).result_rows)
    assert "Date" in types["date_egg"] and "Int64" in types["body_mass_g"] and "Float64" in types["culmen_depth_mm"]
    assert target.query("SELECT countIf(body_mass_g IS NULL) FROM penguins_raw").result_rows[0][0] == 2

    pipeline = run.pipeline
    page.goto(f"/dashboards/quality/?pipeline={pipeline.pk}&period=30")
    page.wait_for_selector("canvas#pass-rate-chart[data-drawn]")
    assert "penguins_raw" in page.locator("main").inner_text()
    docs_screenshot(page, f"new-pipeline-5-dashboard{suffix}")

    page.goto(f"/lineage/?pipeline={pipeline.pk}")
    page.locator("#lineage-graph[data-nodes]").wait_for()
    wait_until(page, "window.lineageGraph && window.lineageGraph.nodes().length > 0")
    assert page.evaluate("window.lineageGraph.getElementById('c:penguins_raw.body_mass_g').length") == 1
    docs_screenshot(page, f"new-pipeline-6-lineage{suffix}")

    if language == "en":
        _next_file_through_the_pipeline(page, pipeline)


def _next_file_through_the_pipeline(page, pipeline) -> None:
    """The next file, with two headers renamed, loads into the pipeline once they are mapped to its columns."""
    header, rest = PENGUINS.read_text(encoding="utf-8").split("\n", 1)
    renamed = header.replace("Body Mass (g)", "Mass in grams").replace("Date Egg", "Laid") + "\n" + rest
    page.goto(f"/upload/?pipeline={pipeline.pk}")
    _drop_file(page, "penguins-2010.csv", renamed)
    item = page.locator(".upload-file").first
    item.locator(".file-actions").wait_for(state="visible")
    item.locator(".preview-button").click()
    item.locator(".missing-columns").wait_for()
    item.get_by_label("Pipeline column for Mass in grams").select_option("body_mass_g")
    item.get_by_label("Pipeline column for Laid").select_option("date_egg")
    item.locator(".mapping-form button[type=submit]").click()
    item.locator(".validation-summary").wait_for()
    assert item.locator(".missing-columns").count() == 0
    docs_screenshot(page, "new-pipeline-7-next-file")
    item.locator(".run-button").click()
    wait_until(page, "document.querySelector('.upload-file').dataset.runStatus !== undefined", timeout=RUN_WAIT_MS)
    assert item.get_attribute("data-run-status") == RunStatus.SUCCESS
    pipeline.refresh_from_db()
    assert pipeline.configuration["column_mapping"] == {"mass_in_grams": "body_mass_g", "laid": "date_egg"}
    latest = PipelineRun.objects.filter(pipeline=pipeline).order_by("-pk").first()
    assert latest.execution_context["rows_read"] == 344 and latest.execution_context.get("rows_quarantined", 0) == 0
