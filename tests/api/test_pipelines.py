"""Pipelines: the specification's example created through the API, configuration validated as in the admin."""

import copy

import pytest

from pipelines.models import Pipeline
from tests.api.conftest import error_of
from tests.factories import SPEC_PIPELINE_CONFIGURATION, DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

URL = "/api/v1/pipelines/"


def spec_pipeline(source_id: int) -> dict:
    return {"name": "Sales processing", "description": "Load and process sales data", "data_source": source_id,
            "status": "active", "configuration": copy.deepcopy(SPEC_PIPELINE_CONFIGURATION),
            "schedule_cron": "0 2 * * *", "max_retries": 3, "tags": ["sales", "monthly", "critical"]}


def test_create_the_specifications_pipeline_and_update_it(api):
    source = DataSourceFactory()
    response = api.post(URL, spec_pipeline(source.pk), format="json")
    assert response.status_code == 201, response.json()
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.configuration == SPEC_PIPELINE_CONFIGURATION and pipeline.data_source == source
    assert pipeline.tags == ["sales", "monthly", "critical"]

    response = api.patch(f"{URL}{pipeline.pk}/", {"schedule_cron": "30 3 * * 1"}, format="json")
    assert response.status_code == 200 and response.json()["schedule_cron"] == "30 3 * * 1"


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("configuration", {"validation_rules": {"data_types": {"amount": "money"}}}, "amount"),
    ("configuration", {"transformations": ["no_such_step"]}, "no_such_step"),
    ("schedule_cron", "0 2 * *", "five fields"),
    ("tags", ["sales", ""], "Tags"),
])
def test_invalid_values_get_the_admins_messages_on_their_field(api, field, value, expected):
    source = DataSourceFactory()
    response = api.post(URL, {**spec_pipeline(source.pk), field: value}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert list(error["fields"]) == [field]
    assert any(expected in message for message in error["fields"][field]), error
    assert not Pipeline.all_objects.exists()


def test_a_deleted_source_cannot_be_chosen(api):
    source = DataSourceFactory()
    source.soft_delete()
    response = api.post(URL, spec_pipeline(source.pk), format="json")
    assert response.status_code == 400 and "data_source" in error_of(response)["fields"]


def test_soft_delete_restore_and_filters(api):
    kept = PipelineFactory(name="Kept", status="active", tags=["sales"])
    PipelineFactory(name="Draft", status="draft", tags=["hr"])
    gone = PipelineFactory(name="Gone")
    assert api.delete(f"{URL}{gone.pk}/").status_code == 204
    assert [p["name"] for p in api.get(URL).json()["results"]] == ["Draft", "Kept"]
    assert [p["name"] for p in api.get(URL, {"status": "active"}).json()["results"]] == ["Kept"]
    assert [p["name"] for p in api.get(URL, {"tag": "sales"}).json()["results"]] == ["Kept"]
    assert [p["name"] for p in api.get(URL, {"deleted": "all"}).json()["results"]] == ["Draft", "Gone", "Kept"]
    assert [p["id"] for p in api.get(URL, {"data_source": kept.data_source_id}).json()["results"]] == [kept.pk]
    assert api.post(f"{URL}{gone.pk}/restore/").status_code == 200
    assert not Pipeline.all_objects.get(pk=gone.pk).is_deleted
