"""Audit records go through the metadata database's outbox: written with the change, sent to etl_audit_log after
the commit, kept and retried while ClickHouse is down, sent once."""

import io
import json
import socket

import pytest
from django.db import transaction

from analytics.audit import audit_record
from analytics.audit_outbox import COLUMNS, TABLE, audit_send_pending
from analytics.models import AuditOutbox
from analytics.tasks import audit_send_pending_task
from staging.uploads import file_register
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

PASSWORD = "Outb0x-S3cr3t-Pa55"
CONFIG = {"url": "https://api.example.com/orders", "auth": {"type": "basic", "username": "etl", "password": PASSWORD}}


class Rolledback(Exception):
    pass


def rows(target) -> list[dict]:
    found = target.rows(f"SELECT * FROM {TABLE} ORDER BY created_at")
    for row in found:
        row["details"] = json.loads(row["operation_details"])
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_committed_change_reaches_clickhouse_after_the_commit_in_one_batch(clickhouse):
    with transaction.atomic():
        first = DataSourceFactory(name="first", connection_config=CONFIG)
        second = DataSourceFactory(name="second")
        first.description = "changed"
        first.save()
        assert rows(clickhouse) == []  # nothing reaches ClickHouse before the commit
        assert AuditOutbox.objects.count() == 3
    found = rows(clickhouse)
    assert [(r["operation_type"], r["details"]["object_id"]) for r in found] == [
        ("create", first.pk), ("create", second.pk), ("update", first.pk)]
    assert clickhouse.command(f"SELECT uniqExact(_part) FROM {TABLE}") == 1  # one INSERT for the transaction
    assert AuditOutbox.objects.count() == 0
    assert PASSWORD not in json.dumps(found, default=str)


def test_a_rolled_back_change_leaves_no_audit_record(clickhouse):
    with pytest.raises(Rolledback), transaction.atomic():
        DataSourceFactory(name="never")
        raise Rolledback
    with pytest.raises(Rolledback), transaction.atomic(using="staging"):
        file_register(stream=io.BytesIO(b"a,b\n1,2\n"), original_filename="never.csv", uploaded_by="carol")
        raise Rolledback
    kept = DataSourceFactory(name="kept")
    assert audit_send_pending() == 0  # nothing was left behind in the outbox either
    assert [(r["table_name"], r["details"]["object_id"]) for r in rows(clickhouse)] == [("data_sources", kept.pk)]


def test_an_upload_committed_in_staging_is_audited(clickhouse):
    with transaction.atomic(using="staging"):
        registered = file_register(stream=io.BytesIO(b"a,b\n1,2\n"), original_filename="sales.csv",
                                   uploaded_by="carol")
        assert AuditOutbox.objects.count() == 0  # recorded when staging commits, not before
    [row] = rows(clickhouse)
    assert row["table_name"] == "file_metadata" and row["details"]["object_id"] == registered.file.pk


def test_with_clickhouse_down_the_save_succeeds_and_the_record_arrives_later(clickhouse, settings, caplog):
    reachable = settings.TARGET_CLICKHOUSE
    settings.TARGET_CLICKHOUSE = {**reachable, "HOST": "127.0.0.1", "PORT": closed_port(), "CONNECT_TIMEOUT": 2}
    source = DataSourceFactory(name="while down", connection_config=CONFIG)
    source.description = "changed while down"
    source.save()
    source.refresh_from_db()
    assert source.description == "changed while down"
    assert audit_send_pending_task.apply().get() == "0 audit records sent"  # beat's retry fails too
    waiting = list(AuditOutbox.objects.order_by("created_at"))
    assert [e.operation_type for e in waiting] == ["create", "update"] and all(e.attempts >= 2 for e in waiting)
    assert "Audit records not sent" in caplog.text
    assert PASSWORD not in caplog.text and PASSWORD not in json.dumps(
        list(AuditOutbox.objects.values()), default=str)
    assert rows(clickhouse) == []

    settings.TARGET_CLICKHOUSE = reachable  # ClickHouse is back: the next beat run sends them
    assert audit_send_pending_task.apply().get() == "2 audit records sent"
    found = rows(clickhouse)
    assert [r["operation_type"] for r in found] == ["create", "update"]
    assert {r["id"] for r in found} == {e.pk for e in waiting}  # the outbox ids, so a retry can recognise them
    assert AuditOutbox.objects.count() == 0
    assert audit_send_pending_task.apply().get() == "0 audit records sent"
    assert len(rows(clickhouse)) == 2


def test_a_record_is_sent_exactly_once_even_after_an_interrupted_send(clickhouse):
    with transaction.atomic():
        audit_record(operation_type="query", table_name="stg_a", details={"action": "export"})
        audit_record(operation_type="query", table_name="stg_b", details={"action": "export"})
        # An earlier sender's INSERT reached ClickHouse but it died before deleting from the outbox.
        delivered = AuditOutbox.objects.get(table_name="stg_a")
        clickhouse.insert(TABLE, [[delivered.pk, "query", "stg_a", "{}", None, "", "", "", None,
                                   delivered.created_at, delivered.created_at]], COLUMNS)
    # The commit's own send skipped the delivered row and sent the other one.
    assert sorted(r["table_name"] for r in rows(clickhouse)) == ["stg_a", "stg_b"]
    assert AuditOutbox.objects.count() == 0
    assert audit_send_pending() == 0
    assert len(rows(clickhouse)) == 2


def test_the_task_name_is_pinned():
    # Beat stores the name (pipelines/schedules.py SYSTEM_TASKS): renaming the task orphans the row.
    assert audit_send_pending_task.name == "analytics.audit_send_pending"
