"""A source reads only what it is meant to read (issue 12, critical): the upload folder and ETL_FILE_ROOTS.

The routes a hostile editor took — a SQLite source on the metadata database, a file source on /etc/passwd, a
symbolic link or a ".." path that resolves outside, a glob that reaches out, a JSON file whose error message
echoed its first characters — are refused with a clear message in the admin, the API and `run_pipeline`;
reaching outside the upload folder takes the permission "Can read files on the server"; uploads and files in
an administrator's folder still load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from pipelines.models import Pipeline, PipelineRun, RunStatus
from sources.connectors import ConnectorError, connector_config_errors, get_connector
from sources.fileroots import PathNotAllowed, resolve_allowed_path
from sources.models import DataSource
from staging.models import StagingTable
from tests.factories import FileMetadataFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

CSV = "id,name\n1,alpha\n2,beta\n"
SECRET = "SECRET-KEY-CONTENT-0123456789abcdef"
OUTSIDE = "is outside the folders sources may read"
FORBIDDEN = "is in a place no source may read"
NEEDS_PERMISSION = "Can read files on the server"


@pytest.fixture
def roots(tmp_path, settings):
    """An upload folder and one administrator's folder, both in tmp_path; the suite's wider roots removed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    uploads = tmp_path / "media" / "uploads"
    shared = tmp_path / "shared"
    outside = tmp_path / "outside"
    for folder in (uploads, shared, outside):
        folder.mkdir(parents=True)
    settings.ETL_FILE_ROOTS = [str(shared)]
    (uploads / "sales.csv").write_text(CSV)
    (shared / "sales.csv").write_text(CSV)
    (outside / "secret.csv").write_text("token\n" + SECRET + "\n")
    return {"uploads": uploads, "shared": shared, "outside": outside}


def _metadata_db() -> str:
    return str(Path(django_settings.VAR_DIR) / "metadata.sqlite3")


def _routes(roots) -> dict[str, tuple[str, dict]]:
    """Each hostile route as (source_type, connection_config)."""
    shared, outside = roots["shared"], roots["outside"]
    link = shared / "link.csv"
    link.symlink_to(outside / "secret.csv")
    (shared / "sub").mkdir()
    return {
        "sqlite on the metadata database": ("database", {"engine": "sqlite", "path": _metadata_db(),
                                                         "table": "authtoken_token"}),
        "sqlite by url on the metadata database": ("database", {"url": "sqlite:///" + _metadata_db(),
                                                                "table": "auth_user"}),
        "a key file in the data folder": ("file", {"file_path": str(Path(django_settings.VAR_DIR) / "secret_key"),
                                                   "format": "json"}),
        "/etc/passwd": ("file", {"file_path": "/etc/passwd", "format": "csv"}),
        "a file outside the roots": ("file", {"file_path": str(outside / "secret.csv")}),
        "a symlink resolving outside": ("file", {"file_path": str(link)}),
        "a .. path resolving outside": ("file", {"file_path": str(shared / "sub" / ".." / ".." / "outside"
                                                               / "secret.csv")}),
        "a glob reaching out": ("file", {"file_path": str(shared / ".." / "outside" / "*.csv")}),
        "a glob matching a symlink": ("file", {"file_path": str(shared / "*.csv")}),
        "a Kafka key file in /etc": ("kafka", {"bootstrap_servers": "b:9092", "topic": "t", "group_id": "g",
                                               "security_protocol": "SSL", "ssl_key_location": "/etc/shadow"}),
        "an HDFS CA bundle in the data folder": ("hdfs", {"namenode_url": "http://nn:9870", "path": "/d",
                                                          "verify_tls": _metadata_db()}),
    }


# --- the rule itself ---------------------------------------------------------------------------------------

def test_every_route_is_refused_when_saved_with_a_message_naming_the_key(roots):
    for route, (source_type, config) in _routes(roots).items():
        errors = connector_config_errors(source_type, config)
        assert any(OUTSIDE in error or FORBIDDEN in error for error in errors), (route, errors)


def test_the_data_folder_and_system_folders_stay_refused_whatever_etl_file_roots_says(roots, settings):
    settings.ETL_FILE_ROOTS = [str(django_settings.VAR_DIR), "/etc", "/", str(Path.home())]
    for path in (_metadata_db(), str(Path(django_settings.VAR_DIR) / "secrets_key"), "/etc/passwd",
                 "/proc/self/environ", "/proc/self/root/etc/passwd", str(Path.home() / ".ssh" / "id_rsa")):
        with pytest.raises(PathNotAllowed, match=FORBIDDEN):
            resolve_allowed_path(path)
    # ... while an ordinary folder under such a root is readable
    assert resolve_allowed_path(roots["outside"] / "secret.csv") == (roots["outside"] / "secret.csv").resolve()


def test_uploads_and_administrators_folders_are_readable_but_not_uploads_in_progress(roots):
    assert resolve_allowed_path(roots["uploads"] / "sales.csv").is_file()
    assert resolve_allowed_path(roots["shared"] / "sales.csv").is_file()
    (roots["uploads"] / ".sessions" / "abc").mkdir(parents=True)
    with pytest.raises(PathNotAllowed, match="upload in progress"):
        resolve_allowed_path(roots["uploads"] / ".sessions" / "abc" / "data")


def test_each_route_is_refused_again_where_the_connector_opens_it(roots):
    """Rows edited in the database or settings changed after the save: the connector judges when it opens."""
    for route, (source_type, config) in _routes(roots).items():
        if source_type == "kafka":
            from sources.connectors.kafka import KafkaConnector

            with pytest.raises(PathNotAllowed):
                KafkaConnector(config)._client_config()
            continue
        with pytest.raises(ConnectorError) as refused:
            list(get_connector(source_type, config).read_batches())
        assert OUTSIDE in refused.value.message or FORBIDDEN in refused.value.message, route
        assert SECRET not in refused.value.message


def test_a_sqlite_query_cannot_attach_another_database(roots):
    import sqlite3

    db = roots["uploads"] / "shop.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x)")
    connector = get_connector("database", {"engine": "sqlite", "path": str(db),
                                           "query": f"SELECT * FROM t WHERE x IN (ATTACH '{_metadata_db()}' AS m)"})
    with pytest.raises(ConnectorError):
        list(connector.read_batches())
    dialect_connection = connector.dialect.connect()
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        dialect_connection.execute(f"ATTACH DATABASE '{_metadata_db()}' AS m")


@pytest.mark.parametrize("content", [SECRET, SECRET + "\n", "[" + SECRET, '{"a": 1}' + SECRET, '[{"a": 1} ' + SECRET])
def test_a_json_files_error_says_where_not_what(roots, content):
    path = roots["shared"] / "key.json"
    path.write_text(content)
    check = get_connector("file", {"file_path": str(path), "format": "json"}).test_connection()
    assert not check.ok
    assert "line 1" in check.message or "not an array of records" in check.message, check.message
    assert SECRET[:8] not in check.message and "SECRET" not in check.message


def test_a_csv_files_error_does_not_quote_its_rows(roots):
    path = roots["shared"] / "ragged.csv"
    path.write_text("a,b\n1,2\n" + ",".join([SECRET] * 5) + "\n")
    with pytest.raises(ConnectorError) as refused:
        list(get_connector("file", {"file_path": str(path)}).read_batches())
    assert "SECRET" not in refused.value.message and "line 3" in refused.value.message


def test_an_upload_only_source_is_valid_and_a_run_without_a_file_says_so(roots):
    assert connector_config_errors("file", {"delimiter": ","}) == []
    with pytest.raises(ConnectorError, match="reads uploaded files only"):
        list(get_connector("file", {"delimiter": ","}).read_batches())


# --- the editor, through the admin and the API -----------------------------------------------------------

def _editor() -> User:
    user = User.objects.create_user("eddie", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["sources", "pipelines"],
        codename__in=["add_datasource", "change_datasource", "view_datasource", "add_pipeline", "change_pipeline",
                      "view_pipeline", "add_pipelinerun", "view_pipelinerun"]))
    return user


@pytest.fixture
def editor(db):
    return _editor()


def _admin_post(client, config: dict, source_type: str = "file", name: str = "Probe"):
    return client.post(reverse("admin:sources_datasource_add"), {
        "name": name, "description": "", "source_type": source_type, "is_active": "on",
        "connection_config": json.dumps(config)})


def test_the_admin_refuses_every_route_to_an_editor(roots, editor, client):
    client.force_login(editor)
    for route, (source_type, config) in _routes(roots).items():
        response = _admin_post(client, config, source_type)
        assert response.status_code == 200, route
        errors = " ".join(response.context["adminform"].form.errors.get("connection_config", []))
        assert OUTSIDE in errors or FORBIDDEN in errors, (route, errors)
    assert not DataSource.all_objects.exists()


def test_the_api_refuses_every_route_to_an_editor_with_a_field_error(roots, editor):
    api = APIClient()
    api.force_authenticate(editor)
    for route, (source_type, config) in _routes(roots).items():
        response = api.post("/api/v1/sources/", {"name": "Probe", "source_type": source_type,
                                                 "connection_config": config}, format="json")
        assert response.status_code == 400, (route, response.content)
        messages = " ".join(response.json()["error"]["fields"]["connection_config"])
        assert OUTSIDE in messages or FORBIDDEN in messages, (route, messages)
    assert not DataSource.all_objects.exists()


def test_outside_the_upload_folder_takes_the_permission(roots, editor, admin_user, client):
    shared = {"file_path": str(roots["shared"] / "sales.csv")}
    client.force_login(editor)
    response = _admin_post(client, shared)
    assert NEEDS_PERMISSION in " ".join(response.context["adminform"].form.errors["connection_config"])
    api = APIClient()
    api.force_authenticate(editor)
    response = api.post("/api/v1/sources/", {"name": "Probe", "source_type": "file", "connection_config": shared},
                        format="json")
    assert response.status_code == 400
    assert NEEDS_PERMISSION in " ".join(response.json()["error"]["fields"]["connection_config"])
    assert not DataSource.all_objects.exists()

    # An upload of the editor's, or an upload-only source, is the editor's way; a file in the upload folder that
    # is not the editor's upload is not (tests/api/test_upload_paths.py).
    in_uploads = {"file_path": str(roots["uploads"] / "sales.csv")}
    response = _admin_post(client, in_uploads, name="Upload")
    assert "upload you can see" in " ".join(response.context["adminform"].form.errors["connection_config"])
    FileMetadataFactory(file_path=in_uploads["file_path"], uploaded_by=editor.get_username())
    assert _admin_post(client, in_uploads, name="Upload").status_code == 302
    assert _admin_post(client, {"delimiter": ","}, name="Upload only").status_code == 302

    # Administrators (and whoever is given the permission) may point at their folders.
    client.force_login(admin_user)
    assert _admin_post(client, shared, name="Shared").status_code == 302
    editor.user_permissions.add(Permission.objects.get(codename="read_server_files"))
    editor = User.objects.get(pk=editor.pk)  # permissions are cached per user object
    api.force_authenticate(editor)
    response = api.post("/api/v1/sources/", {"name": "Shared 2", "source_type": "file", "connection_config": shared},
                        format="json")
    assert response.status_code == 201, response.content


def test_an_editor_may_change_other_keys_of_an_administrators_source_but_not_its_path(roots, editor):
    source = DataSource.objects.create(name="Shared", source_type="file",
                                       connection_config={"file_path": str(roots["shared"] / "sales.csv")})
    api = APIClient()
    api.force_authenticate(editor)
    kept = api.patch(f"/api/v1/sources/{source.pk}/", {"connection_config": {
        "file_path": str(roots["shared"] / "sales.csv"), "delimiter": ","}}, format="json")
    assert kept.status_code == 200, kept.content
    moved = api.patch(f"/api/v1/sources/{source.pk}/", {"connection_config": {
        "file_path": str(roots["shared"] / "other.csv")}}, format="json")
    assert moved.status_code == 400 and NEEDS_PERMISSION in json.dumps(moved.json())


def test_reference_files_of_a_pipeline_follow_the_same_rule(roots, editor):
    source = DataSource.objects.create(name="Up", source_type="file", connection_config={})
    api = APIClient()
    api.force_authenticate(editor)
    for path, expected in (("/etc/passwd", FORBIDDEN), (str(roots["outside"] / "secret.csv"), OUTSIDE),
                           (str(roots["shared"] / "sales.csv"), NEEDS_PERMISSION)):
        response = api.post("/api/v1/pipelines/", {
            "name": "P", "data_source": source.pk,
            "configuration": {"references": {"products": {"file_path": path}}}}, format="json")
        assert response.status_code == 400, response.content
        assert expected in json.dumps(response.json()["error"]["fields"]["configuration"])
    FileMetadataFactory(file_path=str(roots["uploads"] / "sales.csv"), uploaded_by=editor.get_username())
    response = api.post("/api/v1/pipelines/", {
        "name": "P", "data_source": source.pk,
        "configuration": {"references": {"products": {"file_path": str(roots["uploads"] / "sales.csv")}}}},
        format="json")
    assert response.status_code == 201, response.content


# --- run_pipeline: refused at run time, nothing staged or loaded; the legitimate cases load ----------------

def _source_row_pointing_at(source: DataSource, source_type: str, config: dict) -> None:
    """As an edit made in the database would: no form, no validation."""
    DataSource.all_objects.filter(pk=source.pk).update(source_type=source_type, connection_config=config)


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_run_pipeline_refuses_a_source_changed_in_the_database_and_stages_nothing(roots, clickhouse):
    pipeline = PipelineFactory(name="Probe run", configuration={}, data_source=DataSource.objects.create(
        name="Up", source_type="file", connection_config={"file_path": str(roots["uploads"] / "sales.csv")}))
    routes = _routes(roots)
    for route in ("sqlite on the metadata database", "/etc/passwd", "a symlink resolving outside",
                  "a .. path resolving outside", "a glob reaching out", "a glob matching a symlink"):
        source_type, config = routes[route]
        _source_row_pointing_at(pipeline.data_source, source_type, config)
        with pytest.raises(CommandError) as refused:
            call_command("run_pipeline", str(pipeline.pk), "--sync", verbosity=0)
        assert OUTSIDE in str(refused.value) or FORBIDDEN in str(refused.value), route
        run = PipelineRun.objects.filter(pipeline=pipeline).latest("id")
        assert run.status == RunStatus.FAILED and SECRET not in run.error_message
        assert not StagingTable.objects.filter(pipeline_run_id=run.pk).exists(), route
    assert not clickhouse.command("EXISTS TABLE probe_run")


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_run_pipeline_file_must_be_in_an_allowed_folder(roots, clickhouse):
    pipeline = PipelineFactory(name="Probe run", configuration={}, data_source=DataSource.objects.create(
        name="Up", source_type="file", connection_config={}))
    for path, expected in (("/etc/passwd", FORBIDDEN), (str(roots["outside"] / "secret.csv"), OUTSIDE)):
        with pytest.raises(CommandError, match=expected):
            call_command("run_pipeline", str(pipeline.pk), "--file", path, "--sync", verbosity=0)
    assert not PipelineRun.objects.exists()
    with pytest.raises(CommandError, match="reads uploaded files only"):
        call_command("run_pipeline", str(pipeline.pk), "--sync", verbosity=0)


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_an_upload_and_an_administrators_folder_still_load(roots, clickhouse):
    upload_only = PipelineFactory(name="Uploads", configuration={}, data_source=DataSource.objects.create(
        name="Up", source_type="file", connection_config={}))
    call_command("run_pipeline", str(upload_only.pk), "--file", str(roots["uploads"] / "sales.csv"), "--sync",
                 verbosity=0)
    shared = PipelineFactory(name="Shared", configuration={}, data_source=DataSource.objects.create(
        name="Shared", source_type="file", connection_config={"file_path": str(roots["shared"] / "*.csv")}))
    call_command("run_pipeline", str(shared.pk), "--sync", verbosity=0)
    assert set(PipelineRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCESS}
    assert clickhouse.command("SELECT count() FROM uploads") == 2
    assert clickhouse.command("SELECT count() FROM shared") == 2


def test_the_suites_roots_do_not_reach_the_data_folder():
    """The suite's own ETL_FILE_ROOTS (conftest.py) are those of an administrator: the rule still holds."""
    assert os.environ["ETL_FILE_ROOTS"]
    with pytest.raises(PathNotAllowed):
        resolve_allowed_path(_metadata_db())
    assert Pipeline.objects.count() == 0


def test_a_loop_of_links_is_refused_not_a_crash(roots):
    (roots["shared"] / "a.csv").symlink_to(roots["shared"] / "b.csv")
    (roots["shared"] / "b.csv").symlink_to(roots["shared"] / "a.csv")
    assert any("cannot be resolved" in error
               for error in connector_config_errors("file", {"file_path": str(roots["shared"] / "a.csv")}))
