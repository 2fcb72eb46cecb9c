"""Uploads: recorded in file_metadata, optionally starting a run; limits and bad files refused with a clear
field error and nothing recorded; status and errors readable."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from pipelines.models import PipelineRun
from staging.models import FileMetadata
from staging.uploads import uploads_dir
from tests.api.conftest import error_of
from tests.factories import FileMetadataFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

URL = "/api/v1/files/"
CSV = b"date,amount,product_id\n2024-01-01,10.5,1\n2024-01-02,7.25,2\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files() -> list:
    return [p for p in uploads_dir().rglob("*") if p.is_file()] if uploads_dir().exists() else []


def upload(name: str, content: bytes, **extra) -> dict:
    return {"file": SimpleUploadedFile(name, content), **extra}


def test_upload_records_file_metadata(api):
    response = api.post(URL, upload("../../etc/sales 2024.csv", CSV), format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    file = FileMetadata.objects.get(pk=body["file"]["id"])
    assert body["run"] is None and body["duplicate_of"] is None
    assert (file.original_filename, file.file_size, file.status, file.uploaded_by) == (
        "sales 2024.csv", len(CSV), "uploaded", "root")
    assert file.mime_type == "text/csv" and len(file.file_hash) == 64
    assert ".." not in file.filename and "/" not in file.filename
    assert "file_path" not in body["file"]
    assert [p.name for p in stored_files()] == [file.filename]

    again = api.post(URL, upload("copy.csv", CSV), format="multipart").json()
    assert again["duplicate_of"] == file.pk


def test_upload_can_start_a_run(api, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(URL, upload("march.csv", CSV, pipeline=pipeline.pk), format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    run = PipelineRun.objects.get(pk=body["run"]["id"])
    assert run.status == "pending" and run.execution_context["file_id"] == body["file"]["id"]
    assert body["file"]["pipeline_run_id"] == run.pk
    assert len(callbacks) == 1


def test_parquet_upload(api):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"amount": [1.5, 2.5]}), buffer)
    response = api.post(URL, upload("sales.parquet", buffer.getvalue()), format="multipart")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("report.exe", b"MZ\x90\x00", "unsupported file type"),
    ("empty.csv", b"", "empty"),
    ("binary.csv", b"\x00\x01\x02garbage\x00", "binary data"),
    ("fake.parquet", b"date,amount\n", "does not look like a parquet file"),
    ("fake.xlsx", b"date,amount\n", "does not look like a xlsx file"),
    ("fake.csv.gz", b"date,amount\n", "does not look like a gzip file"),
])
def test_bad_files_are_refused_and_leave_nothing(api, name, content, expected):
    pipeline = PipelineFactory()
    response = api.post(URL, upload(name, content, pipeline=pipeline.pk), format="multipart")
    assert response.status_code == 400
    error = error_of(response)
    assert list(error["fields"]) == ["file"]
    assert expected in error["fields"]["file"][0], error
    assert not FileMetadata.objects.exists() and not PipelineRun.objects.exists()
    assert stored_files() == []


def test_size_limit(api):
    with override_settings(API_UPLOAD_MAX_BYTES=len(CSV) - 1):
        response = api.post(URL, upload("big.csv", CSV), format="multipart")
    assert response.status_code == 400
    assert "more than the limit" in error_of(response)["fields"]["file"][0]
    assert not FileMetadata.objects.exists() and stored_files() == []


def test_missing_file_and_deprecated_pipeline(api):
    response = api.post(URL, {}, format="multipart")
    assert response.status_code == 400 and "file" in error_of(response)["fields"]
    deprecated = PipelineFactory(status="deprecated")
    response = api.post(URL, upload("a.csv", CSV, pipeline=deprecated.pk), format="multipart")
    assert response.status_code == 409
    assert not FileMetadata.objects.exists() and stored_files() == []


def test_status_and_errors_are_readable_and_filterable(api):
    failed = FileMetadataFactory(status="failed", error_message="Column amount is missing")
    FileMetadataFactory(status="processed")
    body = api.get(f"{URL}{failed.pk}/").json()
    assert (body["status"], body["error_message"]) == ("failed", "Column amount is missing")
    assert [f["id"] for f in api.get(URL, {"status": "failed"}).json()["results"]] == [failed.pk]


def test_uploads_are_throttled(api, settings):
    from django.core.cache import cache

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "uploads": "1/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        assert api.post(URL, upload("a.csv", CSV), format="multipart").status_code == 201
        response = api.post(URL, upload("b.csv", CSV + b"2024-01-03,1,3\n"), format="multipart")
        assert response.status_code == 429 and error_of(response)["code"] == "throttled"
    assert FileMetadata.objects.count() == 1


def test_starting_a_run_with_an_upload_needs_the_run_permission(db):
    from tests.api.conftest import client_for, make_user

    uploader = make_user("uploader")
    from django.contrib.auth.models import Permission

    uploader.user_permissions.set(Permission.objects.filter(codename__in=["add_filemetadata", "view_filemetadata"]))
    client = client_for(uploader)
    pipeline = PipelineFactory()
    response = client.post(URL, upload("a.csv", CSV, pipeline=pipeline.pk), format="multipart")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    assert not FileMetadata.objects.exists()
    assert client.post(URL, upload("a.csv", CSV), format="multipart").status_code == 201
