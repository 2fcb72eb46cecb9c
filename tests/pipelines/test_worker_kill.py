"""A worker killed in the middle of a run, the run recovered: the target holds exactly one copy of the data
and the counts reconcile.

A real `celery -A etlsite worker` subprocess (set up as in test_worker_beat: pytest-django's test databases
and the test's ClickHouse target, through a settings module written for the test) runs the demo "Sales
processing" pipeline over a generated CSV in small batches (ETL_BATCH_ROWS), so a run lasts long enough to be
caught mid-way. The test process queues the run itself (run_enqueue / run_rerun / run_dispatch) on a Redis
database of the broker that only this test's workers read.

The worker's whole process group gets SIGKILL (no clean-up code runs, as when the machine dies or the OOM
killer strikes):
- "load": once the run has appended batches to its temporary ClickHouse table (step "load"), before "commit";
- "stage": while the run stages its first batch (before anything reaches ClickHouse). The test holds a lock
  on the staging registry table so the worker waits there.

Nothing of the killed run may be visible in the target. The run stays `running` until the watchdog
(runs_mark_dead) marks it failed; then it is recovered as a user would (the admin's "Re-run selected failed
runs": run_rerun, a new run) or as the task retries a run (run_retry + run_dispatch: the same row) on a fresh
worker, and the target must hold the independently computed rows once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections, transaction

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines.demo import demo_load
from pipelines.models import PipelineRun, RunStatus
from pipelines.services import run_dispatch, run_enqueue, run_rerun, run_retry
from pipelines.targets import target_table_name
from pipelines.watchdog import runs_mark_dead
from staging.models import StagingTable
from tests.pipelines.test_engine import _expected
from tests.pipelines.test_worker_beat import ROOT, _settings_module, _start, _stop
from tests.support.broker import own_broker

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

WAIT_SECONDS = 120
BROKER_DB = 2
POLL_SECONDS = 0.05
# A run must last a few seconds, so that it is caught after its first batch with most of the file to go:
# ~100 batches take ~3 s.
ROWS = 100_000
BATCH_ROWS = 1_000
DEAD_WORKER_MESSAGE = "The worker running this run stopped responding"
FINISHED = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED)


class LeakedLoadTable(AssertionError):
    """A `_load_*` temporary table outlived the runs."""


# --- workers and broker ---------------------------------------------------------------------------------

@pytest.fixture
def broker(monkeypatch) -> str:
    """The URL of this test's workers' broker: a Redis database of its own, emptied; the tasks this process
    sends go there (the suite's own database may hold messages other tests left behind)."""
    for url, _client in own_broker(monkeypatch, BROKER_DB):
        yield url


@pytest.fixture
def worker_env(tmp_path, clickhouse, settings, broker) -> dict:
    base = _settings_module(tmp_path, settings.TARGET_CLICKHOUSE)
    (tmp_path / "kill_test_settings.py").write_text(
        f"from {base} import *  # noqa: F403\n"
        f"ETL_BATCH_ROWS = {BATCH_ROWS}\n")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kill_test_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "ETL_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ETL_ENV_FILE": str(tmp_path / "no.env"),
    }


def _worker(env: dict, log: Path) -> subprocess.Popen:
    return _start(["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=1", "--without-gossip",
                   "--without-mingle", "--without-heartbeat", "--hostname", f"{log.stem}-{os.getpid()}@%h"],
                  env, log)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies, which hold no locks or sockets, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children (one process group), and wait until they are gone."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _group_alive(process.pid):
        assert time.monotonic() < deadline, "the killed worker's pool children did not exit"
        time.sleep(POLL_SECONDS)


def _log_tail(*logs: Path) -> str:
    return "".join(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-6000:]}" for log in logs
                   if log.exists())


def _wait_for(run_id: int, condition, what: str, worker: subprocess.Popen, log: Path) -> dict:
    """Poll the run's row until `condition(row)` holds; the row (status, execution_context, ...) then."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = PipelineRun.objects.values("status", "error_message", "execution_context").get(pk=run_id)
        if condition(row):
            return row
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before {what}; run: {row}{_log_tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s; run: {row}{_log_tail(log)}")
        time.sleep(POLL_SECONDS)


def _mid_load(row: dict) -> bool:
    """Batches are in the run's temporary table and the commit has not begun (the engine writes "commit"
    before it starts committing, so a run seen at "load" has not)."""
    ctx = row["execution_context"] or {}
    if row["status"] in FINISHED or ctx.get("step") in ("commit", "done"):
        pytest.fail(f"the run got past the load before it could be killed (make ROWS larger): {row}")
    return row["status"] == RunStatus.RUNNING and ctx.get("step") == "load" and ctx.get("rows_read", 0) > 0


def _staging(row: dict) -> bool:
    return row["status"] == RunStatus.RUNNING and (row["execution_context"] or {}).get("step") == "stage"


def _finished(row: dict) -> bool:
    return row["status"] in FINISHED


@contextmanager
def _staging_held():
    """Make the worker wait when it creates its staging table, before any batch reaches ClickHouse: an
    EXCLUSIVE lock on the staging registry, which StagingWriter.create updates (SELECT ... FOR UPDATE) after
    creating its table."""
    with transaction.atomic(using="staging"), connections["staging"].cursor() as cursor:
        cursor.execute(f"LOCK TABLE {StagingTable._meta.db_table} IN EXCLUSIVE MODE")
        yield


def _wait_blocked_on_staging(worker: subprocess.Popen, log: Path) -> None:
    """Wait until the worker's session waits for the lock _staging_held took."""
    connection = connections["staging"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                           [StagingTable._meta.db_table])
            if cursor.fetchone()[0]:
                return
        if worker.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the worker never waited for the staging registry{_log_tail(log)}")
        time.sleep(POLL_SECONDS)


# --- ClickHouse -------------------------------------------------------------------------------------------

def _tables(clickhouse, pattern: str) -> list[str]:
    return [name for (name,) in clickhouse.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE {p:String} ORDER BY name",
        {"db": clickhouse.database, "p": pattern}).result_rows]


def _count(clickhouse, table: str, run_id: int | None = None) -> int:
    if run_id is None:
        return int(clickhouse.command(f"SELECT count() FROM `{table}`"))
    return int(clickhouse.command(f"SELECT count() FROM `{table}` WHERE {RUN_ID_COLUMN} = {{run:UInt64}}",
                                  {"run": run_id}))


# --- the scenario -----------------------------------------------------------------------------------------

@pytest.fixture
def demo(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=ROWS)
    return pipeline, tmp_path / "demo" / "sales_2024.csv"


@pytest.mark.parametrize(("kill_at", "recovery"), [
    pytest.param("load", "rerun", id="load-rerun"),
    pytest.param("load", "retry", id="load-retry"),
    pytest.param("stage", "rerun", id="stage-rerun"),
])
def test_a_run_whose_worker_is_killed_leaves_one_copy_after_recovery(kill_at, recovery, demo, clickhouse,
                                                                    worker_env, tmp_path):
    pipeline, csv_path = demo
    table = target_table_name(pipeline)
    logs = [tmp_path / "worker-killed.log", tmp_path / "worker-recovery.log"]
    workers: list[subprocess.Popen] = []
    try:
        # 1. A worker takes the run; SIGKILL it mid-way.
        workers.append(_worker(worker_env, logs[0]))
        if kill_at == "load":
            run = run_enqueue(pipeline=pipeline, triggered_by="test")
            seen = _wait_for(run.pk, _mid_load, "step load with rows read", workers[0], logs[0])
            _kill(workers[0])
        else:
            with _staging_held():
                run = run_enqueue(pipeline=pipeline, triggered_by="test")
                _wait_for(run.pk, _staging, "step stage", workers[0], logs[0])
                _wait_blocked_on_staging(workers[0], logs[0])
                _kill(workers[0])
        dead_id = run.pk

        # 2. Nothing of the killed run is visible; the run still says "running".
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING, (run.status, run.error_message)
        assert run.execution_context["step"] == kill_at, run.execution_context
        assert _tables(clickhouse, table) == ([table] if kill_at == "load" else []), "unexpected target tables"
        if kill_at == "load":
            assert _count(clickhouse, table) == 0, "rows of the killed run are visible in the target"
            # The kill did land mid-load: batches sit in the run's temporary table.
            assert seen["execution_context"]["rows_read"] > 0
            assert _count(clickhouse, f"_load_{table}_{dead_id}") > 0
        else:
            assert _tables(clickhouse, "\\_load\\_%") == [], "the run reached ClickHouse before staging"
            # The worker died inside StagingWriter.create: its table was never registered (nor committed).
            assert not StagingTable.objects.filter(pipeline_run_id=dead_id).exists()

        # 3. The watchdog marks it failed, saying the worker died.
        assert runs_mark_dead(stale_after=timedelta(0)) == 1
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED
        assert run.error_message.startswith(DEAD_WORKER_MESSAGE), run.error_message
        assert run.execution_context["dead_worker"] is True and run.finished_at is not None

        # 4. Recover it on a fresh worker, as a user (re-run) or the task (retry of the same row) would.
        workers.append(_worker(worker_env, logs[1]))
        if recovery == "rerun":
            final = run_rerun(run=run, triggered_by="test")
            assert final.pk != dead_id and final.execution_context["rerun_of"] == dead_id
        else:
            assert run_retry(run=run)
            run_dispatch(run=run)
            final = run
        _wait_for(final.pk, _finished, "end of the recovered run", workers[1], logs[1])
    finally:
        for worker in workers:
            _stop(worker)

    # 5. Exactly one copy of the data, equal to an independent computation; the counts reconcile.
    final.refresh_from_db()
    assert final.status == RunStatus.SUCCESS, f"{final.error_message}{_log_tail(*logs)}"
    expected, read, invalid, duplicates, non_positive = _expected(csv_path)
    ctx = final.execution_context
    assert (ctx["rows_read"], ctx["rows_quarantined"], ctx["rows_loaded"]) == (read, invalid, len(expected))
    assert ctx["rows_removed"] == {"clean_duplicates": duplicates, "validate_amounts": non_positive}
    assert ctx["rows_read"] == ctx["rows_loaded"] + ctx["rows_quarantined"] + sum(ctx["rows_removed"].values())
    assert (final.records_processed, final.records_failed) == (read, invalid)

    got = clickhouse.rows(
        f"SELECT count() AS n, uniqExact({ROW_NUMBER_COLUMN}) AS numbers, countIf({RUN_ID_COLUMN} = {{run:UInt64}}) "
        f"AS of_run, sum(amount) AS total FROM `{table}`", {"run": final.pk})[0]
    assert got["n"] == got["of_run"] == got["numbers"] == ctx["rows_loaded"] == len(expected)
    assert got["total"] == pytest.approx(sum(float(r["amount"]) for r in expected))
    numbers = [n for (n,) in clickhouse.query(
        f"SELECT {ROW_NUMBER_COLUMN} FROM `{table}` ORDER BY {ROW_NUMBER_COLUMN}").result_rows]
    assert numbers == [r["_row_number"] for r in expected]
    if recovery == "rerun":
        assert _count(clickhouse, table, dead_id) == 0
    else:
        assert final.retry_count == 1
        attempts = ctx["attempts"]
        assert len(attempts) == 1 and attempts[0]["error_message"].startswith(DEAD_WORKER_MESSAGE), attempts
    # The run's staging table holds the file once (a retry restages from scratch).
    assert StagingTable.objects.get(table_name=ctx["staging_table"]).row_count == read

    leftovers = _tables(clickhouse, "\\_load\\_%")
    if leftovers:
        raise LeakedLoadTable(f"temporary load tables remain: {leftovers}")
