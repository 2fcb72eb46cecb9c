"""The pipeline's admin form without raw JSON (issue 16): the data source as a searchable select, tags as a
comma-separated line, the configuration in a schema-driven editor over the JSON textarea, no timestamps on add."""

import json

import pytest
from django.urls import reverse

from pipelines.config_json_schema import configuration_json_schema
from pipelines.models import Pipeline
from pipelines.transformations import REGISTRY
from pipelines.widgets import TagsField
from tests.factories import DataSourceFactory, PipelineFactory

ADD = reverse("admin:pipelines_pipeline_add")


def _post(client, source, **fields):
    return client.post(ADD, {"name": "Tagged", "data_source": source.pk, "status": "draft", "configuration": "{}",
                             "max_retries": 3, "timeout_seconds": 3600, **fields})


@pytest.mark.django_db
def test_the_source_is_a_searchable_select_of_live_sources(admin_client):
    DataSourceFactory(name="Orders API")
    DataSourceFactory(name="Orders archive", is_deleted=True)
    page = admin_client.get(ADD).text
    assert 'class="admin-autocomplete' in page and 'data-field-name="data_source"' in page
    found = admin_client.get(reverse("admin:autocomplete"), {
        "app_label": "pipelines", "model_name": "pipeline", "field_name": "data_source", "term": "orders"}).json()
    assert [item["text"] for item in found["results"]] == ["Orders API"]


@pytest.mark.django_db
def test_tags_are_typed_with_commas_and_stored_as_a_json_list(admin_client):
    source = DataSourceFactory()
    response = _post(admin_client, source, tags=" sales, monthly ,, sales, critical ")
    assert response.status_code == 302, response.context["adminform"].form.errors
    pipeline = Pipeline.objects.get(name="Tagged")
    assert pipeline.tags == ["sales", "monthly", "critical"]
    change = admin_client.get(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk])).text
    assert 'value="sales, monthly, critical"' in change


@pytest.mark.django_db
def test_a_tag_too_long_is_an_error_on_the_field(admin_client):
    response = _post(admin_client, DataSourceFactory(), tags="ok, " + "x" * 51)
    assert response.status_code == 200
    assert "tags" in response.context["adminform"].form.errors
    assert not Pipeline.all_objects.filter(name="Tagged").exists()


@pytest.mark.parametrize(("typed", "tags"), [("", []), ("a", ["a"]), ('["a", "b"]', ["a", "b"]),
                                             ("a, b, a", ["a", "b"])])
def test_tags_field_reads(typed, tags):
    assert TagsField().clean(typed) == tags


def test_tags_field_refuses_a_broken_json_list():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        TagsField().clean('["a", 1]')


@pytest.mark.django_db
def test_the_add_form_shows_no_timestamps(admin_client):
    add = admin_client.get(ADD).text
    assert "field-created_at" not in add and "field-updated_at" not in add and "field-deleted_at" not in add
    change = admin_client.get(reverse("admin:pipelines_pipeline_change", args=[PipelineFactory().pk])).text
    assert "field-created_at" in change
    source_add = admin_client.get(reverse("admin:sources_datasource_add")).text
    assert "field-created_at" not in source_add


@pytest.mark.django_db
def test_the_configuration_editor_is_fed_the_schema_and_keeps_the_textarea(admin_client):
    page = admin_client.get(ADD).text
    assert '<textarea name="configuration"' in page  # posted as before, and all there is without scripts
    assert 'id="id_configuration-schema" type="application/json"' in page
    for static in ("vendor/json-editor/jsoneditor", "site/config_editor.js", "site/config_editor.css"):
        assert static in page
    assert "<script>" not in page.replace('<script type="application/json"', "")  # no inline script


def test_the_schema_names_every_step_of_the_registry_with_its_parameters():
    schema = configuration_json_schema()
    options = schema["properties"]["transformations"]["items"]["oneOf"]
    by_name = {option["title"]: option for option in options if option.get("type") == "object"}
    assert set(by_name) == set(REGISTRY)
    for name, step in REGISTRY.items():
        params = by_name[name]["properties"]["params"]
        assert set(params["properties"]) == {p.name for p in step.params}
        assert set(params["required"]) == {p.name for p in step.params if p.required}
    json.dumps(schema)  # lazy translations resolved: it goes into the page as JSON


@pytest.mark.django_db
def test_server_side_errors_stay_on_the_configuration_field(admin_client):
    bad = {"validation_rules": {"data_types": {"amount": "money"}}}
    response = _post(admin_client, DataSourceFactory(), configuration=json.dumps(bad))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["configuration"]
    assert "validation_rules.data_types.amount" in errors["configuration"][0]


def test_a_configuration_the_new_pipeline_page_writes_is_valid_for_the_editor():
    """The editor showed "Value must be of type number" on a date range and "Unsupported propertyName type" on
    every per-column map of a configuration this product wrote itself."""
    import jsonschema

    from pipelines.config_json_schema import configuration_json_schema

    configuration = {"target": {"table": "kunden"}, "null_values": ["NA"],
                     "validation_rules": {"data_types": {"order_date": "date", "amount": "float"},
                                          "required_columns": ["id"], "min": {"order_date": "2024-01-01", "amount": 0},
                                          "max": {"order_date": "2025-12-31"}, "allowed_values": {"kind": ["a", "b"]}}}
    schema = configuration_json_schema()
    jsonschema.validate(configuration, schema)
    assert "propertyNames" not in str(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"validation_rules": {"min": {"amount": [1]}}}, schema)


@pytest.mark.django_db
def test_the_tag_input_suggests_the_tags_in_use_and_still_posts_the_comma_line(admin_client):
    PipelineFactory(tags=["sales", "Monthly"])
    PipelineFactory(tags=["sales", "stock"])
    PipelineFactory(tags=["gone"], is_deleted=True)
    page = admin_client.get(ADD).text
    assert '<input type="text" name="tags"' in page and 'class="vTextField tags-input"' in page
    datalist = page.split('<datalist id="id_tags-suggestions">', 1)[1].split("</datalist>", 1)[0]
    assert datalist == '<option value="Monthly"></option><option value="sales"></option><option value="stock"></option>'
    assert "site/tags_input.js" in page and "site/tags_input.css" in page
    # what the chips write into the line is what the server reads; the stored value stays a JSON list
    response = _post(admin_client, DataSourceFactory(), tags="sales, new one")
    assert response.status_code == 302
    pipeline = Pipeline.objects.get(name="Tagged")
    assert pipeline.tags == ["sales", "new one"]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [("en", ("Remove the tag", "press Enter")),
                                                 ("ru", ("Убрать тег", "нажмите Enter"))])
def test_the_tag_input_speaks_the_page_language(admin_client, language, words):
    page = admin_client.get(ADD, HTTP_ACCEPT_LANGUAGE=language).text
    for word in words:
        assert word in page


@pytest.mark.django_db
def test_the_api_still_reads_and_writes_tags_as_a_json_list(admin_client):
    pipeline = PipelineFactory(tags=["sales", "monthly"])
    url = f"/api/v1/pipelines/{pipeline.pk}/"
    assert admin_client.get(url).json()["tags"] == ["sales", "monthly"]
    changed = admin_client.patch(url, {"tags": ["a", "b"]}, content_type="application/json")
    assert changed.status_code == 200, changed.content
    pipeline.refresh_from_db()
    assert pipeline.tags == ["a", "b"]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [
    ("en", ("Properties", "Collapse", "Value must be at least {{0}}")),
    ("ru", ("Свойства", "Свернуть", "Значение должно быть не меньше {{0}}"))])
def test_the_configuration_editor_gets_its_words_in_the_page_language(admin_client, language, words):
    page = admin_client.get(ADD, HTTP_ACCEPT_LANGUAGE=language).text
    assert f'data-language="{language}"' in page
    texts = json.loads(page.split('<script id="id_configuration-editor-texts" type="application/json">', 1)[1]
                       .split("</script>", 1)[0])
    assert (texts["button_properties"], texts["button_collapse"], texts["error_minimum_incl"]) == words
