import copy

import pytest

from sources.secrets import (
    PLACEHOLDER,
    SECRET_KEY_PATTERN,
    mask_config,
    merge_secrets,
    placeholder_paths,
)

STORED = {
    "host": "db.internal",
    "user": "etl",
    "password": "S3cr3t",
    "options": {"api_token": "tok-1", "timeout": 30, "Private_Key": "-----BEGIN-----"},
    "brokers": [{"url": "kafka:9092", "sasl_password": "kpw"}],
    "dsn": "postgresql://etl:S3cr3t@db.internal:5432/etl",
    "empty_secret": "",
}


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "passwd", "client_secret", "token", "api_key", "ApiKey",
                                 "aws_access_key_id", "private_key", "credentials", "auth", "Authorization"])
def test_secret_keys_are_recognized(key):
    assert SECRET_KEY_PATTERN.search(key)


@pytest.mark.parametrize("key", ["host", "user", "file_path", "delimiter", "encoding", "port", "database"])
def test_ordinary_keys_are_not_secret(key):
    assert not SECRET_KEY_PATTERN.search(key)


def test_mask_config_hides_secret_values_at_any_depth_and_keeps_the_rest():
    original = copy.deepcopy(STORED)
    masked = mask_config(STORED)
    assert masked["password"] == PLACEHOLDER
    assert masked["options"] == {"api_token": PLACEHOLDER, "timeout": 30, "Private_Key": PLACEHOLDER}
    assert masked["brokers"] == [{"url": "kafka:9092", "sasl_password": PLACEHOLDER}]
    assert masked["host"] == "db.internal" and masked["user"] == "etl"
    assert masked["empty_secret"] == ""
    assert mask_config({"use_auth": True, "token_ttl": 0, "pin_token": 1234}) == {
        "use_auth": True, "token_ttl": PLACEHOLDER, "pin_token": PLACEHOLDER}
    assert STORED == original  # the input is not modified


@pytest.mark.parametrize(("value", "expected"), [
    ("postgresql://etl:S3cr3t@db:5432/etl", f"postgresql://etl:{PLACEHOLDER}@db:5432/etl"),
    ("host=db user=etl password=S3cr3t dbname=x", f"host=db user=etl password={PLACEHOLDER} dbname=x"),
    ("Server=db;Uid=etl;Pwd=S3cr3t;", f"Server=db;Uid=etl;Pwd={PLACEHOLDER};"),
    ("https://api.example.com/v1?page=2&access_token=S3cr3t", f"https://api.example.com/v1?page=2&access_token={PLACEHOLDER}"),
    ("postgresql://etl:p@ss@db/etl", f"postgresql://etl:{PLACEHOLDER}@db/etl"),
    ("host=db password='a b c' port=5432", f"host=db password={PLACEHOLDER} port=5432"),
    ("/data/sales_2024.csv", "/data/sales_2024.csv"),
    ("https://api.example.com/v1/orders", "https://api.example.com/v1/orders"),
])
def test_passwords_inside_strings_are_masked(value, expected):
    assert mask_config({"dsn": value}) == {"dsn": expected}


def test_merge_puts_stored_secrets_back_where_the_placeholder_came_back():
    assert merge_secrets(mask_config(STORED), STORED) == STORED


def test_merge_keeps_new_values_and_edits():
    submitted = mask_config(STORED)
    submitted["host"] = "db2.internal"
    submitted["options"]["api_token"] = "tok-2"
    del submitted["user"]
    merged = merge_secrets(submitted, STORED)
    assert merged["host"] == "db2.internal"
    assert merged["options"]["api_token"] == "tok-2"
    assert merged["password"] == "S3cr3t"
    assert "user" not in merged


def test_a_placeholder_with_nothing_stored_behind_it_is_reported():
    submitted = mask_config(STORED)
    submitted["db_password"] = submitted.pop("password")  # a renamed key
    submitted["dsn"] = submitted["dsn"].replace("db.internal", "db2.internal")  # an edited URL
    merged = merge_secrets(submitted, STORED)
    assert sorted(placeholder_paths(merged)) == ["db_password", "dsn"]
    assert placeholder_paths(merge_secrets(mask_config(STORED), STORED)) == []
    assert placeholder_paths({"list": [{"token": PLACEHOLDER}]}) == ["list[0].token"]
