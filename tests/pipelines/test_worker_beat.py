"""End to end off the request path: django-celery-beat fires a pipeline's schedule_cron and a real Celery
worker process runs it to success.

The subprocesses (`celery -A etlsite beat` and `celery -A etlsite worker`) must use the databases this test
uses, not the development ones. They get a settings module written for this test: etlsite.settings with
DATABASES[*] pointed where this process's connections are (pytest-django has switched them to the test
databases test_<name>, on the embedded PostgreSQL or a server) and TARGET_CLICKHOUSE replaced by the test's
ClickHouse target. The broker is a Redis database of the test's own on the suite's broker (the embedded
Valkey, or the Redis server CELERY_BROKER_URL names), emptied, so nothing is shared with other tests or a
development worker.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections
from django_celery_beat.models import PeriodicTask

from pipelines.models import PipelineRun, RunStatus
from tests.factories import DataSourceFactory, PipelineFactory
from tests.support.broker import own_broker

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 150

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


BROKER_DB = 1


def _settings_module(directory: Path, target: dict) -> str:
    keys = ("NAME", "HOST", "PORT", "USER", "PASSWORD")
    where = {alias: {key: connections[alias].settings_dict[key] for key in keys} for alias in ("default", "staging")}
    (directory / "worker_test_settings.py").write_text(
        "from etlsite.settings import *  # noqa: F403\n"
        f"for _alias, _where in {where!r}.items():\n"
        "    DATABASES[_alias].update(_where)  # noqa: F405\n"
        f"TARGET_CLICKHOUSE = {dict(target)!r}\n"
    )
    return "worker_test_settings"


@pytest.fixture
def beat_broker(monkeypatch):
    yield from own_broker(monkeypatch, BROKER_DB)


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "etlsite", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """Stop the process group this test started (the worker's pool children with it)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def test_a_scheduled_run_fires_from_beat_and_completes_on_a_real_worker(clickhouse, settings, tmp_path, beat_broker):
    csv_path = tmp_path / "orders.csv"
    csv_path.write_text("order_id,date,amount\n1,2024-01-01,10.5\n2,2024-01-02,20\n3,2024-01-03,30.25\n")
    source = DataSourceFactory(connection_config={"file_path": str(csv_path), "delimiter": ",",
                                                  "encoding": "utf-8"})
    pipeline = PipelineFactory(
        name="Beat orders", data_source=source, schedule_cron="* * * * *", max_retries=0, timeout_seconds=120,
        configuration={"validation_rules": {"required_columns": ["order_id", "date", "amount"],
                                            "data_types": {"order_id": "integer", "date": "date",
                                                           "amount": "float"}}})
    assert PeriodicTask.objects.get(name=f"pipeline:{pipeline.pk}").enabled  # synced by the save

    var = tmp_path / "var"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": _settings_module(tmp_path, settings.TARGET_CLICKHOUSE),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "ETL_VAR_DIR": str(var),
        "CELERY_BROKER_URL": beat_broker[0],
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ETL_ENV_FILE": str(tmp_path / "no.env"),
    }
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    processes = []
    try:
        processes.append(_start(["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=1",
                                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                                 "--hostname", f"test-{os.getpid()}@%h"], env, worker_log))
        processes.append(_start(["beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule"),
                                 "--pidfile", str(tmp_path / "beat.pid")], env, beat_log))
        deadline = time.monotonic() + WAIT_SECONDS
        run = None
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), "a Celery process exited"
            run = PipelineRun.objects.filter(pipeline=pipeline).order_by("pk").first()
            if run and run.status in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED):
                break
            time.sleep(1)
    finally:
        for process in processes:
            _stop(process)
    logs = f"\n--- beat ---\n{beat_log.read_text()[-4000:]}\n--- worker ---\n{worker_log.read_text()[-8000:]}"
    assert run is not None, f"beat did not fire within {WAIT_SECONDS} s{logs}"
    assert run.status == RunStatus.SUCCESS, f"{run.status}: {run.error_message}{logs}"
    assert run.triggered_by == "scheduler"
    assert (run.records_processed, run.records_failed) == (3, 0)
    assert run.finished_at and run.duration_seconds is not None
    assert PeriodicTask.objects.get(name=f"pipeline:{pipeline.pk}").total_run_count >= 1
    table = run.execution_context["target_table"]
    loaded = clickhouse.rows(f"SELECT count() AS n, sum(amount) AS total FROM {table} "
                             "WHERE _pipeline_run_id = {run:UInt64}", {"run": run.pk})[0]
    assert (loaded["n"], loaded["total"]) == (3, pytest.approx(60.75))
