"""Names of sources and pipelines: control characters, line breaks, text-direction marks and names with nothing
visible are refused with a field error on `name` (etlsite.names, through the models' validation), through the
API as through the admin (tests/admin/test_names.py)."""

import pytest
from django.core.exceptions import ValidationError

from pipelines.models import Pipeline
from sources.models import DataSource
from tests.api.conftest import error_of
from tests.factories import SPEC_PIPELINE_CONFIGURATION, DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

SOURCE = {"source_type": "file", "connection_config": {"file_path": "/data/sales_2024.csv"}}
BAD_NAMES = ["\x01\x02\x03", "\x07", "Sales\tfile", "Sales\nfile", "Sales\rfile", "a\x1bb", "\x7f", "a\x85b",
             "a\u2028b", "invoice\u202egpj.exe", "\u2066x\u2069", "\u200b\u200b", "\u200e"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_source_name_with_control_characters_is_refused(api, name):
    response = api.post("/api/v1/sources/", {"name": name, **SOURCE}, format="json")
    assert response.status_code == 400, response.content
    assert list(error_of(response)["fields"]) == ["name"]
    assert not DataSource.all_objects.exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_pipeline_name_with_control_characters_is_refused(api, name):
    source = DataSourceFactory()
    response = api.post("/api/v1/pipelines/", {"name": name, "data_source": source.pk,
                                               "configuration": SPEC_PIPELINE_CONFIGURATION}, format="json")
    assert response.status_code == 400, response.content
    assert list(error_of(response)["fields"]) == ["name"]
    assert not Pipeline.all_objects.exists()


def test_a_lone_surrogate_in_a_name_is_refused():
    # Not encodable as UTF-8: only a JSON body's escape can carry one, and the API's parser refuses those first
    # (tests/api/test_form_bodies.py); the model refuses it too.
    with pytest.raises(ValidationError) as caught:
        DataSource(name="Sales \ud800", source_type="file", connection_config={"file_path": "/data/x.csv"}).full_clean()
    assert list(caught.value.message_dict) == ["name"]


def test_renaming_to_a_control_character_name_is_refused(api):
    source, pipeline = DataSourceFactory(name="Sales"), PipelineFactory(name="Sales processing")
    response = api.patch(f"/api/v1/sources/{source.pk}/", {"name": "Sales\x00\x01"}, format="json")
    assert response.status_code == 400 and "name" in error_of(response)["fields"]
    response = api.patch(f"/api/v1/pipelines/{pipeline.pk}/", {"name": "\u202eselas"}, format="json")
    assert response.status_code == 400 and "name" in error_of(response)["fields"]
    source.refresh_from_db()
    pipeline.refresh_from_db()
    assert (source.name, pipeline.name) == ("Sales", "Sales processing")


def test_the_message_is_translated(api):
    response = api.post("/api/v1/sources/", {"name": "a\tb", **SOURCE}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert "управляющ" in error_of(response)["fields"]["name"][0]


@pytest.mark.parametrize("name", ["Продажи — Москва", "Sales (EU) 2024", "ventes été", "売上", "a b", "مبيعات"])
def test_ordinary_names_in_any_script_are_accepted(api, name):
    response = api.post("/api/v1/sources/", {"name": name, **SOURCE}, format="json")
    assert response.status_code == 201, response.content
