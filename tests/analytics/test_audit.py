"""The audit trail: model changes, run triggers/cancels and uploads land in etl_audit_log, secrets masked."""

import io
import json

import pytest
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from analytics.audit import (
    AuditContext,
    audit_context,
    audit_context_set,
    audit_export,
    audit_record,
    audit_run_cancel,
    audit_send_pending,
    session_fingerprint,
)
from pipelines.models import RunStatus
from pipelines.services import run_enqueue
from sources.secrets import PLACEHOLDER, mask_config
from staging.uploads import file_register
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

PASSWORD = "Old-S3cr3t-Pa55"
NEW_PASSWORD = "New-S3cr3t-Pa55"
CONFIG = {"url": "https://api.example.com/orders", "auth": {"type": "basic", "username": "etl", "password": PASSWORD},
          "record_path": "data"}
SECRETS = (PASSWORD, NEW_PASSWORD)
USER_AGENT = "AuditTest/1.0 (pytest)"


def audit_rows(target, **where) -> list[dict]:
    audit_send_pending()  # the test's transaction never commits: send the outbox as the beat task would
    rows = target.rows("SELECT * FROM etl_audit_log ORDER BY created_at")
    for row in rows:
        row["details"] = json.loads(row["operation_details"])
    return [r for r in rows if all(r[k] == v if k != "action" else r["details"].get("action") == v
                                   for k, v in where.items())]


def assert_no_secret(target):
    audit_send_pending()
    dump = json.dumps(target.rows("SELECT * FROM etl_audit_log"), default=str)
    for secret in SECRETS:
        assert secret not in dump


def test_admin_change_of_a_source_password_is_audited_masked(clickhouse, admin_client, admin_user):
    source = DataSourceFactory(name="Sales API", source_type="api", connection_config=CONFIG)
    new_config = {**CONFIG, "auth": {**CONFIG["auth"], "password": NEW_PASSWORD}}
    response = admin_client.post(
        reverse("admin:sources_datasource_change", args=[source.pk]),
        {"name": source.name, "description": source.description, "source_type": source.source_type,
         "is_active": "on", "connection_config": json.dumps(new_config),
         "initial-connection_config": json.dumps(mask_config(CONFIG))},
        HTTP_USER_AGENT=USER_AGENT,
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.connection_config["auth"]["password"] == NEW_PASSWORD

    [row] = audit_rows(clickhouse, operation_type="update", table_name="data_sources")
    assert row["user_id"] == admin_user.pk
    assert row["ip_address"] == "127.0.0.1"
    assert row["user_agent"] == USER_AGENT
    assert row["session_id"] and row["session_id"] != admin_client.session.session_key
    assert row["session_id"] == session_fingerprint(admin_client.session.session_key)
    details = row["details"]
    assert details["action"] == "update" and details["object_id"] == source.pk
    assert details["changed"] == ["connection_config"]
    assert details["changed_paths"] == ["connection_config.auth.password"]
    assert details["changes"]["connection_config"]["new"]["auth"] == PLACEHOLDER  # "auth" is a secret key
    assert details["changes"]["connection_config"]["new"]["url"] == "https://api.example.com/orders"
    assert_no_secret(clickhouse)


def test_source_create_soft_delete_restore_and_delete(clickhouse):
    source = DataSourceFactory(connection_config=CONFIG)
    source.soft_delete()
    source.restore()
    pk = source.pk
    source.delete()
    rows = audit_rows(clickhouse, table_name="data_sources")
    assert [(r["operation_type"], r["details"]["action"]) for r in rows] == [
        ("create", "create"), ("delete", "soft_delete"), ("update", "restore"), ("delete", "delete")]
    assert all(r["details"]["object_id"] == pk for r in rows)
    assert rows[0]["details"]["values"]["connection_config"]["auth"] == PLACEHOLDER  # "auth" is a secret key
    assert rows[0]["user_id"] is None and rows[0]["ip_address"] == ""  # no request: empty context
    assert_no_secret(clickhouse)


def test_unchanged_save_writes_nothing(clickhouse):
    pipeline = PipelineFactory()
    before = len(audit_rows(clickhouse))
    pipeline.save()
    assert len(audit_rows(clickhouse)) == before
    pipeline.max_retries = 7
    pipeline.save()
    [row] = audit_rows(clickhouse, operation_type="update", table_name="pipelines")
    assert row["details"]["changes"] == {"max_retries": {"old": 3, "new": 7}}


def test_schedule_changes_are_audited_but_beat_bookkeeping_is_not(clickhouse):
    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(name="nightly", task="pipelines.tasks.run_pipeline_task", interval=every)
    task.total_run_count = 3
    task.save()
    task.enabled = False
    task.save()
    rows = audit_rows(clickhouse, table_name=PeriodicTask._meta.db_table)
    assert [r["operation_type"] for r in rows] == ["create", "update"]
    assert rows[1]["details"]["changed"] == ["enabled"]


def test_run_enqueue_and_cancel_carry_the_run_id(clickhouse):
    pipeline = PipelineFactory()
    with audit_context_set(AuditContext(user_id=42, ip_address="10.0.0.1", user_agent="cli")):
        run = run_enqueue(pipeline=pipeline, triggered_by="alice")
    [trigger] = audit_rows(clickhouse, action="trigger")
    assert trigger["operation_type"] == "create" and trigger["table_name"] == "pipeline_runs"
    assert trigger["pipeline_run_id"] == run.pk
    assert (trigger["user_id"], trigger["ip_address"], trigger["user_agent"]) == (42, "10.0.0.1", "cli")
    assert trigger["details"]["triggered_by"] == "alice"

    run.status = RunStatus.CANCELLED  # a cancel through save()
    run.save()
    [cancel] = audit_rows(clickhouse, action="cancel")
    assert cancel["operation_type"] == "update" and cancel["pipeline_run_id"] == run.pk
    assert cancel["details"]["changes"]["status"] == {"old": "pending", "new": "cancelled"}
    run.save()  # still cancelled: not a second cancel
    assert len(audit_rows(clickhouse, action="cancel")) == 1


def test_audit_run_cancel_helper(clickhouse):
    run = PipelineRunFactory(status=RunStatus.RUNNING)
    assert audit_run_cancel(run=run, by="bob")
    [row] = audit_rows(clickhouse, action="cancel")
    assert row["pipeline_run_id"] == run.pk and row["details"]["by"] == "bob"


def test_other_run_status_changes_are_not_audited(clickhouse):
    run = PipelineRunFactory(status=RunStatus.RUNNING)
    run.status = RunStatus.SUCCESS
    run.save()
    assert audit_rows(clickhouse, action="cancel") == []
    assert len(audit_rows(clickhouse, table_name="pipeline_runs")) == 1  # the trigger only


def test_upload_is_audited(clickhouse, django_capture_on_commit_callbacks):
    # file_metadata lives in staging: its record is written when staging commits (here: when the test says so).
    with django_capture_on_commit_callbacks(using="staging", execute=True):
        registered = file_register(stream=io.BytesIO(b"a,b\n1,2\n"), original_filename="sales.csv",
                                   uploaded_by="carol")
    [row] = audit_rows(clickhouse, action="upload")
    assert row["operation_type"] == "create" and row["table_name"] == "file_metadata"
    assert row["details"]["object_id"] == registered.file.pk
    assert row["details"]["original_filename"] == "sales.csv" and row["details"]["uploaded_by"] == "carol"


def test_audit_export_and_explicit_record_mask_secrets(clickhouse):
    assert audit_export(table_name="stg_sales", format="csv", rows=10, filters={"region": "EU"},
                        pipeline_run_id=5, user_id=7)
    assert audit_record(operation_type="update", table_name="x",
                        details={"action": "rotate", "api_key": NEW_PASSWORD,
                                 "url": f"https://u:{PASSWORD}@h.example.com/x"})
    [export] = audit_rows(clickhouse, action="export")
    assert export["operation_type"] == "query" and export["pipeline_run_id"] == 5
    assert export["details"]["rows"] == 10 and export["details"]["format"] == "csv"
    assert_no_secret(clickhouse)


def test_unknown_operation_type_is_refused_not_raised(clickhouse):
    assert audit_record(operation_type="trigger", table_name="x", details={}) is False
    assert audit_rows(clickhouse) == []


def test_middleware_sets_and_clears_the_context(client, admin_user):
    seen = {}

    def view(request):
        seen["ctx"] = audit_context()
        from django.http import HttpResponse
        return HttpResponse("ok")

    from django.test import RequestFactory

    from etlsite.middleware import AuditContextMiddleware

    request = RequestFactory().get("/", HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR="192.0.2.5")
    request.user = admin_user
    AuditContextMiddleware(view)(request)
    assert seen["ctx"] == AuditContext(user_id=admin_user.pk, session_id="", ip_address="192.0.2.5",
                                       user_agent=USER_AGENT)
    assert audit_context() == AuditContext()
