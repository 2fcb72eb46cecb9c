"""The application as `make run` runs it, on the embedded stack: web (gunicorn), two Celery workers and beat as
real processes, on the suite's PostgreSQL and a Valkey broker database of the test's own, the ClickHouse target
served over HTTP by another process.

Twenty runs are started through the web in a row, as a user would, each POST /api/v1/runs/ over HTTP: sixteen
uploads of a CSV file (three of them lacking a column the pipeline requires: they fail, and are not retried),
and four runs of an API source whose server refuses connections (a transient failure: each is retried once,
one second later, then fails). Every run ends (success or failed; none left pending or running), the retried
ones after their retry; no worker died; no log shows a lock error ("database is locked", a deadlock) or a
broker error; /health/ answers 200 with every check ok.

(The processes were set up as tests/pipelines/test_worker_beat.py's: a settings module written for the test
points them at pytest-django's test databases and the test's ClickHouse target.)
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from pipelines.models import PipelineRun, RunStatus
from tests.api.conftest import make_user
from tests.factories import DataSourceFactory, PipelineFactory
from tests.pipelines.test_worker_beat import ROOT, _settings_module, _start, _stop
from tests.support.broker import own_broker

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

BROKER_DB = 4
UPLOADS, BAD_UPLOADS, API_RUNS = 16, 3, 4
WAIT_SECONDS = 300
FINISHED = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)
TROUBLE = re.compile(r"database is locked|deadlock detected|Unrecoverable error|WorkerLostError|"
                     r"consumer: Cannot connect|Traceback", re.I)
RULES = {"validation_rules": {"required_columns": ["order_id", "date", "amount"],
                              "data_types": {"order_id": "integer", "date": "date", "amount": "float"}}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker(monkeypatch):
    for url, _client in own_broker(monkeypatch, BROKER_DB):
        yield url


@pytest.fixture
def env(tmp_path, clickhouse, settings, broker) -> dict:
    base = _settings_module(tmp_path, settings.TARGET_CLICKHOUSE)
    (tmp_path / "stack_test_settings.py").write_text(
        f"from {base} import *  # noqa: F403\n"
        "ETL_RETRY_BACKOFF_SECONDS = 1\nETL_RETRY_BACKOFF_MAX_SECONDS = 1\n"
        "ETL_ALLOWED_NETWORKS = ['127.0.0.1/32']\n")
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "stack_test_settings",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "ETL_VAR_DIR": str(tmp_path / "var"),
            "CELERY_BROKER_URL": broker, "CELERY_TASK_ALWAYS_EAGER": "false",
            "ETL_ENV_FILE": str(tmp_path / "no.env")}


def _web(env: dict, port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "gunicorn", "etlsite.wsgi:application", "--bind",
                                 f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _tails(logs: dict) -> str:
    return "".join(f"\n--- {name} ---\n{log.read_text(errors='replace')[-4000:]}" for name, log in logs.items()
                   if log.exists())


def _alive(processes: dict, logs: dict) -> None:
    for name, process in processes.items():
        if process.poll() is not None:
            pytest.fail(f"{name} exited ({process.returncode}){_tails(logs)}")


def _csv(index: int, bad: bool) -> bytes:
    """Orders; a bad file lacks the required amount column, which fails its run for good."""
    if bad:
        return ("order_id,date\n" + "".join(f"{n},2024-03-01\n" for n in range(1, 31))).encode()
    rows = "".join(f"{n},2024-03-{n % 28 + 1:02d},{n * 1.5}\n" for n in range(1, 31 + index))
    return ("order_id,date,amount\n" + rows).encode()


@pytest.mark.parametrize("clickhouse", ["http"], indirect=True)
def test_web_two_workers_and_beat_end_every_run_of_twenty_in_a_row(clickhouse, env, tmp_path):
    upload_source = DataSourceFactory(connection_config={"file_path": str(tmp_path / "unused.csv"),
                                                         "delimiter": ",", "encoding": "utf-8"})
    uploads = PipelineFactory(name="Uploads", data_source=upload_source, max_retries=1, timeout_seconds=120,
                              configuration=RULES)
    dead_api = DataSourceFactory(source_type="api", connection_config={
        "url": f"http://127.0.0.1:{_free_port()}/orders", "retries": 0, "timeout_seconds": 5})
    api = PipelineFactory(name="Dead API", data_source=dead_api, max_retries=1, timeout_seconds=120,
                          configuration={})
    token = Token.objects.create(user=make_user("operator", superuser=True))

    port = _free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "w1", "w2", "beat")}
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["web"] = _web(env, port, logs["web"])
        for name in ("w1", "w2"):
            processes[name] = _start(["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=1",
                                      "--hostname", f"{name}-{os.getpid()}@%h"], env, logs[name])
        processes["beat"] = _start(["beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule"),
                                    "--pidfile", str(tmp_path / "beat.pid")], env, logs["beat"])
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token.key}"
        deadline = time.monotonic() + 120
        while True:  # web up, and both workers answer /health/'s ping
            _alive(processes, logs)
            try:
                if session.get(f"{base}/health/", timeout=10).status_code == 200 and all(
                        re.search(r"\bready\.", logs[name].read_text(errors="replace")) for name in ("w1", "w2")):
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"the stack did not come up{_tails(logs)}"
            time.sleep(0.5)

        expected = {}
        for index in range(UPLOADS + API_RUNS):
            if index < UPLOADS:
                bad = index % 5 == 4 and sum(1 for v in expected.values() if v == "bad") < BAD_UPLOADS
                response = session.post(f"{base}/api/v1/runs/", data={"pipeline": uploads.pk},
                                        files={"file": (f"orders_{index}.csv", _csv(index, bad), "text/csv")},
                                        timeout=60)
                kind = "bad" if bad else "good"
            else:
                response = session.post(f"{base}/api/v1/runs/", json={"pipeline": api.pk}, timeout=60)
                kind = "transient"
            assert response.status_code == 201, f"{response.status_code} {response.text}{_tails(logs)}"
            expected[response.json()["id"]] = kind
        assert list(expected.values()).count("bad") == BAD_UPLOADS

        deadline = time.monotonic() + WAIT_SECONDS
        while PipelineRun.objects.filter(pk__in=expected).exclude(status__in=FINISHED).exists():
            _alive(processes, logs)
            if time.monotonic() > deadline:
                left = list(PipelineRun.objects.filter(pk__in=expected).exclude(status__in=FINISHED)
                            .values("pk", "status", "retry_count"))
                pytest.fail(f"runs stuck after {WAIT_SECONDS} s: {left}{_tails(logs)}")
            time.sleep(0.5)
        _alive(processes, logs)
        health = session.get(f"{base}/health/", timeout=10)
    finally:
        for process in processes.values():
            _stop(process)

    runs = {run.pk: run for run in PipelineRun.objects.filter(pk__in=expected)}
    for pk, kind in expected.items():
        run = runs[pk]
        if kind == "good":
            assert run.status == RunStatus.SUCCESS, f"run {pk}: {run.error_message}{_tails(logs)}"
        elif kind == "bad":
            assert (run.status, run.retry_count) == (RunStatus.FAILED, 0), f"run {pk}: {run.error_message}"
        else:
            assert (run.status, run.retry_count) == (RunStatus.FAILED, 1), f"run {pk}: {run.error_message}"
            assert "connection refused" in run.error_message.lower()
    workers = {run.execution_context.get("worker", "").split("-", 1)[0] for run in runs.values()}
    assert workers == {"w1", "w2"}, f"both workers take runs: {workers}"
    for name, log in logs.items():
        trouble = TROUBLE.findall(log.read_text(errors="replace"))
        assert not trouble, f"{name}: {trouble}{_tails(logs)}"
    assert health.status_code == 200, health.text
    assert health.json()["checks"] == {"default": "ok", "staging": "ok", "clickhouse": "ok", "broker": "ok",
                                       "worker": "ok"}
