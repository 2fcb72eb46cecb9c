"""Secrets in connection_config are encrypted in the database, plain in Python, and survive key rotation."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from sources.encryption import PREFIX, decrypt_config, encrypt_config
from sources.models import DataSource, SourceType
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Passw0rd"
CONFIG = {"host": "db.example.org", "port": 5432, "user": "etl", "password": PASSWORD,
          "dsn": f"postgresql://etl:{PASSWORD}@db.example.org/sales", "options": {"api_key": "k-123"},
          "query": "SELECT 1"}


def _raw(source) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT connection_config FROM data_sources WHERE id = %s", [source.pk])
        value = cursor.fetchone()[0]
    return value if isinstance(value, str) else json.dumps(value)


def _database_source(**config) -> DataSource:
    return DataSourceFactory(source_type=SourceType.DATABASE, connection_config={**CONFIG, **config})


def test_secrets_are_stored_encrypted_and_read_plain():
    source = _database_source()
    raw = _raw(source)
    assert PASSWORD not in raw and "k-123" not in raw
    stored = json.loads(raw)
    assert stored["password"].startswith(PREFIX) and stored["options"]["api_key"].startswith(PREFIX)
    assert stored["dsn"].startswith(PREFIX)  # a password inside a URL hides the whole URL
    assert (stored["host"], stored["port"], stored["query"]) == ("db.example.org", 5432, "SELECT 1")
    assert DataSource.objects.get(pk=source.pk).connection_config == CONFIG


def test_non_secret_keys_stay_queryable():
    source = _database_source()
    assert DataSource.objects.filter(connection_config__host="db.example.org").get() == source


def test_encrypting_twice_changes_nothing_and_empty_secrets_stay_empty():
    once = encrypt_config({"password": "x", "token": ""})
    assert encrypt_config(once) == once
    assert once["token"] == ""
    assert decrypt_config(once) == {"password": "x", "token": ""}


def test_rotation_keeps_every_secret(settings):
    source = _database_source()
    old_key = settings.ETL_SECRETS_KEYS[0]
    before = json.loads(_raw(source))["password"]
    settings.ETL_SECRETS_KEYS = [Fernet.generate_key().decode(), old_key]
    assert DataSource.objects.get(pk=source.pk).connection_config == CONFIG  # the old key still decrypts
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))
    after = json.loads(_raw(source))["password"]
    assert after != before
    settings.ETL_SECRETS_KEYS = settings.ETL_SECRETS_KEYS[:1]  # the old key dropped
    assert DataSource.objects.get(pk=source.pk).connection_config == CONFIG


def test_a_replaced_key_is_reported_and_the_stored_secret_is_not_overwritten(settings, caplog):
    source = _database_source()
    stored = json.loads(_raw(source))["password"]
    settings.ETL_SECRETS_KEYS = [Fernet.generate_key().decode()]
    loaded = DataSource.objects.get(pk=source.pk)
    assert loaded.connection_config["password"] == stored  # still the token, never a wrong plain value
    assert "cannot be decrypted" in caplog.text and PASSWORD not in caplog.text
    loaded.save()
    assert json.loads(_raw(source))["password"] == stored
    with pytest.raises(CommandError, match=source.name):
        call_command("rotate_secrets", stdout=open("/dev/null", "w"))


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_sources_saved_before_and_reverses():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("sources", "0001_initial")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO data_sources (name, description, source_type, connection_config, is_active, is_deleted, "
            "created_at, updated_at) VALUES ('old', '', 'database', %s, TRUE, FALSE, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)", [json.dumps(CONFIG)])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([("sources", "0002_encrypt_connection_secrets")])
        source = DataSource.objects.get(name="old")
        assert PASSWORD not in _raw(source)
        assert source.connection_config == CONFIG

        executor = MigrationExecutor(connection)
        executor.migrate([("sources", "0001_initial")])
        assert json.loads(_raw(source)) == CONFIG
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
