"""Alerts end to end: a real SMTP server and a real HTTP webhook receiver on localhost.

A failure that persists over three runs sends one alert per channel; the success after it sends one recovery.
"""

from __future__ import annotations

import json
import socketserver
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from pipelines import alerts
from pipelines.alerts import NotificationKind, alerts_check_stale, alerts_evaluate, stale_deadline
from pipelines.models import Alert, AlertCondition, AlertLevel, AlertStatus, AnalysisType, RunStatus
from staging.quarantine import QuarantinedRow
from tests.factories import AnalysisResultFactory, PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


# --- a minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) ---------------

class _SMTPHandler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
        self.wfile.flush()

    def handle(self) -> None:
        self._reply("220 localhost test SMTP")
        sender, recipients = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb == "EHLO":
                self._reply("250-localhost")
                self._reply("250 8BITMIME")
            elif verb == "HELO":
                self._reply("250 localhost")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.messages.append({"from": sender, "to": recipients,
                                             "message": message_from_bytes(b"".join(lines), policy=policy.default)})
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[dict] = []


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                     "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def smtp(settings):
    server = _serve(_SMTPServer())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.server_address
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "etl@localhost"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    server.requests = []
    _serve(server)
    host, port = server.server_address
    server.url = f"http://{host}:{port}/hooks/etl"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def lineage(monkeypatch):
    """data_lineage lives in ClickHouse; these tests give the lookup a fixed answer (tested on its own below)."""
    monkeypatch.setattr(alerts, "downstream_tables", lambda table: ["sales_by_region", "sales_monthly"])


@pytest.fixture
def channels(settings, smtp, webhook, lineage):
    settings.ETL_ALERT_EMAILS = ["ops@example.com"]
    settings.ETL_ALERT_WEBHOOK_URL = webhook.url
    settings.ETL_ALERT_RENOTIFY_HOURS = 24
    return smtp, webhook


def _failed(pipeline, message="Source unreachable: connection refused", **kwargs):
    return PipelineRunFactory(pipeline=pipeline, status=RunStatus.FAILED, error_message=message,
                              records_processed=0, **kwargs)


def test_persisting_failure_notifies_once_then_recovery_once(channels):
    smtp, webhook = channels
    pipeline = PipelineFactory(configuration={"target": {"table": "sales"}})

    sent = [alerts_evaluate(run=_failed(pipeline)) for _ in range(3)]

    assert [len(s) for s in sent] == [1, 0, 0]
    assert sent[0][0].kind == NotificationKind.OPENED
    assert sent[0][0].delivered == ["email", "webhook"]
    assert len(smtp.messages) == 1
    assert len(webhook.requests) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["ops@example.com"]
    assert pipeline.name in mail["message"]["Subject"]
    text = mail["message"].get_content()
    assert "connection refused" in text and "sales_by_region, sales_monthly" in text
    hook = webhook.requests[0]
    assert hook["path"] == "/hooks/etl" and hook["content_type"] == "application/json"
    assert hook["json"]["event"] == "opened" and hook["json"]["condition"] == "run_failed"
    assert hook["json"]["details"]["downstream_tables"] == ["sales_by_region", "sales_monthly"]
    alert = Alert.objects.get(pipeline=pipeline)
    assert alert.status == AlertStatus.OPEN and alert.occurrences == 3

    recovered = alerts_evaluate(run=PipelineRunFactory(pipeline=pipeline))

    assert [n.kind for n in recovered] == [NotificationKind.RECOVERED]
    assert len(smtp.messages) == 2 and len(webhook.requests) == 2
    assert "Recovered" in smtp.messages[1]["message"]["Subject"]
    assert webhook.requests[1]["json"]["event"] == "recovered"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None

    # Another success: nothing more. A new failure opens a new alert.
    assert alerts_evaluate(run=PipelineRunFactory(pipeline=pipeline)) == []
    assert len(alerts_evaluate(run=_failed(pipeline))) == 1
    assert Alert.objects.filter(pipeline=pipeline).count() == 2
    assert len(smtp.messages) == 3 and len(webhook.requests) == 3


def test_reminder_after_renotify_hours(channels, settings):
    smtp, webhook = channels
    pipeline = PipelineFactory()
    alerts_evaluate(run=_failed(pipeline))
    Alert.objects.update(last_notified_at=timezone.now() - timedelta(hours=25))

    assert [n.kind for n in alerts_evaluate(run=_failed(pipeline))] == [NotificationKind.REMINDER]
    assert alerts_evaluate(run=_failed(pipeline)) == []

    settings.ETL_ALERT_RENOTIFY_HOURS = 0
    Alert.objects.update(last_notified_at=timezone.now() - timedelta(days=30))
    assert alerts_evaluate(run=_failed(pipeline)) == []
    assert len(smtp.messages) == 2 and len(webhook.requests) == 2


def test_timeout_is_named_with_its_threshold(channels):
    smtp, _webhook = channels
    pipeline = PipelineFactory(timeout_seconds=600)
    [notification] = alerts_evaluate(run=_failed(
        pipeline, message="The run exceeded its timeout of 600 seconds.", duration_seconds=600.2))

    details = notification.alert.details
    assert details["timeout"] is True and details["threshold"] == 600
    assert "Threshold: 600" in notification.body


def test_quality_alert_with_rule_threshold_and_sample_rows(channels, clickhouse):
    smtp, webhook = channels
    pipeline = PipelineFactory()
    run = PipelineRunFactory(pipeline=pipeline, records_failed=7)
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.DATA_QUALITY, is_alert=True,
                          alert_level=AlertLevel.HIGH,
                          result_data={"rule": "completeness(amount)", "threshold": 0.95, "value": 0.81})
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.ANOMALY_DETECTION, is_alert=False)
    for n in range(7):
        QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table="stg_x", row_number=n + 1,
                                      column_name="amount", value=f"bad{n}", reason="not a number", rule="float")

    notifications = alerts_evaluate(run=run)

    assert [n.alert.condition for n in notifications] == [AlertCondition.QUALITY]
    body = notifications[0].body
    assert "completeness(amount)" in body and "0.95" in body and "0.81" in body
    samples = notifications[0].payload["details"]["samples"]
    assert len(samples) == 5 and samples[0] == {"row_number": 1, "column": "amount", "value": "bad0",
                                                "rule": "float", "reason": "not a number"}
    # The next run is clean: the quality alert recovers; anomaly was never open, so nothing about it.
    assert [(n.alert.condition, n.kind) for n in alerts_evaluate(run=PipelineRunFactory(pipeline=pipeline))] == [
        (AlertCondition.QUALITY, NotificationKind.RECOVERED)]
    assert len(smtp.messages) == 2 and len(webhook.requests) == 2


def test_failed_run_does_not_resolve_quality_alert(channels):
    pipeline = PipelineFactory()
    run = PipelineRunFactory(pipeline=pipeline)
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.SCHEMA_DRIFT, is_alert=True,
                          result_data={"added": [], "removed": ["region"], "retyped": {}, "summary": "removed"})
    assert [n.alert.condition for n in alerts_evaluate(run=run)] == [AlertCondition.SCHEMA_DRIFT]
    assert [n.alert.condition for n in alerts_evaluate(run=_failed(pipeline))] == [AlertCondition.RUN_FAILED]
    assert Alert.objects.filter(condition=AlertCondition.SCHEMA_DRIFT, status=AlertStatus.OPEN).count() == 1


def test_pipeline_configuration_overrides_recipients(settings, smtp, webhook, lineage):
    settings.ETL_ALERT_EMAILS = ["global@example.com"]
    settings.ETL_ALERT_WEBHOOK_URL = ""
    pipeline = PipelineFactory(configuration={"alerts": {"emails": ["team@example.com"],
                                                         "webhook_url": webhook.url}})
    [notification] = alerts_evaluate(run=_failed(pipeline))
    assert notification.delivered == ["email", "webhook"]
    assert smtp.messages[0]["to"] == ["team@example.com"]


def test_delivery_errors_are_logged_not_raised(settings, lineage, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    settings.ETL_ALERT_EMAILS = ["ops@example.com"]
    settings.ETL_ALERT_WEBHOOK_URL = "http://127.0.0.1:1/hook"
    [notification] = alerts_evaluate(run=_failed(PipelineFactory()))
    assert notification.delivered == [] and notification.failed == ["email", "webhook"]
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_no_channel_configured_still_records_the_alert(settings, lineage):
    settings.ETL_ALERT_EMAILS = []
    settings.ETL_ALERT_WEBHOOK_URL = ""
    [notification] = alerts_evaluate(run=_failed(PipelineFactory()))
    assert notification.delivered == [] and notification.failed == []


def test_cancelled_and_running_runs_change_nothing(channels):
    pipeline = PipelineFactory()
    assert alerts_evaluate(run=PipelineRunFactory(pipeline=pipeline, status=RunStatus.CANCELLED)) == []
    assert alerts_evaluate(run=PipelineRunFactory(pipeline=pipeline, status=RunStatus.RUNNING)) == []
    assert not Alert.objects.exists()


# --- no new data ----------------------------------------------------------------------------------------

def test_no_new_data_after_two_schedule_intervals(channels):
    smtp, webhook = channels
    now = timezone.now()
    stale = PipelineFactory(schedule_cron="0 * * * *")  # hourly
    PipelineRunFactory(pipeline=stale, finished_at=now - timedelta(hours=3), started_at=now - timedelta(hours=3))
    PipelineRunFactory(pipeline=stale, records_processed=0)  # ran, but nothing new
    fresh = PipelineFactory(schedule_cron="0 * * * *")
    PipelineRunFactory(pipeline=fresh, finished_at=now - timedelta(minutes=10))
    unscheduled = PipelineFactory(schedule_cron="")
    PipelineRunFactory(pipeline=unscheduled, finished_at=now - timedelta(days=30))

    sent = alerts_check_stale()

    assert [(n.alert.pipeline_id, n.alert.condition) for n in sent] == [(stale.pk, AlertCondition.NO_NEW_DATA)]
    assert alerts_check_stale() == []  # still stale: not re-sent
    assert len(smtp.messages) == 1 and len(webhook.requests) == 1
    assert "No new data" in smtp.messages[0]["message"]["Subject"]

    # An empty successful run does not recover it; a run that loads rows does.
    assert alerts_evaluate(run=PipelineRunFactory(pipeline=stale, records_processed=0)) == []
    [recovered] = alerts_evaluate(run=PipelineRunFactory(pipeline=stale, records_processed=10))
    assert (recovered.alert.condition, recovered.kind) == (AlertCondition.NO_NEW_DATA, NotificationKind.RECOVERED)
    assert alerts_check_stale() == []
    assert len(smtp.messages) == 2 and len(webhook.requests) == 2


def test_stale_deadline_from_cron_and_from_max_age(settings):
    settings.TIME_ZONE = "UTC"
    last = timezone.now().replace(year=2026, month=3, day=10, hour=2, minute=30, second=0, microsecond=0)
    daily = PipelineFactory(schedule_cron="0 2 * * *")
    assert stale_deadline(daily, last) == last.replace(day=12, hour=2, minute=0)
    configured = PipelineFactory(schedule_cron="0 2 * * *", configuration={"alerts": {"max_age_hours": 6}})
    assert stale_deadline(configured, last) == last + timedelta(hours=6)
    assert stale_deadline(PipelineFactory(schedule_cron=""), last) is None


# --- downstream tables from data_lineage ------------------------------------------------------------------

def test_downstream_tables_unavailable_is_empty(monkeypatch):
    def broken():
        raise RuntimeError("no ClickHouse")

    monkeypatch.setattr("analytics.queries.lineage.get_target", broken)
    assert alerts.downstream_tables("sales") == []


@pytest.mark.clickhouse
def test_downstream_tables_follow_lineage(clickhouse):
    from analytics.lineage import lineage_record

    rows = [
        {"source_table": "stg_1", "source_column": "a", "target_table": "sales", "target_column": "a",
         "transformation_type": "load", "transformation_logic": "copy"},
        {"source_table": "sales", "source_column": "a", "target_table": "sales_by_region", "target_column": "a",
         "transformation_type": "aggregate", "transformation_logic": "sum"},
        {"source_table": "sales_by_region", "source_column": "a", "target_table": "region_report",
         "target_column": "a", "transformation_type": "aggregate", "transformation_logic": "sum"},
    ]
    lineage_record(target=clickhouse, run_id=1, rows=rows, record_count=1)
    assert alerts.downstream_tables("sales") == ["sales_by_region", "region_report"]
