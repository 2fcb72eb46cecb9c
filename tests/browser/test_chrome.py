"""Issue 16 in a browser: the login form's button is the first on the page, the navigation fits 1366 px on one
line in both languages, /favicon.ico answers, and the pipeline form works without raw JSON (a searchable
source, tags, the configuration editor) under the Content-Security-Policy, with no console error."""

import json

import pytest
from django.core.cache import cache

from etlsite.workers import STATUS_KEY
from pipelines.models import Pipeline
from tests.browser.conftest import switch_language, take_screenshot
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory

CONFIGURATION = {
    "validation_rules": {"required_columns": ["order_id", "amount"],
                         "data_types": {"order_id": "integer", "amount": "float"}, "min": {"amount": 0}},
    "transformations": ["clean_duplicates", {"name": "rename", "params": {"mapping": {"amount": "total"}}}],
    "schema_policy": "evolve",
}


def test_the_first_submit_button_of_the_login_page_logs_in(anonymous_page):
    anonymous_page.goto("/admin/login/")
    first = anonymous_page.locator("[type=submit]").first
    assert first.evaluate("el => el.closest('form').id") == "login-form"
    assert anonymous_page.locator(".language-switch a").count() == 1  # the other language, as a link
    response = anonymous_page.request.get("/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_navigation_fits_1366_px_on_one_line(browser_page, language):
    page = browser_page
    PipelineRunFactory.create_batch(12, status="pending")  # the header's longest worker text: "… · 12 waiting"
    cache.delete(STATUS_KEY)  # read afresh (the login's pages cached it; the live server shares this cache)
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto("/upload/")
    if language == "ru":
        switch_language(page, "ru")
    boxes = page.evaluate("""() => [...document.querySelectorAll(
        '.site-brand, .site-nav > a, .nav-more > summary, .site-user > *')]
        .map(el => { const r = el.getBoundingClientRect();
                     return {text: el.textContent.trim(), middle: Math.round(r.top + r.height / 2),
                             left: r.left, right: r.right}; })""")
    middles = [box["middle"] for box in boxes]
    assert max(middles) - min(middles) <= 4, boxes  # one line: every item's middle on the same height
    for before, after in zip(boxes, boxes[1:], strict=False):
        assert before["right"] <= after["left"] + 1, (before, after)  # side by side, none over another
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    take_screenshot(page, f"header-1366-{language}")


def test_the_pipeline_form_without_raw_json(browser_page):
    page = browser_page
    DataSourceFactory(name="Orders API")
    source = DataSourceFactory(name="Sales file")
    page.goto("/admin/pipelines/pipeline/add/")
    page.locator(".json-editor-holder").wait_for(state="visible")
    assert page.locator("textarea#id_configuration").is_hidden()
    assert page.locator("#id_created_at, .field-created_at").count() == 0
    page.fill("#id_name", "From the form")
    # the source: a searchable select (select2 over the autocomplete view)
    page.click(".field-data_source .select2-selection")
    page.fill(".select2-search__field", "sales")
    page.locator(".select2-results__option", has_text="Sales file").click()
    page.fill("#id_tags-typing", "sales, monthly")  # the tag input's chips (tests/browser/test_tags_input.py)
    page.press("#id_tags-typing", "Enter")
    # the editor lists the registry's steps by name
    page.locator(".json-editor-holder").get_by_role("button", name="Properties").first.click()
    take_screenshot(page, "pipeline-form-editor")
    page.locator(".json-editor-holder").get_by_role("button", name="Properties").first.click()  # closed again
    with page.expect_navigation():
        page.click("input[name=_save]")
    pipeline = Pipeline.objects.get(name="From the form")
    assert pipeline.data_source == source and pipeline.tags == ["sales", "monthly"]
    assert pipeline.configuration == {}


def test_the_editor_keeps_a_configuration_it_is_given(browser_page):
    pipeline = PipelineFactory(name="Configured", configuration=CONFIGURATION, tags=["a"])
    page = browser_page
    page.goto(f"/admin/pipelines/pipeline/{pipeline.pk}/change/")
    page.locator(".json-editor-holder").wait_for(state="visible")
    assert "clean_duplicates" in page.locator(".json-editor-holder").inner_text()
    take_screenshot(page, "pipeline-form-configured")
    with page.expect_navigation():
        page.click("input[name=_save]")
    pipeline.refresh_from_db()
    assert pipeline.configuration == CONFIGURATION, json.dumps(pipeline.configuration)
    assert pipeline.tags == ["a"]


def test_the_editor_can_be_left_for_the_json_text(browser_page):
    pipeline = PipelineFactory(name="Texted", configuration={})
    page = browser_page
    page.goto(f"/admin/pipelines/pipeline/{pipeline.pk}/change/")
    page.click(".json-editor-toggle")
    page.fill("textarea#id_configuration", json.dumps({"schema_policy": "freeze"}))
    page.click(".json-editor-toggle")  # back to the form: the typed JSON is in it
    with page.expect_navigation():
        page.click("input[name=_save]")
    pipeline.refresh_from_db()
    assert pipeline.configuration == {"schema_policy": "freeze"}
