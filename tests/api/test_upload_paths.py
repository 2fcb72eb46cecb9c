"""An upload is private everywhere (staging.ownership): a file source may name a path in the upload folder only
for an upload its user may see, when it is saved and when a person starts a run on it; and a run's or staging
table's details do not show the server path of an upload the reader may not see."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.engine.runner import run_execute
from pipelines.models import PipelineRun, RunStatus
from pipelines.services import run_claim, run_create
from sources.models import DataSource
from staging.models import FileMetadata, ProcessingLog
from tests.api.conftest import client_for, error_of, make_user
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

CSV = b"date,amount,product_id\n2024-01-01,10.5,1\n2024-01-02,7,2\n"
EDIT = ("view", "add", "change")
RULES = {"validation_rules": {"required_columns": ["date", "amount", "product_id"],
                              "data_types": {"date": "date", "amount": "float", "product_id": "integer"}}}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, name):
    response = client.post("/api/v1/files/", {"file": SimpleUploadedFile(name, CSV)}, format="multipart")
    assert response.status_code == 201, response.json()
    return FileMetadata.objects.get(pk=response.json()["file"]["id"])


@pytest.fixture
def two_uploads(db):
    admin = client_for(make_user("admin", superuser=True))
    eve = client_for(make_user("eve", actions=EDIT))
    return admin, _upload(admin, "zakazy_2024.csv"), eve, _upload(eve, "eve.csv")


def _source(name, path):
    return {"name": name, "source_type": "file", "connection_config": {"file_path": path, "delimiter": ","}}


def test_a_source_may_name_only_an_upload_its_user_sees(two_uploads):
    admin, admins, eve, evess = two_uploads
    response = eve.post("/api/v1/sources/", _source("stolen", admins.file_path), format="json")
    assert response.status_code == 400
    assert "upload you can see" in " ".join(error_of(response)["fields"]["connection_config"])
    folder = str(evess.file_path).rsplit("/", 2)[0]
    for path in (f"{folder}/*/*.csv", f"{folder}/{'/'.join(str(admins.file_path).rsplit('/', 2)[1:])}",
                 f"{str(evess.file_path).rsplit('/', 1)[0]}/../{'/'.join(str(admins.file_path).rsplit('/', 2)[1:])}"):
        assert eve.post("/api/v1/sources/", _source("glob", path), format="json").status_code == 400, path
    assert not DataSource.objects.filter(name__in=["stolen", "glob"]).exists()

    assert eve.post("/api/v1/sources/", _source("mine", evess.file_path), format="json").status_code == 201
    mine = DataSource.objects.get(name="mine")
    response = eve.patch(f"/api/v1/sources/{mine.pk}/", {"connection_config": {"file_path": admins.file_path}},
                         format="json")
    assert response.status_code == 400
    # The admin (superuser) may name any upload, and eve may still edit a source the admin pointed there.
    response = admin.post("/api/v1/sources/", _source("admins", admins.file_path), format="json")
    assert response.status_code == 201, response.json()
    kept = DataSource.objects.get(name="admins")
    assert eve.patch(f"/api/v1/sources/{kept.pk}/", {"description": "x"}, format="json").status_code == 200


def test_a_run_started_by_a_person_reads_only_uploads_that_person_sees(two_uploads, clickhouse):
    _admin, admins, _eve, _evess = two_uploads
    # Saved before the rule, or by somebody else: the run judges the person who starts it.
    source = DataSourceFactory(source_type="file", connection_config={"file_path": admins.file_path})
    pipeline = PipelineFactory(data_source=source, configuration=RULES)
    run = run_create(pipeline=pipeline, triggered_by="eve")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.FAILED and "may not see" in run.error_message
    assert not (run.execution_context or {}).get("rows_loaded")

    run = run_create(pipeline=pipeline, triggered_by="admin")  # the owner
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    run = run_create(pipeline=pipeline, triggered_by="scheduler")  # no person started it: the save was judged
    assert run_claim(run=run)
    run = run_execute(run=run)  # the same file again: skipped as already loaded, not refused
    assert run.status == RunStatus.CANCELLED and "already loaded" in run.error_message


def test_the_server_path_of_an_upload_is_shown_only_to_those_who_see_the_upload(
        two_uploads, clickhouse, django_capture_on_commit_callbacks):
    admin, admins, eve, _evess = two_uploads
    pipeline = PipelineFactory(data_source=DataSourceFactory(source_type="file", connection_config={}),
                               configuration=RULES)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post("/api/v1/runs/", {"pipeline": pipeline.pk, "file_id": admins.pk}, format="json")
    assert response.status_code == 201, response.json()
    run = PipelineRun.objects.get(pk=response.json()["id"])
    assert run_claim(run=run)
    assert run_execute(run=run).status == RunStatus.SUCCESS

    def seen(client):
        bodies = [client.get(f"/api/v1/runs/{run.pk}/").json(), client.get("/api/v1/runs/").json(),
                  client.get("/api/v1/staging-tables/").json(), client.get("/api/v1/processing-logs/").json()]
        return json.dumps(bodies)

    assert admins.file_path in seen(admin)
    as_eve = seen(eve)
    assert admins.file_path not in as_eve and admins.filename not in as_eve
    assert eve.get(f"/api/v1/runs/{run.pk}/").json()["execution_context"]["file_path"] == "zakazy_2024.csv"
    assert "zakazy_2024.csv" in json.dumps(eve.get("/api/v1/staging-tables/").json())


def test_the_logs_download_hides_the_path_too(two_uploads):
    from webui.rundetail import logs_as_text

    _admin, admins, _eve, _evess = two_uploads
    run = run_create(pipeline=PipelineFactory(), triggered_by="admin",
                     execution_context={"file_path": admins.file_path})
    ProcessingLog.objects.create(table_name="stg", operation_type="load", status="completed",
                                 execution_context={"file_path": admins.file_path}, pipeline_run_id=run.pk)
    assert admins.file_path in logs_as_text(run, reader=User.objects.get(username="admin"))
    text = logs_as_text(run, reader=User.objects.get(username="eve"))
    assert admins.file_path not in text and "zakazy_2024.csv" in text


def test_the_admin_detail_pages_hide_the_path_too(two_uploads, client):
    """A run's, a processing log's and a staging table's page in the admin print their context: an upload's
    server path there only for those who may see the upload (the trial saw it on eve's admin pages)."""
    from django.test import Client

    from staging.models import StagingTable

    _admin, admins, _eve, _evess = two_uploads
    run = run_create(pipeline=PipelineFactory(), triggered_by="admin",
                     execution_context={"file_path": admins.file_path})
    log = ProcessingLog.objects.create(table_name="stg", operation_type="load", status="completed",
                                       execution_context={"file_path": admins.file_path}, pipeline_run_id=run.pk)
    table = StagingTable.objects.create(table_name="stg_eve_probe", source_type="file", pipeline_run_id=run.pk,
                                        source_config={"file_path": admins.file_path})
    pages = [f"/admin/pipelines/pipelinerun/{run.pk}/change/", f"/admin/staging/processinglog/{log.pk}/change/",
             f"/admin/staging/stagingtable/{table.pk}/change/"]
    eve = User.objects.get(username="eve")
    eve.is_staff = True
    eve.save()
    admin_browser, eve_browser = Client(), Client()
    admin_browser.force_login(User.objects.get(username="admin"))
    eve_browser.force_login(eve)
    for page in pages:
        shown = admin_browser.get(page)
        assert shown.status_code == 200 and admins.file_path in shown.content.decode(), page
        hidden = eve_browser.get(page)
        assert hidden.status_code == 200, page
        assert admins.file_path not in hidden.content.decode() and "zakazy_2024.csv" in hidden.content.decode(), page
