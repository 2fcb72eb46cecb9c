"""Sources: CRUD validated as in the admin, write-only secrets, soft delete and restore, filters."""

import pytest

from sources.models import DataSource
from sources.secrets import PLACEHOLDER
from tests.api.conftest import error_of
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

URL = "/api/v1/sources/"
SPEC_SOURCE = {"name": "Sales CSV file", "description": "Monthly sales data in CSV format", "source_type": "file",
               "connection_config": {"file_path": "/data/sales_2024.csv", "delimiter": ",", "encoding": "utf-8"}}
API_CONFIG = {"url": "https://api.example.com/orders", "auth": {"type": "bearer", "token": "T0ken-S3cret"},
              "record_path": "data"}


def test_create_read_update_the_specifications_source(api):
    response = api.post(URL, SPEC_SOURCE, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Sales CSV file" and body["is_deleted"] is False
    assert body["connection_config"] == SPEC_SOURCE["connection_config"]
    source = DataSource.objects.get(pk=body["id"])
    assert source.connection_config["file_path"] == "/data/sales_2024.csv"

    assert api.get(f"{URL}{source.pk}/").json()["name"] == "Sales CSV file"
    response = api.patch(f"{URL}{source.pk}/", {"description": "Daily now"}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "Daily now"
    put = {**SPEC_SOURCE, "name": "Sales CSV (daily)"}
    assert api.put(f"{URL}{source.pk}/", put, format="json").status_code == 200
    source.refresh_from_db()
    assert (source.name, source.description) == ("Sales CSV (daily)", SPEC_SOURCE["description"])


def test_configuration_is_validated_like_the_admin_with_field_messages(api):
    response = api.post(URL, {**SPEC_SOURCE, "connection_config": {"file_path": "", "delimiter": ","}},
                        format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert "connection_config" in error["fields"]
    assert any("file_path is empty" in message for message in error["fields"]["connection_config"])
    assert not DataSource.all_objects.exists()

    response = api.post(URL, {**SPEC_SOURCE, "source_type": "ftp"}, format="json")
    assert response.status_code == 400 and "source_type" in error_of(response)["fields"]


def test_names_are_unique_among_live_sources(api):
    DataSourceFactory(name="Sales CSV file")
    response = api.post(URL, SPEC_SOURCE, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"]


def test_secrets_are_write_only_and_kept_when_omitted_or_sent_masked(api):
    response = api.post(URL, {"name": "Orders API", "source_type": "api", "connection_config": API_CONFIG},
                        format="json")
    assert response.status_code == 201, response.json()
    assert "T0ken-S3cret" not in response.content.decode()
    assert response.json()["connection_config"]["auth"] == {"type": "bearer", "token": PLACEHOLDER}
    pk = response.json()["id"]
    assert "T0ken-S3cret" not in api.get(f"{URL}{pk}/").content.decode()
    assert "T0ken-S3cret" not in api.get(URL).content.decode()

    api.patch(f"{URL}{pk}/", {"description": "orders"}, format="json")
    masked = api.get(f"{URL}{pk}/").json()["connection_config"]
    masked["record_path"] = "items"
    assert api.patch(f"{URL}{pk}/", {"connection_config": masked}, format="json").status_code == 200
    stored = DataSource.objects.get(pk=pk).connection_config
    assert stored["auth"]["token"] == "T0ken-S3cret" and stored["record_path"] == "items"

    renamed = {**API_CONFIG, "auth": {"type": "bearer", "api_key": PLACEHOLDER}}
    response = api.patch(f"{URL}{pk}/", {"connection_config": renamed}, format="json")
    assert response.status_code == 400
    assert "connection_config" in error_of(response)["fields"]


def test_soft_delete_hides_the_source_and_restore_brings_it_back(api):
    source = DataSourceFactory(name="Old feed")
    assert api.delete(f"{URL}{source.pk}/").status_code == 204
    source.refresh_from_db()
    assert source.is_deleted and source.deleted_at is not None
    assert [s["id"] for s in api.get(URL).json()["results"]] == []
    assert [s["id"] for s in api.get(URL, {"deleted": "true"}).json()["results"]] == [source.pk]
    assert api.get(f"{URL}{source.pk}/").json()["is_deleted"] is True

    response = api.post(f"{URL}{source.pk}/restore/")
    assert response.status_code == 200 and response.json()["is_deleted"] is False
    source.refresh_from_db()
    assert not source.is_deleted


def test_restore_is_refused_when_a_live_source_took_the_name(api):
    source = DataSourceFactory(name="Feed")
    source.soft_delete()
    DataSourceFactory(name="Feed")
    response = api.post(f"{URL}{source.pk}/restore/")
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    source.refresh_from_db()
    assert source.is_deleted


def test_filters_ordering_and_pagination(api):
    for name in ("b-file", "a-file", "c-file"):
        DataSourceFactory(name=name)
    DataSourceFactory(name="z-api", source_type="api",
                      connection_config={"url": "https://api.example.com/x", "record_path": "data"})
    assert [s["name"] for s in api.get(URL, {"source_type": "api"}).json()["results"]] == ["z-api"]
    assert [s["name"] for s in api.get(URL, {"search": "file"}).json()["results"]] == ["a-file", "b-file", "c-file"]
    names = [s["name"] for s in api.get(URL, {"ordering": "-name"}).json()["results"]]
    assert names == ["z-api", "c-file", "b-file", "a-file"]
    page = api.get(URL, {"page_size": 3, "page": 2}).json()
    assert page["count"] == 4 and [s["name"] for s in page["results"]] == ["z-api"]
    assert page["previous"] and page["next"] is None
    response = api.get(URL, {"page": 9})
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
