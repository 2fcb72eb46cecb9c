"""Load: two Celery worker processes on the Redis broker, fifty uploads at once through the API, twenty of
them starting a run (over four pipelines, so runs of one pipeline queue behind each other).

Set up as tests/pipelines/test_worker_redis.py (its fixtures: pytest-django's test databases and the test's
ClickHouse target through a settings module, this test's own Redis database). Ten API clients (five users,
under the upload throttle) send the fifty files from threads released together. Then, within a bounded
wait: every run ended, all succeeded, both workers took part, and ClickHouse holds each run's file rows
exactly once (count and distinct row numbers per run): zero rows lost, zero duplicated, no deadlock.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines.models import PipelineRun, RunStatus
from pipelines.targets import target_table_name
from pipelines.tasks import run_pipeline_task
from staging.models import FileMetadata
from tests.api.conftest import client_for, make_user
from tests.factories import DataSourceFactory, PipelineFactory
from tests.pipelines import test_worker_redis
from tests.pipelines.test_worker_redis import _start, _stop, _tails, _wait_ready
from tests.reliability.test_faults_runs import _at_once

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

UPLOADS, RUNS, PIPELINES, CLIENTS = 50, 20, 4, 10
WAIT_SECONDS = 600
FINISHED = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)
# test_worker_redis's fixtures (the workers' environment, a flushed Redis database), on a Redis database of
# this test's own: two suites sharing one would consume each other's tasks.
REDIS_DB = 12
redis_broker, worker_env = test_worker_redis.redis_broker, test_worker_redis.worker_env


@pytest.fixture(autouse=True)
def _own_redis_database(monkeypatch):
    monkeypatch.setattr(test_worker_redis, "REDIS_DB", REDIS_DB)


def _csv(index: int) -> tuple[bytes, int]:
    rows = 30 + 7 * index  # every file a different size: a run loading another's file would show
    body = "order_id,date,amount\n" + "".join(f"{n},2024-02-{n % 28 + 1:02d},{n * 2.5 + index}\n"
                                             for n in range(1, rows + 1))
    return body.encode(), rows


def _pipelines(tmp_path) -> list:
    made = []
    for i in range(PIPELINES):
        default = tmp_path / f"default_{i}.csv"
        default.write_bytes(_csv(0)[0])
        source = DataSourceFactory(connection_config={"file_path": str(default), "delimiter": ",",
                                                      "encoding": "utf-8"})
        made.append(PipelineFactory(
            name=f"Load orders {i}", data_source=source, max_retries=0, timeout_seconds=600,
            configuration={"validation_rules": {"required_columns": ["order_id", "date", "amount"],
                                                "data_types": {"order_id": "integer", "date": "date",
                                                               "amount": "float"}}}))
    return made


def test_two_workers_fifty_uploads_twenty_runs_nothing_lost_or_duplicated(clickhouse, request, tmp_path, settings,
                                                                          monkeypatch):
    env = request.getfixturevalue("worker_env")
    settings.MEDIA_ROOT = tmp_path / "media"
    # The producer publishing to Redis is not thread-safe; the API's threads take turns on it.
    publish, lock = run_pipeline_task.apply_async, threading.Lock()

    def apply_async(*args, **kwargs):
        with lock:
            return publish(*args, **kwargs)

    monkeypatch.setattr(run_pipeline_task, "apply_async", apply_async)
    pipelines = _pipelines(tmp_path)
    users = [make_user(f"loader{i}", superuser=True) for i in range(CLIENTS // 2)]
    clients = [client_for(users[i % len(users)]) for i in range(CLIENTS)]

    logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2")}
    workers = {}
    try:
        for name, log in logs.items():
            workers[name] = _start(["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=1",
                                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                                    "--hostname", f"{name}-{os.getpid()}@%h"], env, log)
        _wait_ready(workers, logs)

        def send(client_index: int) -> list[tuple[int, int | None]]:
            sent = []
            for index in range(client_index, UPLOADS, CLIENTS):
                content, rows = _csv(index)
                data = {"file": SimpleUploadedFile(f"orders_{index}.csv", content)}
                if index < RUNS:
                    data["pipeline"] = pipelines[index % PIPELINES].pk
                response = clients[client_index].post("/api/v1/files/", data, format="multipart")
                assert response.status_code == 201, response.content
                run = response.json()["run"]
                sent.append((rows, run["id"] if run else None))
            return sent

        results = _at_once(*[lambda i=i: send(i) for i in range(CLIENTS)])
        expected = {run_id: rows for batch in results for rows, run_id in batch if run_id}
        assert len(expected) == RUNS and sum(len(batch) for batch in results) == UPLOADS

        deadline = time.monotonic() + WAIT_SECONDS
        while PipelineRun.objects.filter(pk__in=expected).exclude(status__in=FINISHED).exists():
            for name, process in workers.items():
                if process.poll() is not None:
                    pytest.fail(f"worker {name} exited ({process.returncode}){_tails(logs)}")
            if time.monotonic() > deadline:
                left = list(PipelineRun.objects.filter(pk__in=expected).exclude(status__in=FINISHED)
                            .values("pk", "status"))
                pytest.fail(f"deadlock or stall: runs unfinished after {WAIT_SECONDS} s: {left}{_tails(logs)}")
            time.sleep(0.5)
    finally:
        for process in workers.values():
            _stop(process)

    assert FileMetadata.objects.count() == UPLOADS
    finished = {run.pk: run for run in PipelineRun.objects.filter(pk__in=expected)}
    failed = {pk: run.error_message for pk, run in finished.items() if run.status != RunStatus.SUCCESS}
    assert not failed, f"{failed}{_tails(logs)}"
    shares = Counter(run.execution_context["worker"].split("-", 1)[0] for run in finished.values())
    assert set(shares) == set(logs), f"one worker executed every run: {shares}"

    loaded = {}
    for pipeline in pipelines:
        table = target_table_name(pipeline)
        rows = clickhouse.query(f"SELECT {RUN_ID_COLUMN}, count(), uniqExact({ROW_NUMBER_COLUMN}) FROM `{table}` "
                                f"GROUP BY {RUN_ID_COLUMN}").result_rows
        for run_id, count, distinct in rows:
            assert count == distinct, f"run {run_id}: {count} rows, {distinct} distinct"
            loaded[run_id] = count
    assert loaded == expected  # zero lost, zero duplicated, no run loaded another's file
    assert sum(loaded.values()) == sum(expected.values())
    assert not clickhouse.query("SELECT name FROM system.tables WHERE database = {db:String} "
                                "AND startsWith(name, '_load_')", {"db": clickhouse.database}).result_rows
