"""Tags in the pipeline admin as chips (issue 16 leftovers): Enter adds the typed tag, × removes one, the tags
already in use are suggested; what is stored stays the JSON list of strings it was."""

import pytest

from pipelines.models import Pipeline
from tests.browser.conftest import switch_language, take_screenshot
from tests.factories import DataSourceFactory, PipelineFactory


def _chips(page) -> list[str]:
    return page.locator(".tag-chip span").all_inner_texts()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_tags_are_chips(browser_page, language):
    PipelineFactory(name="Other", tags=["finance", "daily"])
    pipeline = PipelineFactory(name="Tagged", tags=["sales", "monthly"], data_source=DataSourceFactory())
    page = browser_page
    page.goto(f"/admin/pipelines/pipeline/{pipeline.pk}/change/")
    if language == "ru":
        switch_language(page, "ru")
    typing = page.locator("#id_tags-typing")
    typing.wait_for(state="visible")
    assert page.locator("#id_tags").is_hidden()  # the posted line, written by the chips
    assert _chips(page) == ["sales", "monthly"]
    # the label leads to the input a person types into
    assert page.locator("label[for='id_tags-typing']").count() == 1
    # Enter adds the typed tag, without submitting the form; a repeat is not added twice
    typing.fill("critical")
    typing.press("Enter")
    typing.fill("sales")
    typing.press("Enter")
    assert _chips(page) == ["sales", "monthly", "critical"] and page.url.endswith("/change/")
    assert page.locator("#id_tags").input_value() == "sales, monthly, critical"
    # suggestions: the tags in use that are not chosen yet
    suggested = page.locator("#id_tags-suggestions option").evaluate_all("options => options.map(o => o.value)")
    assert suggested == ["daily", "finance"]
    # × removes one; its name says which, in the page's language
    remove = "Убрать тег: monthly" if language == "ru" else "Remove the tag: monthly"
    page.get_by_role("button", name=remove).click()
    assert _chips(page) == ["sales", "critical"]
    # a tag typed but not confirmed is kept when the person leaves the field
    typing.fill("daily")
    page.locator("#id_name").click()
    assert _chips(page) == ["sales", "critical", "daily"]
    take_screenshot(page, f"pipeline-form-tags-{language}")
    with page.expect_navigation():
        page.click("input[name=_save]")
    pipeline.refresh_from_db()
    assert pipeline.tags == ["sales", "critical", "daily"]


def test_backspace_in_the_empty_input_removes_the_last_tag(browser_page):
    pipeline = PipelineFactory(name="Few tags", tags=["a", "b"])
    page = browser_page
    page.goto(f"/admin/pipelines/pipeline/{pipeline.pk}/change/")
    typing = page.locator("#id_tags-typing")
    typing.click()
    typing.press("Backspace")
    assert _chips(page) == ["a"]
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert Pipeline.objects.get(pk=pipeline.pk).tags == ["a"]
