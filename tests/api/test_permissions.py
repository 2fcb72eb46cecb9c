"""Every endpoint: anonymous callers get 401, users without the model permission 403 (reads need *view*,
writes add/change/delete), token and session authentication both work."""

import pytest

from tests.api.conftest import client_for, error_of, make_user
from tests.factories import (
    AnalysisResultFactory,
    DataSourceFactory,
    FileMetadataFactory,
    PipelineFactory,
    PipelineRunFactory,
    ProcessingLogFactory,
    StagingTableFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

READS = ["/api/v1/sources/", "/api/v1/pipelines/", "/api/v1/runs/", "/api/v1/analysis-results/",
         "/api/v1/files/", "/api/v1/staging-tables/", "/api/v1/processing-logs/", "/api/v1/quarantined-rows/",
         "/api/v1/quality-metrics/", "/api/v1/business-metrics/", "/api/v1/lineage/", "/api/v1/catalog/",
         "/api/v1/audit-log/"]


@pytest.fixture
def rows(db):
    source = DataSourceFactory()
    pipeline = PipelineFactory(data_source=source)
    run = PipelineRunFactory(pipeline=pipeline, status="failed")
    return {"source": source, "pipeline": pipeline, "run": run, "result": AnalysisResultFactory(pipeline_run=run),
            # uploaded by the viewer: a file is seen by its uploader only (tests/api/test_upload_ownership.py)
            "file": FileMetadataFactory(uploaded_by="viewer"), "table": StagingTableFactory(),
            "log": ProcessingLogFactory()}


def writes(rows) -> list[tuple[str, str]]:
    s, p, r = rows["source"].pk, rows["pipeline"].pk, rows["run"].pk
    return [("post", "/api/v1/sources/"), ("patch", f"/api/v1/sources/{s}/"), ("put", f"/api/v1/sources/{s}/"),
            ("delete", f"/api/v1/sources/{s}/"), ("post", f"/api/v1/sources/{s}/restore/"),
            ("post", "/api/v1/pipelines/"), ("patch", f"/api/v1/pipelines/{p}/"),
            ("delete", f"/api/v1/pipelines/{p}/"), ("post", f"/api/v1/pipelines/{p}/restore/"),
            ("post", "/api/v1/runs/"), ("post", f"/api/v1/runs/{r}/cancel/"), ("post", f"/api/v1/runs/{r}/rerun/"),
            ("post", "/api/v1/files/")]


def details(rows) -> list[str]:
    return [f"/api/v1/sources/{rows['source'].pk}/", f"/api/v1/pipelines/{rows['pipeline'].pk}/",
            f"/api/v1/runs/{rows['run'].pk}/", f"/api/v1/analysis-results/{rows['result'].pk}/",
            f"/api/v1/files/{rows['file'].pk}/", f"/api/v1/staging-tables/{rows['table'].pk}/",
            f"/api/v1/processing-logs/{rows['log'].pk}/"]


def test_anonymous_gets_401_everywhere(rows, anonymous_api):
    for url in READS + details(rows):
        response = anonymous_api.get(url)
        assert response.status_code == 401, url
        assert error_of(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Token"
    for method, url in writes(rows):
        response = getattr(anonymous_api, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)


def test_a_user_without_permissions_gets_403_on_reads(rows):
    nobody = client_for(make_user("nobody"))
    for url in READS + details(rows):
        response = nobody.get(url)
        assert response.status_code == 403, url
        assert error_of(response)["code"] == "permission_denied"


def test_a_viewer_reads_everything_but_gets_403_on_every_write(rows, viewer_api):
    for url in details(rows) + [u for u in READS if u not in ("/api/v1/audit-log/",) and "metrics" not in u
                                and u not in ("/api/v1/lineage/", "/api/v1/catalog/")]:
        assert viewer_api.get(url).status_code == 200, url
    for method, url in writes(rows):
        response = getattr(viewer_api, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
        assert error_of(response)["code"] == "permission_denied"
    rows["source"].refresh_from_db()
    assert not rows["source"].is_deleted


def test_an_editor_may_write(rows, editor_api):
    response = editor_api.patch(f"/api/v1/sources/{rows['source'].pk}/", {"description": "x"}, format="json")
    assert response.status_code == 200
    assert editor_api.delete(f"/api/v1/pipelines/{rows['pipeline'].pk}/").status_code == 204


def test_a_bad_token_is_refused_and_session_login_works(rows, client, viewer):
    response = client.get("/api/v1/sources/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401 and error_of(response)["code"] == "authentication_failed"
    client.force_login(viewer)
    assert client.get("/api/v1/sources/").status_code == 200


def test_a_token_is_obtained_with_username_and_password(rows, viewer):
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/auth/token/", {"username": "viewer", "password": "x"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert APIClient().get("/api/v1/sources/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    response = APIClient().post("/api/v1/auth/token/", {"username": "viewer", "password": "wrong"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "validation_error"
