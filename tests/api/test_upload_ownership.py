"""Issue 12: uploads belong to their uploader (staging.ownership). Through the API another editor neither lists,
reads nor runs them; superusers and holders of staging.access_all_uploads do. The pages follow the same rule
(tests/webui/test_upload_ownership.py)."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.models import PipelineRun
from tests.api.conftest import client_for, error_of, make_user
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

CSV = b"date,amount,product_id\n2024-01-01,10.5,1\n"
EDIT = ("view", "add", "change", "delete")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice_file(db):
    alice = client_for(make_user("alice", actions=EDIT))
    response = alice.post("/api/v1/files/", {"file": SimpleUploadedFile("alice.csv", CSV)}, format="multipart")
    assert response.status_code == 201
    return alice, response.json()["file"]["id"]


def test_another_editor_cannot_list_read_or_run_an_upload(alice_file, django_capture_on_commit_callbacks):
    alice, file_id = alice_file
    bob = client_for(make_user("bob", actions=EDIT))
    pipeline = PipelineFactory()
    assert [f["id"] for f in alice.get("/api/v1/files/").json()["results"]] == [file_id]
    assert alice.get(f"/api/v1/files/{file_id}/").status_code == 200

    assert bob.get("/api/v1/files/").json()["count"] == 0
    assert bob.get("/api/v1/files/", {"uploaded_by": "alice"}).json()["count"] == 0
    assert bob.get(f"/api/v1/files/{file_id}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        response = bob.post("/api/v1/runs/", {"pipeline": pipeline.pk, "file_id": file_id}, format="json")
    assert response.status_code == 400 and "file_id" in error_of(response)["fields"]
    assert not PipelineRun.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        response = alice.post("/api/v1/runs/", {"pipeline": pipeline.pk, "file_id": file_id}, format="json")
    assert response.status_code == 201


def test_a_duplicate_of_another_users_file_is_not_named(alice_file):
    alice, file_id = alice_file
    bob = client_for(make_user("bob", actions=EDIT))
    body = bob.post("/api/v1/files/", {"file": SimpleUploadedFile("same.csv", CSV)}, format="multipart").json()
    assert body["duplicate_of"] is None
    again = alice.post("/api/v1/files/", {"file": SimpleUploadedFile("again.csv", CSV)}, format="multipart").json()
    assert again["duplicate_of"] == file_id


def test_superusers_and_the_permission_see_and_use_every_upload(alice_file, superuser,
                                                                 django_capture_on_commit_callbacks):
    _alice, file_id = alice_file
    operator = make_user("operator", actions=EDIT)
    operator.user_permissions.add(Permission.objects.get(codename="access_all_uploads"))
    pipeline = PipelineFactory()
    for user in (superuser, operator):
        client = client_for(user)
        assert [f["id"] for f in client.get("/api/v1/files/").json()["results"]] == [file_id]
        assert client.get(f"/api/v1/files/{file_id}/").status_code == 200
        with django_capture_on_commit_callbacks(execute=False):
            response = client.post("/api/v1/runs/", {"pipeline": pipeline.pk, "file_id": file_id}, format="json")
        assert response.status_code == 201, response.json()


def test_viewers_role_does_not_get_the_permission(db):
    from etlsite.roles import viewer_permissions

    assert "access_all_uploads" not in {p.codename for p in viewer_permissions()}
