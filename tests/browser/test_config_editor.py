"""The admin's configuration editor speaks the page's language and stays compact (issue 16 leftovers): its own
buttons and messages come from a translated table, the blocks below the top level start folded, and a long
configuration scrolls inside a bounded editor instead of making the form screens tall."""

import json

import pytest

from pipelines.models import Pipeline
from tests.browser.conftest import switch_language, take_screenshot
from tests.factories import PipelineFactory

# Long on purpose: every section filled, many steps and rules.
CONFIGURATION = {
    "validation_rules": {
        "required_columns": [f"c{i}" for i in range(12)],
        "data_types": {f"c{i}": "integer" for i in range(12)},
        "not_null": [f"c{i}" for i in range(12)],
        "min": {f"c{i}": 0 for i in range(12)},
        "max": {f"c{i}": 100 for i in range(12)},
        "allowed_values": {"c1": ["a", "b", "c"]},
    },
    "transformations": ["clean_duplicates", {"name": "rename", "params": {"mapping": {"c1": "d1"}}}],
    "column_mapping": {f"File {i}": f"c{i}" for i in range(12)},
    "schema_policy": "evolve",
    "quality": {"checks": [{"metric": "null_rate", "column": f"c{i}", "max": 0.1} for i in range(6)]},
}
WORDS = {
    "ru": {"own": ["Свойства объекта", "Развернуть", "Свернуть"],
           "english": ["Object properties", "Expand", "Collapse", "Add", "Save", "Cancel"]},
    "en": {"own": ["Object properties", "Expand", "Collapse"], "english": []},
}


def _editor_buttons(page) -> list[str]:
    return page.locator(".json-editor-holder button").evaluate_all(
        "buttons => buttons.map(b => (b.textContent.trim() || b.title || '').trim())")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_editor_speaks_the_page_language_and_is_bounded(browser_page, language):
    pipeline = PipelineFactory(name="Long configuration", configuration=CONFIGURATION, tags=[])
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/admin/pipelines/pipeline/{pipeline.pk}/change/")
    if language == "ru":
        switch_language(page, "ru")
    holder = page.locator(".json-editor-holder")
    holder.wait_for(state="visible")
    buttons = _editor_buttons(page)
    for word in WORDS[language]["own"]:
        assert word in buttons, buttons
    for word in WORDS[language]["english"]:
        assert word not in buttons, buttons
    # folded below the top level: the sections are there, their blocks wait for "Expand"
    assert holder.get_by_role("button", name=WORDS[language]["own"][1]).count() >= 3
    box = holder.bounding_box()
    assert box["height"] <= 0.6 * 900 + 20, box  # 60 % of the window (and its padding); the rest scrolls inside
    assert holder.evaluate("el => el.scrollHeight > el.clientHeight")  # this configuration does need the scroll
    take_screenshot(page, f"pipeline-form-editor-compact-{language}")

    # the panel of properties, in the page's language too
    if language == "ru":
        holder.get_by_role("button", name="Свойства объекта").first.click()
        assert holder.get_by_role("button", name="Добавить", exact=True).first.is_visible()
        holder.get_by_role("button", name="Свойства объекта").first.click()
    # folding changes nothing that is saved
    with page.expect_navigation():
        page.click("input[name=_save]")
    pipeline.refresh_from_db()
    assert pipeline.configuration == CONFIGURATION, json.dumps(pipeline.configuration)


def test_a_field_error_of_the_editor_is_russian(ru_page):
    page = ru_page
    page.goto("/admin/pipelines/pipeline/add/")
    page.click(".json-editor-toggle")  # to the JSON text, to set a value the schema refuses
    page.fill("textarea#id_configuration", json.dumps({"parallelism": {"parts": 0}}))
    page.click(".json-editor-toggle")
    holder = page.locator(".json-editor-holder")
    holder.wait_for(state="visible")
    field = holder.locator("input[name='root[parallelism][parts]']")
    field.fill("0")
    field.press("Tab")
    message = holder.locator(".errmsg").first
    message.wait_for(state="visible")
    assert message.inner_text().startswith("Значение должно быть не меньше"), message.inner_text()
    assert not Pipeline.objects.exists()
