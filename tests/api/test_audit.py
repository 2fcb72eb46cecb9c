"""Every API write lands in etl_audit_log with the API user, IP address and user agent."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.audit import audit_send_pending
from tests.api.conftest import USER_AGENT
from tests.factories import PipelineFactory, PipelineRunFactory

pytestmark = [pytest.mark.django_db(databases=["default", "staging"]), pytest.mark.clickhouse]


def test_api_writes_are_audited_with_user_ip_and_user_agent(clickhouse, api, superuser, settings, tmp_path,
                                                            django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        source = api.post("/api/v1/sources/", {"name": "Feed", "source_type": "api", "connection_config": {
            "url": "https://api.example.com/orders", "auth": {"type": "bearer", "token": "Pa55-word"},
            "record_path": "data"}}, format="json").json()
        api.patch(f"/api/v1/sources/{source['id']}/", {"description": "changed"}, format="json")
        api.delete(f"/api/v1/sources/{source['id']}/")
        api.post(f"/api/v1/sources/{source['id']}/restore/")
        pipeline = PipelineFactory()
        run = api.post("/api/v1/runs/", {"pipeline": pipeline.pk}, format="json").json()
        api.post(f"/api/v1/runs/{run['id']}/cancel/")
        failed = PipelineRunFactory(pipeline=pipeline, status="failed")
        api.post(f"/api/v1/runs/{failed.pk}/rerun/")
        # file_metadata lives in staging: its audit record is written when staging commits.
        with django_capture_on_commit_callbacks(using="staging", execute=True):
            api.post("/api/v1/files/", {"file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")}, format="multipart")
    audit_send_pending()  # the test's transaction never commits: send the outbox as the beat task would

    api_rows = clickhouse.rows("SELECT * FROM etl_audit_log WHERE user_agent = {ua:String}", {"ua": USER_AGENT})
    actions = [(r["operation_type"], r["table_name"], json.loads(r["operation_details"]).get("action"))
               for r in api_rows]
    for expected in [("create", "data_sources", "create"), ("update", "data_sources", "update"),
                     ("delete", "data_sources", "soft_delete"), ("update", "data_sources", "restore"),
                     ("create", "pipeline_runs", "trigger"), ("update", "pipeline_runs", "cancel"),
                     ("create", "file_metadata", "upload")]:
        assert expected in actions, (expected, actions)
    triggers = [a for a in actions if a[2] == "trigger"]
    assert len(triggers) == 2  # the trigger and the re-run
    assert all(r["user_id"] == superuser.pk and r["ip_address"] == "127.0.0.1" for r in api_rows)
    assert "Pa55-word" not in json.dumps(clickhouse.rows("SELECT * FROM etl_audit_log"), default=str)
