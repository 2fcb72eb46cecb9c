"""Issue 12: an upload session and an uploaded file belong to their user, on the pages as in the API
(staging.ownership, webui.chunked): another editor can neither add to nor finish a session whose key they
learnt, nor preview, map or run the file; an administrator (or staging.access_all_uploads) can use it."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from pipelines.models import PipelineRun
from staging.models import FileMetadata
from tests.webui.conftest import UPLOADER, user_with

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

CONTENT = b"date,amount,product_id\n2024-01-02,10.5,1\n"


def _login(client, user):
    client.force_login(user)
    return client


def _upload(client) -> dict:
    session = client.post(reverse("webui:upload-session"), {"name": "mine.csv", "size": len(CONTENT),
                                                            "modified": 1, "client_id": "b"},
                          content_type="application/json").json()
    return session


@pytest.fixture
def editors(django_user_model):
    return user_with(django_user_model, "alice", *UPLOADER), user_with(django_user_model, "bob", *UPLOADER)


def test_another_user_cannot_add_to_or_finish_a_session(client, editors):
    alice, bob = editors
    session = _upload(_login(client, alice))
    _login(client, bob)
    chunk = client.put(session["chunk_url"], CONTENT, content_type="application/octet-stream",
                       HTTP_X_UPLOAD_OFFSET="0")
    assert chunk.status_code == 400 and "Unknown upload session" in chunk.json()["error"]
    finish = client.post(session["finish_url"])
    assert finish.status_code == 400 and not FileMetadata.objects.exists()

    _login(client, alice)
    assert client.put(session["chunk_url"], CONTENT, content_type="application/octet-stream",
                      HTTP_X_UPLOAD_OFFSET="0").json() == {"received": len(CONTENT)}
    assert client.post(session["finish_url"]).status_code == 200
    assert FileMetadata.objects.get().uploaded_by == "alice"


def test_another_user_cannot_preview_map_or_run_the_file(client, editors, file_pipeline,
                                                         django_capture_on_commit_callbacks):
    alice, bob = editors
    session = _upload(_login(client, alice))
    client.put(session["chunk_url"], CONTENT, content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET="0")
    file_id = client.post(session["finish_url"]).json()["file_id"]
    pipeline = {"pipeline": file_pipeline.pk}

    _login(client, bob)
    assert client.get(reverse("webui:upload-preview", args=[file_id]), pipeline).status_code == 404
    assert client.post(reverse("webui:upload-mapping", args=[file_id]), pipeline).status_code == 404
    assert client.post(reverse("webui:upload-run", args=[file_id]), pipeline).status_code == 404
    assert not PipelineRun.objects.exists()

    operator = user_with(type(alice), "operator", *UPLOADER)
    operator.user_permissions.add(Permission.objects.get(codename="access_all_uploads"))
    _login(client, operator)
    assert client.get(reverse("webui:upload-preview", args=[file_id]), pipeline).status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(reverse("webui:upload-run", args=[file_id]), pipeline).status_code == 200
    assert PipelineRun.objects.count() == 1


def test_the_admin_lists_only_the_users_own_files(client, editors, admin_client):
    alice, bob = editors
    FileMetadata.objects.create(filename="a.csv", original_filename="alice-file.csv", file_path="/x/a.csv",
                                file_hash="a" * 64, uploaded_by="alice")
    for user in (alice, bob):
        user.is_staff = True
        user.save()
    changelist = reverse("admin:staging_filemetadata_changelist")
    assert "alice-file.csv" in _login(client, alice).get(changelist).content.decode()
    assert "alice-file.csv" not in _login(client, bob).get(changelist).content.decode()
    assert "alice-file.csv" in admin_client.get(changelist).content.decode()
