"""Several workers on one Redis broker share the runs of many pipelines; every run executes exactly once.

Two real `celery -A etlsite worker` processes (set up as in test_worker_beat: pytest-django's test databases
and the test's ClickHouse target, through a settings module written for the test) consume the `celery`
queue of the suite's broker (the embedded Valkey, or the Redis server CELERY_BROKER_URL names), database
REDIS_DB, which this test owns and flushes. The test
process publishes the runs there itself (run_enqueue through a producer of its own), 6 pipelines x 2 runs
over small CSV files. Two runs of one pipeline never execute together (run_claim): the second waits and is
sent again, possibly to the other worker.

Then: every run succeeded, exactly one worker executed each (the worker named in execution_context["worker"]
logged its success, no other worker did), both workers took part, and ClickHouse holds each file's rows
once per run — nothing lost, nothing doubled.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines.models import PipelineRun, RunStatus
from pipelines.services import run_claim, run_create, run_enqueue
from pipelines.targets import target_table_name
from tests.factories import DataSourceFactory, PipelineFactory
from tests.pipelines.test_worker_beat import ROOT, _settings_module, _start, _stop
from tests.support.broker import own_broker

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

REDIS_DB = 13  # this test's own database on the suite's broker; flushed before and after
PIPELINES, RUNS_PER_PIPELINE = 6, 2
WAIT_SECONDS = 600  # generous: the machine may be loaded by other work
FINISHED = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)


def test_a_claim_records_the_worker():
    run = run_create(pipeline=PipelineFactory(), triggered_by="test")
    assert run_claim(run=run, worker="w1@host")
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert run.execution_context["worker"] == "w1@host" and run.execution_context["step"] == "pending"


@pytest.fixture
def redis_broker(monkeypatch):
    """This test's Redis database, empty; the runs this process enqueues are published there. Yields its URL
    and a client."""
    yield from own_broker(monkeypatch, REDIS_DB)


@pytest.fixture
def worker_env(tmp_path, clickhouse, settings, redis_broker) -> dict:
    base = _settings_module(tmp_path, settings.TARGET_CLICKHOUSE)
    # A run refused because another run of its pipeline executes is sent again after ~1-2 heartbeats.
    (tmp_path / "redis_test_settings.py").write_text(f"from {base} import *  # noqa: F403\n"
                                                     "ETL_HEARTBEAT_SECONDS = 2\n")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "redis_test_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "ETL_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": redis_broker[0],
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ETL_ENV_FILE": str(tmp_path / "no.env"),
    }


def _pipelines(tmp_path: Path) -> list[tuple]:
    """(pipeline, rows in its file): files of different sizes, so a run loading another's file shows."""
    made = []
    for i in range(PIPELINES):
        rows = 40 + 13 * i
        path = tmp_path / f"orders_{i}.csv"
        path.write_text("order_id,date,amount\n" + "".join(
            f"{n},2024-01-{n % 28 + 1:02d},{n * 1.5 + i}\n" for n in range(1, rows + 1)))
        source = DataSourceFactory(connection_config={"file_path": str(path), "delimiter": ",",
                                                      "encoding": "utf-8"})
        pipeline = PipelineFactory(
            name=f"Redis orders {i}", data_source=source, max_retries=0, timeout_seconds=300,
            configuration={"validation_rules": {"required_columns": ["order_id", "date", "amount"],
                                                "data_types": {"order_id": "integer", "date": "date",
                                                               "amount": "float"}}})
        made.append((pipeline, rows))
    return made


def _wait_ready(workers: dict, logs: dict) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not all(re.search(r"\bready\.", logs[name].read_text(errors="replace")) for name in workers):
        for name, process in workers.items():
            if process.poll() is not None:
                pytest.fail(f"worker {name} exited ({process.returncode}){_tails(logs)}")
        if time.monotonic() > deadline:
            pytest.fail(f"the workers did not start within {WAIT_SECONDS} s{_tails(logs)}")
        time.sleep(0.5)


def _successes(logs: dict) -> dict[str, Counter]:
    """worker -> Counter of run ids whose task returned "run N: success" there."""
    return {name: Counter(int(n) for n in re.findall(r"'run (\d+): success'", log.read_text(errors="replace")))
            for name, log in logs.items()}


def _tails(logs: dict) -> str:
    return "".join(f"\n--- {name} ---\n{log.read_text(errors='replace')[-5000:]}" for name, log in logs.items()
                   if log.exists())


def test_two_workers_on_redis_share_the_runs_of_many_pipelines_each_run_once(clickhouse, worker_env, tmp_path):
    pipelines = _pipelines(tmp_path)
    logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2")}
    workers = {}
    try:
        for name, log in logs.items():
            workers[name] = _start(["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=1",
                                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                                    "--hostname", f"{name}-{os.getpid()}@%h"], worker_env, log)
        _wait_ready(workers, logs)
        runs = {run.pk: rows for pipeline, rows in pipelines for _ in range(RUNS_PER_PIPELINE)
                # load_again: each pipeline's two runs read the same file, and both are to load it.
                for run in [run_enqueue(pipeline=pipeline, triggered_by="test",
                                        execution_context={"load_again": True})]}
        deadline = time.monotonic() + WAIT_SECONDS
        while PipelineRun.objects.filter(pk__in=runs).exclude(status__in=FINISHED).exists():
            for name, process in workers.items():
                if process.poll() is not None:
                    pytest.fail(f"worker {name} exited ({process.returncode}){_tails(logs)}")
            if time.monotonic() > deadline:
                left = list(PipelineRun.objects.filter(pk__in=runs).exclude(status__in=FINISHED)
                            .values("pk", "status", "execution_context"))
                pytest.fail(f"runs unfinished after {WAIT_SECONDS} s: {left}{_tails(logs)}")
            time.sleep(0.5)
        # A run's row says success before its task returns (alerts come after): let the tasks end before
        # stopping the workers, or a task cut short would be missing from the logs.
        while sum(sum(_successes(logs)[name].values()) for name in logs) < len(runs):
            if time.monotonic() > deadline:
                pytest.fail(f"the tasks did not report all runs within {WAIT_SECONDS} s{_tails(logs)}")
            time.sleep(0.5)
    finally:
        for process in workers.values():
            _stop(process)

    finished = {run.pk: run for run in PipelineRun.objects.filter(pk__in=runs).select_related("pipeline")}
    failed = {pk: run.error_message for pk, run in finished.items() if run.status != RunStatus.SUCCESS}
    assert not failed, f"{failed}{_tails(logs)}"

    # Exactly one worker executed each run: the one it names, and no other logged its success.
    successes = _successes(logs)
    for pk, run in finished.items():
        worker = run.execution_context["worker"]
        name = worker.split("-", 1)[0]
        assert worker.startswith(f"{name}-{os.getpid()}@") and name in logs, worker
        assert [successes[n][pk] for n in sorted(logs)] == [int(n == name) for n in sorted(logs)], (pk, successes)
        assert (run.records_processed, run.records_failed) == (runs[pk], 0)
    shares = Counter(run.execution_context["worker"].split("-", 1)[0] for run in finished.values())
    assert set(shares) == set(logs), f"one worker executed every run: {shares}"
    # Two runs of one pipeline never executed at the same time, whichever workers took them.
    for pipeline, _ in pipelines:
        first, second = sorted((r for r in finished.values() if r.pipeline_id == pipeline.pk),
                               key=lambda r: r.started_at)
        assert first.finished_at <= second.started_at, (first.pk, second.pk)

    # ClickHouse holds each file's rows once per run: nothing lost, nothing duplicated.
    for pipeline, rows in pipelines:
        table = target_table_name(pipeline)
        per_run = dict(clickhouse.query(
            f"SELECT {RUN_ID_COLUMN}, count() FROM `{table}` GROUP BY {RUN_ID_COLUMN}").result_rows)
        expected = {pk: rows for pk, run in finished.items() if run.pipeline_id == pipeline.pk}
        assert per_run == expected, table
        distinct = clickhouse.command(f"SELECT count() FROM (SELECT DISTINCT {RUN_ID_COLUMN}, {ROW_NUMBER_COLUMN} "
                                      f"FROM `{table}`)")
        assert int(distinct) == rows * RUNS_PER_PIPELINE
    assert not clickhouse.query("SELECT name FROM system.tables WHERE database = {db:String} "
                                "AND startsWith(name, '_load_')", {"db": clickhouse.database}).result_rows
