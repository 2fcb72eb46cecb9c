"""Issue 12: every JSON field of every writable endpoint (sources' connection_config, pipelines' configuration
and tags) answers a multipart or form-encoded body as it answers a JSON one — `null`, `NaN`, `Infinity` or
text that is no JSON is a 400 with the field named, never a 500 (api/jsonfields.py) — and a lone surrogate
in a JSON body is a 400 too."""

from urllib.parse import urlencode

import pytest

from pipelines.models import Pipeline
from sources.models import DataSource
from tests.api.conftest import error_of
from tests.factories import SPEC_PIPELINE_CONFIGURATION, DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

BAD = ["null", "NaN", "Infinity", "-Infinity", '{"a": NaN}', "[1, Infinity]", "{not json"]
SOURCE = {"name": "Sales", "source_type": "file"}


def _send(api, method, url, data, body):
    if body == "multipart":
        return getattr(api, method)(url, data, format="multipart")
    return getattr(api, method)(url, urlencode(data), content_type="application/x-www-form-urlencoded")


def _writes(source, pipeline):
    """(method, url, body without the JSON field, the JSON field) of every write taking a JSON field."""
    pipeline_body = {"name": "Sales processing", "data_source": source.pk}
    return [
        ("post", "/api/v1/sources/", SOURCE, "connection_config"),
        ("put", f"/api/v1/sources/{source.pk}/", SOURCE, "connection_config"),
        ("patch", f"/api/v1/sources/{source.pk}/", {}, "connection_config"),
        ("post", "/api/v1/pipelines/", pipeline_body, "configuration"),
        ("post", "/api/v1/pipelines/", pipeline_body, "tags"),
        ("put", f"/api/v1/pipelines/{pipeline.pk}/", pipeline_body, "configuration"),
        ("put", f"/api/v1/pipelines/{pipeline.pk}/", pipeline_body, "tags"),
        ("patch", f"/api/v1/pipelines/{pipeline.pk}/", {}, "configuration"),
        ("patch", f"/api/v1/pipelines/{pipeline.pk}/", {}, "tags"),
    ]


@pytest.mark.parametrize("body", ["multipart", "form"])
@pytest.mark.parametrize("value", BAD)
def test_a_bad_json_field_in_a_form_body_is_a_400_on_that_field(api, body, value):
    source = DataSourceFactory(name="Sales", connection_config={"file_path": "/data/a.csv"})
    pipeline = PipelineFactory(name="Sales processing", data_source=source)
    before = (list(DataSource.all_objects.values()), list(Pipeline.all_objects.values()))
    for method, url, data, field in _writes(source, pipeline):
        response = _send(api, method, url, {**data, field: value}, body)
        assert response.status_code == 400, (method, url, field, response.content)
        assert list(error_of(response)["fields"]) == [field], (method, url, field)
    assert (list(DataSource.all_objects.values()), list(Pipeline.all_objects.values())) == before


def test_the_same_null_in_a_json_body_gets_the_same_answer(api):
    response = api.post("/api/v1/sources/", {**SOURCE, "connection_config": None}, format="json")
    json_error = error_of(response)
    response = api.post("/api/v1/sources/", {**SOURCE, "connection_config": "null"}, format="multipart")
    assert response.status_code == 400 and error_of(response)["fields"] == json_error["fields"]


@pytest.mark.parametrize("body", ["multipart", "form"])
def test_good_json_fields_in_a_form_body_are_saved(api, body):
    import json

    response = _send(api, "post", "/api/v1/sources/", {
        **SOURCE, "connection_config": json.dumps({"file_path": "/data/a.csv"})}, body)
    assert response.status_code == 201, response.content
    response = _send(api, "post", "/api/v1/pipelines/", {
        "name": "Sales processing", "data_source": response.json()["id"],
        "configuration": json.dumps(SPEC_PIPELINE_CONFIGURATION), "tags": json.dumps(["sales"])}, body)
    assert response.status_code == 201, response.content
    assert Pipeline.objects.get().tags == ["sales"]


@pytest.mark.parametrize("field", ["description", "connection_config"])
def test_a_lone_surrogate_in_a_json_body_is_a_400(api, field):
    value = '"\\ud83d"' if field == "description" else '{"file_path": "/data/\\udc00.csv"}'
    body = ('{"name": "Sales", "source_type": "file", "connection_config": {"file_path": "/data/a.csv"}, '
            f'"{field}": {value}}}')
    response = api.post("/api/v1/sources/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "parse_error"
    assert not DataSource.all_objects.exists()
