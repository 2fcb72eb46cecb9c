"""Issue 12: the query parameters of every list behave as the schema declares them. Ids are whole numbers
(0.5, "null", "1.0" are a 400 naming the parameter; an id no row has matches nothing); `page_size` is 1 to 500
and `page` at least 1, else a 400; a parameter that is not a list, given twice, is a 400; booleans are true or
false; an empty parameter is an absent one. Every one of these 400s is declared in the schema."""

import pytest

from tests.api.conftest import error_of
from tests.factories import FileMetadataFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.mark.parametrize(("url", "query", "field"), [
    ("/api/v1/files/", "pipeline_run_id=0.5", "pipeline_run_id"),
    ("/api/v1/files/", "pipeline_run_id=1.0", "pipeline_run_id"),
    ("/api/v1/processing-logs/", "pipeline_run_id=null", "pipeline_run_id"),
    ("/api/v1/staging-tables/", "pipeline_run_id=1&pipeline_run_id=2", "pipeline_run_id"),
    ("/api/v1/runs/", "pipeline=abc", "pipeline"),
    ("/api/v1/runs/", "pipeline=0", "pipeline"),
    ("/api/v1/pipelines/", "data_source=-3", "data_source"),
    ("/api/v1/analysis-results/", "pipeline=9223372036854775808", "pipeline"),
    ("/api/v1/sources/", "is_active=null", "is_active"),
    ("/api/v1/sources/", "page_size=null", "page_size"),
    ("/api/v1/sources/", "page_size=0", "page_size"),
    ("/api/v1/sources/", "page_size=501", "page_size"),
    ("/api/v1/sources/", "page_size=10&page_size=20", "page_size"),
    ("/api/v1/sources/", "page=0", "page"),
    ("/api/v1/sources/", "page=last", "page"),
    ("/api/v1/quality-metrics/", "page_size=2.5", "page_size"),
    ("/api/v1/quality-metrics/", "pipeline_run_id=0.5", "pipeline_run_id"),
    ("/api/v1/quality-metrics/", "is_passed=null", "is_passed"),
    ("/api/v1/quality-metrics/", "ordering=metric_name,%20-created_at", "ordering"),
    ("/api/v1/audit-log/", "ordering=password", "ordering"),
])
def test_values_the_schema_refuses_are_a_400_naming_the_parameter(api, url, query, field):
    response = api.get(f"{url}?{query}")
    assert response.status_code == 400, response.content
    assert list(error_of(response)["fields"]) == [field]


def test_an_unknown_id_matches_nothing(api):
    PipelineRunFactory()
    for url in ("/api/v1/runs/?pipeline=999999", "/api/v1/analysis-results/?pipeline_run=999999",
                "/api/v1/pipelines/?data_source=999999", "/api/v1/files/?pipeline_run_id=999999"):
        response = api.get(url)
        assert response.status_code == 200 and response.json()["count"] == 0, url


def test_valid_and_empty_parameters_are_accepted(api):
    run = PipelineRunFactory()
    FileMetadataFactory(pipeline_run_id=run.pk, uploaded_by="root")
    assert api.get(f"/api/v1/files/?pipeline_run_id={run.pk}").json()["count"] == 1
    assert api.get(f"/api/v1/runs/?pipeline={run.pipeline_id}&page_size=500&page=1").json()["count"] == 1
    assert api.get("/api/v1/sources/?is_active=true&page_size=&page=&source_type=").status_code == 200
    assert api.get("/api/v1/files/?pipeline_run_id=").json()["count"] == 1


def test_the_schema_declares_the_bounds_and_the_400(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/files/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["pipeline_run_id"]["schema"]["type"] == "integer"
    assert parameters["pipeline_run_id"]["schema"]["minimum"] == 1
    assert all(p["allowEmptyValue"] for p in parameters.values())
    assert "400" in operation["responses"]
    ordering = {p["name"]: p for p in schema["paths"]["/api/v1/quality-metrics/"]["get"]["parameters"]}["ordering"]
    assert ordering["schema"]["pattern"].startswith("^-?(created_at|")
