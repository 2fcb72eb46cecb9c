"""Secrets of a source's connection_config never reach the admin's HTML, yet survive an unchanged save."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from sources.secrets import PLACEHOLDER, mask_config
from tests.factories import DataSourceFactory, StagingTableFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

PASSWORD = "S3cr3t-Pa55w0rd"
TOKEN = "tok-9f8e7d6c5b4a"
CONFIG = {
    "url": "https://api.example.com/orders",
    "auth": {"type": "basic", "username": "etl", "password": PASSWORD},
    "headers": {"X-Api-Token": TOKEN, "Accept": "application/json"},
    "record_path": "data",
}
SECRETS = (PASSWORD, TOKEN)


@pytest.fixture
def source(db):
    return DataSourceFactory(name="Sales DB", source_type="api", connection_config=CONFIG)


def change_url(source):
    return reverse("admin:sources_datasource_change", args=[source.pk])


def form_data(source, config) -> dict:
    # "initial-connection_config" is the hidden copy of the shown value a browser sends back (the model
    # field's default is callable, so Django compares against it to tell whether the field changed).
    return {"name": source.name, "description": source.description, "source_type": source.source_type,
            "is_active": "on", "connection_config": json.dumps(config),
            "initial-connection_config": json.dumps(mask_config(CONFIG, "api"))}


def assert_no_secret(html: str):
    for secret in SECRETS:
        assert secret not in html


def test_changelist_shows_a_masked_summary(admin_client, source):
    html = admin_client.get(reverse("admin:sources_datasource_changelist")).text
    assert_no_secret(html)
    # The summary is cut at 80 characters: the URL and the auth type fit, the masked password comes later.
    assert "api.example.com" in html and "basic" in html


def test_change_form_shows_secrets_masked(admin_client, source):
    response = admin_client.get(change_url(source))
    assert response.status_code == 200
    assert_no_secret(response.text)
    assert 'name="initial-connection_config"' in response.text  # the hidden copy is masked too
    assert json.loads(response.context["adminform"].form["connection_config"].value()) == mask_config(CONFIG, "api")


def test_saving_the_form_unchanged_keeps_the_stored_secrets(admin_client, source):
    shown = json.loads(admin_client.get(change_url(source)).context["adminform"].form["connection_config"].value())
    response = admin_client.post(change_url(source), form_data(source, shown))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.connection_config == CONFIG


def test_changing_another_key_keeps_the_secrets(admin_client, source):
    submitted = mask_config(CONFIG, "api")
    submitted["record_path"] = "items"
    submitted["headers"]["Accept"] = "text/json"
    response = admin_client.post(change_url(source), form_data(source, submitted))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.connection_config == {**CONFIG, "record_path": "items",
                                        "headers": {"X-Api-Token": TOKEN, "Accept": "text/json"}}


def test_typing_a_new_secret_replaces_the_stored_one(admin_client, source):
    submitted = {**mask_config(CONFIG, "api"), "auth": {"type": "basic", "username": "etl", "password": "n3w-pa55"}}
    assert admin_client.post(change_url(source), form_data(source, submitted)).status_code == 302
    source.refresh_from_db()
    assert source.connection_config["auth"]["password"] == "n3w-pa55"
    assert source.connection_config["headers"]["X-Api-Token"] == TOKEN


def test_a_placeholder_without_a_stored_secret_is_refused(admin_client, source):
    submitted = mask_config(CONFIG, "api")
    submitted["auth_token"] = submitted.pop("auth")
    response = admin_client.post(change_url(source), form_data(source, submitted))
    assert response.status_code == 200
    assert "auth_token" in str(response.context["adminform"].form.errors["connection_config"])
    assert_no_secret(response.text)
    source.refresh_from_db()
    assert source.connection_config == CONFIG


def test_change_history_names_fields_only(admin_client, source):
    submitted = {**mask_config(CONFIG, "api"), "auth": {"type": "basic", "username": "etl", "password": "n3w-pa55"}}
    admin_client.post(change_url(source), form_data(source, submitted))
    entry = LogEntry.objects.get(object_id=str(source.pk))
    assert entry.get_change_message() == "Changed Connection configuration."
    assert "n3w-pa55" not in entry.change_message
    history = admin_client.get(reverse("admin:sources_datasource_history", args=[source.pk])).text
    assert "n3w-pa55" not in history
    assert_no_secret(history)


def test_an_unchanged_save_logs_no_change_of_the_configuration(admin_client, source):
    admin_client.post(change_url(source), form_data(source, mask_config(CONFIG, "api")))
    assert LogEntry.objects.get(object_id=str(source.pk)).get_change_message() == "No fields changed."


def test_a_view_only_user_sees_the_configuration_masked(client, django_user_model, source):
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_datasource"))
    client.force_login(user)
    response = client.get(change_url(source))
    assert response.status_code == 200
    assert "api.example.com" in response.text and PLACEHOLDER in response.text
    assert_no_secret(response.text)
    assert client.post(change_url(source), form_data(source, CONFIG)).status_code == 403
    assert_no_secret(client.get(reverse("admin:sources_datasource_changelist")).text)


def test_staging_table_source_config_is_masked(admin_client, db):
    table = StagingTableFactory(source_config=CONFIG)
    html = admin_client.get(reverse("admin:staging_stagingtable_change", args=[table.pk])).text
    assert "api.example.com" in html
    assert_no_secret(html)
