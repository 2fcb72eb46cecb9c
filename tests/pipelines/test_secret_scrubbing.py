"""A secret a remote API echoes back never lands in what a run leaves behind (issue 12, medium).

A real HTTP server on 127.0.0.1 answers every request with the request's headers: in the body of a 400, or
in the reason phrase of a 500 (which the connector quotes as it is). The source sends a bearer token, a
Basic credential, a cookie and a subscription key; whichever way they come back, the run's error message
and execution context, its processing_logs rows, the alert (stored details, e-mail) and the output of
`run_pipeline --sync` hold none of them, nor their URL-encoded or base64 forms.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from pipelines.alerts import alerts_evaluate
from pipelines.models import Alert, PipelineRun, RunStatus
from pipelines.services import run_claim, run_create, run_fail
from sources.secrets import PLACEHOLDER
from staging.models import ProcessingLog
from staging.services import processing_log_finish, processing_log_start
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

TOKEN = "Bearer-Tk4f5e6d7c8b"
COOKIE = "sid=Ck1a2b3c4d5e"
SUBSCRIPTION = "Sub9e8d7c6b5a4f"
PASSWORD = "Basic-Pw3c4d5e6f"


class Echo(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        headers = " ".join(f"{name}={value}" for name, value in self.headers.items())
        if self.path.startswith("/reason"):
            self.send_response(500, f"Server error for {headers}")  # the reason phrase echoes them
            body = b"{}"
        else:
            self.send_response(400)
            # The custom headers come last in a request: echoed first, within the part a message quotes.
            body = json.dumps({"received": dict(reversed(self.headers.items()))}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo(settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ETL_ALERT_EMAILS = ["ops@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _secrets(auth: dict) -> list[str]:
    found = [TOKEN, COOKIE, SUBSCRIPTION, PASSWORD]
    if auth["type"] == "basic":
        found.append(base64.b64encode(f"etl:{PASSWORD}".encode()).decode())
    return found


def _pipeline(url: str, auth: dict):
    source = DataSourceFactory(source_type="api", connection_config={
        "url": url, "auth": auth, "retries": 0,
        "headers": {"Cookie": COOKIE, "Ocp-Apim-Subscription-Key": SUBSCRIPTION}})
    return PipelineFactory(data_source=source, configuration={}, max_retries=0)


def _everything_left(run: PipelineRun) -> str:
    logs = ProcessingLog.objects.filter(pipeline_run_id=run.pk)
    alerts = Alert.objects.filter(pipeline=run.pipeline)
    return json.dumps({
        "error": run.error_message, "context": run.execution_context,
        "logs": [[log.error_message, log.execution_context] for log in logs],
        "alerts": [alert.details for alert in alerts],
        "mail": [message.subject + message.body for message in mail.outbox],
    }, default=str)


AUTHS = [{"type": "bearer", "token": TOKEN}, {"type": "basic", "username": "etl", "password": PASSWORD}]


@pytest.mark.parametrize("clickhouse", ["embedded"], indirect=True)
@pytest.mark.parametrize("path", ["/body", "/reason"])
@pytest.mark.parametrize("auth", AUTHS, ids=["bearer", "basic"])
def test_echoed_secrets_are_scrubbed_from_the_run_logs_and_alerts(clickhouse, echo, path, auth):
    from pipelines.engine.runner import run_execute

    pipeline = _pipeline(echo + path, auth)
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run, batch_rows=100)
    assert run.status == RunStatus.FAILED
    assert "HTTP 400" in run.error_message or "HTTP 500" in run.error_message
    assert PLACEHOLDER in run.error_message  # the echo was there, and was scrubbed
    alerts_evaluate(run=run)
    assert mail.outbox and ProcessingLog.objects.filter(pipeline_run_id=run.pk).exists()
    left = _everything_left(run)
    assert [secret for secret in _secrets(auth) if secret in left] == []


@pytest.mark.parametrize("clickhouse", ["embedded"], indirect=True)
def test_the_command_output_is_scrubbed(clickhouse, echo):
    pipeline = _pipeline(echo + "/reason", AUTHS[0])
    with pytest.raises(CommandError) as caught:
        call_command("run_pipeline", pipeline.name, "--sync", stdout=open("/dev/null", "w"))
    assert "HTTP 500" in str(caught.value)
    assert [secret for secret in _secrets(AUTHS[0]) if secret in str(caught.value)] == []


def test_every_message_written_about_a_run_is_scrubbed_whatever_wrote_it():
    pipeline = _pipeline("https://api.example.com/orders", AUTHS[0])
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    quoted = "%3D".join(COOKIE.split("="))  # the cookie URL-encoded
    log = processing_log_start(table_name="stg_x", operation_type="load", pipeline_run_id=run.pk,
                               context={"note": f"sent {SUBSCRIPTION}"})
    processing_log_finish(log, status="failed", records_processed=0, records_success=0, records_failed=0,
                          error_message=f"a driver said {TOKEN} and {quoted}")
    run = run_fail(run=run, error_message=f"failed with {COOKIE}", context={"detail": [f"x {SUBSCRIPTION} y"]})
    log.refresh_from_db()
    left = json.dumps([run.error_message, run.execution_context, log.error_message, log.execution_context])
    assert [secret for secret in (TOKEN, COOKIE, SUBSCRIPTION, quoted) if secret in left] == []
    assert left.count(PLACEHOLDER) == 5
