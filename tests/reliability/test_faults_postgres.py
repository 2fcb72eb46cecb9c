"""PostgreSQL restarted during a run.

At the run's first load beat the PostgreSQL cluster the suite uses is restarted (the embedded one through
`etlsite.stack`, a server on this machine with `pg_ctlcluster ... restart`); either ends every connection:
the run's staging COPY and its metadata connection alike. The run must end failed with
a clear message, marked transient, and be scheduled for a retry with backoff; the retry, with PostgreSQL
back, loads the file exactly once. PostgreSQL is running again when the test ends.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connections

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from etlsite import stack
from pipelines import services, tasks
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import RunStatus
from tests.reliability.test_faults_runs import _orders_pipeline

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

ROWS = 20_000


def _cluster() -> list[str]:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    return [versions[-1], "main"] if versions else []


def _embedded() -> bool:
    return bool(connections["default"].settings_dict.get("EMBEDDED"))


def _restart_postgres() -> None:
    if _embedded():
        stack.stop(["postgres"])
        stack.start(["postgres"])
        return
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "restart"], check=True, timeout=120,
                   capture_output=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.5)


@pytest.fixture
def postgres_mode():
    if _embedded():
        yield
        stack.start(["postgres"])  # running again whatever happened
        return
    if not _cluster() or not shutil.which("pg_ctlcluster"):
        pytest.skip("no local PostgreSQL cluster to restart")
    yield
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "start"], timeout=120)


def test_postgres_restarted_mid_run_fails_clearly_retries_and_loads_once(postgres_mode, clickhouse, tmp_path,
                                                                         monkeypatch):
    pipeline = _orders_pipeline(tmp_path, rows=ROWS)
    pipeline.max_retries = 2
    pipeline.save()
    sent = []
    monkeypatch.setattr(tasks.run_pipeline_task, "apply_async",
                        lambda args=None, kwargs=None, **options: sent.append(options))
    original, beats = services.run_progress, []

    def run_progress(*, run, **values):
        if values.get("step") == "load" and not beats:
            beats.append(values.get("rows_read"))
            _restart_postgres()
        return original(run=run, **values)

    monkeypatch.setattr(services, "run_progress", run_progress)
    run = services.run_create(pipeline=pipeline, triggered_by="test")
    assert services.run_claim(run=run)
    run = run_execute(run=run, batch_rows=500)

    assert beats and 0 < beats[0] < ROWS, beats
    assert run.status == RunStatus.FAILED, (run.status, run.error_message)
    assert run.error_message.startswith("A database connection was lost"), run.error_message
    assert run.execution_context["transient"] is True
    outcome = tasks._after_finish(run)
    run.refresh_from_db()
    assert "retry 1 in" in outcome and run.status == RunStatus.PENDING and len(sent) == 1
    assert sent[0]["countdown"] >= 1

    table = target_table_name(pipeline)
    assert not clickhouse.query(f"EXISTS TABLE `{table}`").result_rows[0][0] or \
        clickhouse.command(f"SELECT count() FROM `{table}`") == 0
    monkeypatch.setattr(services, "run_progress", original)
    assert services.run_claim(run=run)
    run = run_execute(run=run, batch_rows=5_000)
    assert run.status == RunStatus.SUCCESS, run.error_message
    got = clickhouse.rows(f"SELECT count() AS n, uniqExact({ROW_NUMBER_COLUMN}) AS numbers, "
                          f"countIf({RUN_ID_COLUMN} = {{run:UInt64}}) AS of_run FROM `{table}`", {"run": run.pk})[0]
    assert got["n"] == got["numbers"] == got["of_run"] == ROWS
