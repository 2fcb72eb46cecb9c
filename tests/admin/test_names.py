"""Names of sources and pipelines made of (or holding) control characters are refused on the admin's forms,
with the message on the name field (etlsite.names; the API: tests/api/test_names.py)."""

import json

import pytest
from django.urls import reverse

from etlsite.names import validate_display_name
from pipelines.models import Pipeline
from sources.models import DataSource
from tests.factories import SPEC_PIPELINE_CONFIGURATION, DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.mark.parametrize("name", ["\x01\x02", "Sales\tCSV", "Sales\x0bCSV", "\u202etxt.exe", "\u200b"])
def test_a_source_with_such_a_name_is_not_added(admin_client, name):
    response = admin_client.post(reverse("admin:sources_datasource_add"), {
        "name": name, "source_type": "file", "connection_config": json.dumps({"file_path": "/data/x.csv"}),
        "is_active": "on"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    assert not DataSource.all_objects.exists()


@pytest.mark.parametrize("name", ["\x1f\x01", "Sales\nprocessing", "a\u2029b", "\u2067x"])
def test_a_pipeline_with_such_a_name_is_not_added(admin_client, name):
    source = DataSourceFactory()
    response = admin_client.post(reverse("admin:pipelines_pipeline_add"), {
        "name": name, "data_source": source.pk, "status": "draft", "tags": "[]",
        "configuration": json.dumps(SPEC_PIPELINE_CONFIGURATION), "max_retries": 3, "timeout_seconds": 3600})
    assert response.status_code == 200
    assert "control character" in " ".join(response.context["adminform"].form.errors["name"]) or \
        "visible" in " ".join(response.context["adminform"].form.errors["name"])
    assert not Pipeline.all_objects.exists()


def test_the_validator_names_the_character_and_its_position():
    with pytest.raises(Exception) as caught:
        validate_display_name("ab\tc")
    assert "U+0009 at position 3" in caught.value.messages[0]
    validate_display_name("Продажи — Москва 2024")
