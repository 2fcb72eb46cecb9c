"""Settings follow the specification's environment variables: server when *_HOST is set, embedded when not."""

from pathlib import Path

from etlsite import databases

SPEC_METADATA = {
    "METADATA_POSTGRES_HOST": "localhost",
    "METADATA_POSTGRES_PORT": "5432",
    "METADATA_POSTGRES_USER": "metadata_user",
    "METADATA_POSTGRES_PASSWORD": "metadata_password",
    "METADATA_POSTGRES_DATABASE": "etl_metadata",
}


def _clear(monkeypatch, prefix):
    for suffix in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
        monkeypatch.delenv(f"{prefix}_{suffix}", raising=False)


def _metadata(var_dir):
    return databases.relational("METADATA_POSTGRES", var_dir, default_port=5432, default_name="etl_metadata",
                                default_user="metadata_user", default_password="metadata_password")


def _staging(var_dir):
    return databases.relational("STAGING_POSTGRES", var_dir, default_port=5433, default_name="etl_staging",
                                default_user="staging_user", default_password="staging_password")


def test_postgres_when_host_is_set(monkeypatch, tmp_path):
    _clear(monkeypatch, "METADATA_POSTGRES")
    for name, value in SPEC_METADATA.items():
        monkeypatch.setenv(name, value)
    db = _metadata(tmp_path)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["USER"], db["PASSWORD"], db["NAME"]) == (
        "localhost", 5432, "metadata_user", "metadata_password", "etl_metadata")
    assert not db["EMBEDDED"]
    assert not any(tmp_path.iterdir()), "a server needs nothing under var/"


def test_staging_defaults_follow_the_specification(monkeypatch, tmp_path):
    _clear(monkeypatch, "STAGING_POSTGRES")
    monkeypatch.setenv("STAGING_POSTGRES_HOST", "db.example")
    db = _staging(tmp_path)
    assert (db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (5433, "etl_staging", "staging_user",
                                                                    "staging_password")


def test_the_embedded_cluster_when_host_is_unset(monkeypatch, tmp_path):
    """Both databases in the one embedded PostgreSQL cluster under var/postgres, over its Unix socket, with
    the specification's names and roles."""
    _clear(monkeypatch, "METADATA_POSTGRES")
    _clear(monkeypatch, "STAGING_POSTGRES")
    metadata, staging = _metadata(tmp_path), _staging(tmp_path)
    for db, name, user in ((metadata, "etl_metadata", "metadata_user"), (staging, "etl_staging", "staging_user")):
        assert db["ENGINE"] == "django.db.backends.postgresql"
        assert db["EMBEDDED"]
        assert (Path(db["HOST"]), db["PORT"]) == (tmp_path / "postgres", 5432)  # socket .s.PGSQL.5432 there
        assert (db["NAME"], db["USER"], db["TEST"]["NAME"]) == (name, user, f"test_{name}")
    assert not any(tmp_path.iterdir()), "the settings create nothing: `manage.py stack start` does"


def test_the_embedded_broker_unless_a_url_is_set(tmp_path):
    var = {"ETL_VAR_DIR": str(tmp_path), "ETL_ENV_FILE": str(tmp_path / "none.env")}
    assert _setting_in_a_fresh_process("CELERY_BROKER_URL", var) == f"redis+socket://{tmp_path}/valkey/valkey.sock"
    assert _setting_in_a_fresh_process("EMBEDDED_BROKER", var) == "True"
    external = {**var, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    assert _setting_in_a_fresh_process("CELERY_BROKER_URL", external) == "redis://127.0.0.1:6379/0"
    assert _setting_in_a_fresh_process("EMBEDDED_BROKER", external) == "False"


def test_clickhouse_server_or_embedded(monkeypatch, tmp_path):
    for suffix in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
        monkeypatch.delenv(f"TARGET_CLICKHOUSE_{suffix}", raising=False)
    monkeypatch.delenv("ETL_EMBEDDED_CLICKHOUSE_PORT", raising=False)
    embedded = databases.clickhouse(tmp_path)
    home = tmp_path.resolve() / "clickhouse"
    assert embedded["EMBEDDED"] is True
    assert (embedded["HOST"], embedded["PORT"], embedded["USER"], embedded["DATABASE"]) == (
        "127.0.0.1", 18123, "default", "etl_target")
    assert (embedded["DATA_DIR"], embedded["PASSWORD_FILE"]) == (str(home / "data"), str(home / "password"))
    assert embedded["PASSWORD"] == ""  # the process has not generated it yet
    home.mkdir()
    (home / "password").write_text("generated\n")
    assert databases.clickhouse(tmp_path)["PASSWORD"] == "generated"
    monkeypatch.setenv("ETL_EMBEDDED_CLICKHOUSE_PORT", "28123")
    assert databases.clickhouse(tmp_path)["PORT"] == 28123

    monkeypatch.setenv("TARGET_CLICKHOUSE_HOST", "ch.example")
    monkeypatch.setenv("TARGET_CLICKHOUSE_PASSWORD", "s3cret")
    server = databases.clickhouse(tmp_path)
    assert (server["EMBEDDED"], server["HOST"], server["PORT"], server["USER"], server["PASSWORD"]) == (
        False, "ch.example", 8123, "default", "s3cret")
    assert "DATA_DIR" not in server and "PASSWORD_FILE" not in server


def test_the_client_reads_a_password_generated_after_the_settings(tmp_path, monkeypatch):
    from analytics.clickhouse.client import ClickHouseTarget

    monkeypatch.delenv("TARGET_CLICKHOUSE_HOST", raising=False)
    target = ClickHouseTarget(databases.clickhouse(tmp_path))
    (tmp_path / "clickhouse").mkdir()
    (tmp_path / "clickhouse" / "password").write_text("late\n")
    assert target._password() == "late"


def test_describe_never_shows_the_password(monkeypatch, tmp_path):
    from analytics.clickhouse.client import ClickHouseTarget

    monkeypatch.setenv("TARGET_CLICKHOUSE_HOST", "ch.example")
    monkeypatch.setenv("TARGET_CLICKHOUSE_PASSWORD", "s3cret-value")
    target = ClickHouseTarget(databases.clickhouse(tmp_path))
    assert "s3cret-value" not in target.describe()
    assert "ch.example:8123" in target.describe()


def _setting_in_a_fresh_process(name: str, env: dict) -> str:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_CLICKHOUSE_", "CELERY_"))}
    code = f"from django.conf import settings; import django; django.setup(); print(settings.{name})"
    return subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True, text=True,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "etlsite.settings", **env}).stdout.strip()


def test_worker_processes_are_not_replaced_unless_asked(tmp_path):
    # The 50-task recycling was for the in-process chDB's threads; no database needs it now.
    var = {"ETL_VAR_DIR": str(tmp_path), "ETL_ENV_FILE": str(tmp_path / "none.env")}
    assert _setting_in_a_fresh_process("CELERY_WORKER_MAX_TASKS_PER_CHILD", var) == "None"
    assert _setting_in_a_fresh_process("CELERY_WORKER_MAX_TASKS_PER_CHILD",
                                       {**var, "CELERY_WORKER_MAX_TASKS_PER_CHILD": "7"}) == "7"
