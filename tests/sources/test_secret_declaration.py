"""Each connector declares its secret keys, and encryption, masking and the audit log follow that declaration
(issue 12, medium): secrets under names the key-name patterns miss (headers.Cookie,
headers.Ocp-Apim-Subscription-Key, params.key) are encrypted at rest, masked for every reader and kept out
of the audit log; headers and parameters listed as public stay readable. Values encrypted before the
declaration keep decrypting, and a migration encrypts what became secret."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from analytics.audit import audit_send_pending
from sources.connectors import CONNECTORS, connector_class
from sources.encryption import PREFIX, encrypt_value
from sources.models import DataSource
from sources.secrets import PLACEHOLDER, mask_config, secret_values
from tests.api.conftest import client_for, make_user
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

COOKIE = "session=Ck7e6d5c4b3a"
SUBSCRIPTION = "Sub2f3e4d5c6b7a"
PARAM_KEY = "Pk9a8b7c6d5e4f"
QUERY_KEY = "Qs1b2c3d4e5f6a"
VALUES = (COOKIE, SUBSCRIPTION, PARAM_KEY, QUERY_KEY)
CONFIG = {
    "url": f"https://api.example.com/v1/orders?key={QUERY_KEY}&page=1",
    "headers": {"Cookie": COOKIE, "Ocp-Apim-Subscription-Key": SUBSCRIPTION, "Accept": "application/json"},
    "params": {"key": PARAM_KEY, "fields": "id,name"},
    "public_headers": ["accept"], "public_params": ["fields", "page"],
    "record_path": "data",
}


def _raw(source) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT connection_config FROM data_sources WHERE id = %s", [source.pk])
        value = cursor.fetchone()[0]
    return value if isinstance(value, str) else json.dumps(value)


def _leaks(text: str) -> list[str]:
    return [value for value in VALUES if value in text]


def test_api_headers_and_parameters_are_secrets_unless_declared_public():
    masked = mask_config(CONFIG, "api")
    assert masked["headers"] == {"Cookie": PLACEHOLDER, "Ocp-Apim-Subscription-Key": PLACEHOLDER,
                                 "Accept": "application/json"}
    assert masked["params"] == {"key": PLACEHOLDER, "fields": "id,name"}
    assert masked["url"] == f"https://api.example.com/v1/orders?key={PLACEHOLDER}&page=1"
    assert set(secret_values(CONFIG, "api")) == set(VALUES)
    # Without the declaration, the key names alone missed all four.
    assert _leaks(json.dumps(mask_config(CONFIG))) == list(VALUES)


def test_each_connector_declares_keys_it_knows():
    for kind in CONNECTORS:
        cls = connector_class(kind)
        for pattern in cls.SECRET_KEYS + cls.DESTINATION_KEYS:
            assert pattern.split(".")[0] in cls.KEYS, (kind, pattern)
        if cls.SECRET_KEYS:
            assert cls.DESTINATION_KEYS, kind  # a connector holding secrets says where it sends them


def test_declared_secrets_are_encrypted_at_rest_and_public_values_stay_readable():
    source = DataSourceFactory(source_type="api", connection_config={**CONFIG, "auth": {"type": "bearer",
                                                                                          "token": "Tk0-secret"}})
    raw = _raw(source)
    assert _leaks(raw) == [] and "Tk0-secret" not in raw
    stored = json.loads(raw)
    assert stored["headers"]["Cookie"].startswith(PREFIX) and stored["params"]["key"].startswith(PREFIX)
    assert stored["url"].startswith(PREFIX)  # its query holds a secret
    assert stored["headers"]["Accept"] == "application/json" and stored["auth"]["type"] == "bearer"
    assert DataSource.objects.get(pk=source.pk).connection_config["headers"]["Cookie"] == COOKIE


def test_readers_see_them_masked_in_the_api_and_the_admin(client):
    source = DataSourceFactory(name="Orders API", source_type="api", connection_config=CONFIG)
    viewer = make_user("viewer", actions=("view",))
    shown = client_for(viewer).get(f"/api/v1/sources/{source.pk}/")
    assert shown.status_code == 200 and _leaks(shown.content.decode()) == []
    assert shown.json()["connection_config"]["headers"]["Accept"] == "application/json"
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_datasource"))
    client.force_login(viewer)
    for url in (reverse("admin:sources_datasource_change", args=[source.pk]),
                reverse("admin:sources_datasource_changelist")):
        page = client.get(url)
        assert page.status_code == 200 and _leaks(page.text) == [], url


@pytest.mark.clickhouse
@pytest.mark.parametrize("clickhouse", ["embedded"], indirect=True)
def test_the_audit_log_never_holds_them(clickhouse):
    api = client_for(make_user("root", superuser=True))
    created = api.post("/api/v1/sources/", {"name": "Orders API", "source_type": "api",
                                            "connection_config": CONFIG}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = {**created.json()["connection_config"], "headers": {
        "Cookie": "session=Nw5e4d3c2b1a", "Ocp-Apim-Subscription-Key": PLACEHOLDER, "Accept": "text/json"}}
    assert api.patch(f"/api/v1/sources/{pk}/", {"connection_config": changed}, format="json").status_code == 200
    api.delete(f"/api/v1/sources/{pk}/")
    audit_send_pending()  # the test's transaction never commits: send the outbox as the beat task would
    rows = json.dumps(clickhouse.rows("SELECT * FROM etl_audit_log WHERE table_name = 'data_sources'"),
                      default=str)
    assert "data_sources" in rows and "headers.Cookie" in rows  # the changed path is named...
    assert _leaks(rows) == [] and "Nw5e4d3c2b1a" not in rows  # ...never its value


@pytest.mark.django_db(transaction=True)
def test_values_encrypted_before_still_decrypt_and_the_migration_encrypts_the_newly_secret_ones():
    from django.db.migrations.executor import MigrationExecutor

    old_style = {**CONFIG, "auth": encrypt_value({"type": "bearer", "token": "Tk0-secret"})}  # encrypted whole
    executor = MigrationExecutor(connection)
    executor.migrate([("sources", "0002_encrypt_connection_secrets")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO data_sources (name, description, source_type, connection_config, is_active, is_deleted, "
            "created_at, updated_at) VALUES ('old', '', 'api', %s, TRUE, FALSE, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)", [json.dumps(old_style)])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([("sources", "0003_encrypt_declared_secrets")])
        source = DataSource.objects.get(name="old")
        raw = _raw(source)
        assert _leaks(raw) == [] and "Tk0-secret" not in raw
        assert json.loads(raw)["auth"]["type"] == "bearer"  # stored again value by value
        assert source.connection_config == {**CONFIG, "auth": {"type": "bearer", "token": "Tk0-secret"}}
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
