"""/health/: each database, the broker, and whether a Celery worker answers; 503 while runs wait for none."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etlsite.celery import app as celery_app
from pipelines.models import RunStatus
from tests.factories import PipelineRunFactory

ROOT = Path(__file__).resolve().parents[2]
DATABASES = {"default": "ok", "staging": "ok", "clickhouse": "ok"}


@pytest.fixture
def live_worker(settings, tmp_path):
    """A real Celery worker on the suite's broker (it answers pings; it is sent no task)."""
    log = tmp_path / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "etlsite", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--hostname", f"health-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5, limit=1):
            assert process.poll() is None, f"the worker exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the worker did not answer: {log.read_text()[-3000:]}"
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.mark.django_db(databases=["default", "staging"])
def test_everything_answers_with_a_live_worker_even_while_runs_wait(client, clickhouse, live_worker):
    PipelineRunFactory(status=RunStatus.PENDING)
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body.pop("worker_seen_at")  # the ping's answer, recorded as a heartbeat
    assert body == {"status": "ok", "checks": {**DATABASES, "broker": "ok", "worker": "ok"},
                    "pending_runs": 1, "reasons": []}


@pytest.mark.django_db(databases=["default", "staging"])
def test_runs_waiting_with_no_worker_is_not_ok(client, clickhouse, settings):
    settings.ETL_HEALTH_WORKER_TIMEOUT = 0.3
    PipelineRunFactory.create_batch(2, status=RunStatus.PENDING)
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {**DATABASES, "broker": "ok", "worker": "unavailable"}
    assert body["reasons"] == ["2 runs are waiting and no Celery worker answered."]
    assert body["worker_seen_at"] is None


@pytest.mark.django_db(databases=["default", "staging"])
def test_no_worker_and_nothing_waiting_is_reported_but_ok(client, clickhouse, settings):
    settings.ETL_HEALTH_WORKER_TIMEOUT = 0.3
    PipelineRunFactory(status=RunStatus.SUCCESS)
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["checks"]["worker"], body["pending_runs"]) == ("ok", "unavailable", 0)
    assert body["reasons"] == ["No Celery worker answered: runs will wait until one starts."]


@pytest.mark.django_db(databases=["default", "staging"])
def test_reasons_are_translated(client, clickhouse, settings):
    settings.ETL_HEALTH_WORKER_TIMEOUT = 0.3
    PipelineRunFactory(status=RunStatus.PENDING)
    response = client.get("/health/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["1 запуск ожидает, а ни один исполнитель Celery не ответил."]


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_broker_that_does_not_answer(client, clickhouse, settings, tmp_path, monkeypatch):
    settings.ETL_HEALTH_WORKER_TIMEOUT = 0.3
    url = f"redis+socket://{tmp_path}/nobody.sock"
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery prefers the variable to its configuration
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    monkeypatch.setattr(celery_app, "_pool", None)
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert (body["checks"]["broker"], body["checks"]["worker"]) == ("unavailable", "unavailable")
    assert "The Celery broker does not answer." in body["reasons"]
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db(databases=["default", "staging"])
def test_health_names_the_database_that_is_down_without_details(client, clickhouse, settings):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": "missing_db"}
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["clickhouse"] == "unavailable"
    assert "The ClickHouse database does not answer." in body["reasons"]
    assert "missing_db" not in response.content.decode()


@pytest.mark.django_db
def test_root_sends_anonymous_people_to_the_admin_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
