"""ClickHouse unreachable in the middle of a load.

The run talks to an embedded ClickHouse process of its own (analytics/clickhouse/server.py). When the run
first reports loaded batches (flushed into its temporary table), the process is killed (SIGKILL): every
request after that is refused, as when the server goes down. The run must end failed with a clear message,
marked transient, with nothing of it visible in the target; the task then schedules a retry with exponential
backoff. With ClickHouse back (the same data directory and port), the retry loads the file exactly once.
When it stays down, the retries run out and the run ends failed.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from analytics.clickhouse import get_target
from analytics.clickhouse.migrator import migrate
from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines import services, tasks
from pipelines.demo import demo_load
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import RunStatus
from tests.pipelines.test_engine import _expected
from tests.support.clickhouse import start_clickhouse_process

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

ROWS, BATCH_ROWS = 12_000, 1_000


class ClickHouseProcess:
    """The embedded ClickHouse process over a data directory, which the test can kill and start again."""

    def __init__(self, home: Path):
        self.home, self.port, self.process = home, 0, None

    def start(self) -> None:
        self.process, self.port = start_clickhouse_process(self.home, "faults", self.port)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def clickhouse_process(tmp_path, settings):
    clickhouse_process = ClickHouseProcess(tmp_path / "clickhouse")
    clickhouse_process.start()
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "HOST": "127.0.0.1", "PORT": clickhouse_process.port,
                                  "USER": "default", "PASSWORD": "faults", "COMPRESS": False,
                                  "SECURE": False, "DATABASE": "etl_target_faults",
                                  "CONNECT_TIMEOUT": 2, "SEND_RECEIVE_TIMEOUT": 30}
    migrate(get_target())
    settings.ETL_RETRY_BACKOFF_SECONDS = 30
    yield clickhouse_process
    clickhouse_process.stop()


@pytest.fixture
def pipeline(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=ROWS)
    pipeline.max_retries = 2
    pipeline.save()
    return pipeline, tmp_path / "demo" / "sales_2024.csv"


@pytest.fixture
def dispatched(monkeypatch) -> list[dict]:
    """The retries the task sends (to the broker, in production), captured with their options."""
    sent = []
    monkeypatch.setattr(tasks.run_pipeline_task, "apply_async",
                        lambda args=None, kwargs=None, **options: sent.append({"args": args, **options}))
    return sent


def _kill_at_first_load(monkeypatch, clickhouse_process: ClickHouseProcess) -> list:
    seen = []
    original = services.run_progress

    def run_progress(*, run, **values):
        if values.get("step") == "load":
            seen.append(values.get("rows_read"))
            if len(seen) == 1:
                clickhouse_process.kill()
        return original(run=run, **values)

    monkeypatch.setattr(services, "run_progress", run_progress)
    return seen


def _attempt(run):
    assert services.run_claim(run=run)
    return run_execute(run=run, batch_rows=BATCH_ROWS)


def test_clickhouse_down_mid_load_fails_clearly_retries_with_backoff_and_loads_once(
        clickhouse_process, pipeline, monkeypatch, dispatched):
    pipeline, csv_path = pipeline
    table = target_table_name(pipeline)
    seen = _kill_at_first_load(monkeypatch, clickhouse_process)
    run = _attempt(services.run_create(pipeline=pipeline, triggered_by="test"))

    # 1. Failed, with a message that says what happened, marked as worth retrying.
    assert len(seen) == 1 and 0 < seen[0] < ROWS, f"the clickhouse_process was not killed mid-load: {seen}"
    assert run.status == RunStatus.FAILED
    assert "ClickHouse" in run.error_message and "Traceback" not in run.error_message, run.error_message
    assert run.execution_context["transient"] is True
    # 2. The task retries it later, with backoff: pending again, the attempt kept, dispatched with a countdown.
    message = run.error_message
    outcome = tasks._after_finish(run)
    run.refresh_from_db()
    assert "retry 1 in" in outcome and run.status == RunStatus.PENDING and run.retry_count == 1
    assert [d["args"] for d in dispatched] == [(run.pk,)]
    # base * 2**retry_count (the first retry: retry_count 0), 75-100 % of it
    assert 0.75 * 30 - 1 <= dispatched[0]["countdown"] <= 30
    assert run.execution_context["attempts"][0]["error_message"] == message

    # 3. ClickHouse is back: nothing of the failed attempt is visible; the retry loads the file once.
    clickhouse_process.start()
    target = get_target()
    assert not target.query(f"EXISTS TABLE `{table}`").result_rows[0][0] or \
        target.command(f"SELECT count() FROM `{table}`") == 0
    monkeypatch.undo()
    run = _attempt(run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    expected = _expected(csv_path)[0]
    got = target.rows(f"SELECT count() AS n, uniqExact({ROW_NUMBER_COLUMN}) AS numbers, "
                      f"countIf({RUN_ID_COLUMN} = {{run:UInt64}}) AS of_run FROM `{table}`", {"run": run.pk})[0]
    assert got["n"] == got["numbers"] == got["of_run"] == len(expected) == run.execution_context["rows_loaded"]
    assert not target.query("SELECT name FROM system.tables WHERE database = {db:String} "
                            "AND startsWith(name, '_load_')", {"db": target.database}).result_rows


def test_clickhouse_that_stays_down_ends_the_run_failed_after_its_retries(clickhouse_process, pipeline, dispatched):
    pipeline, _ = pipeline
    pipeline.max_retries = 1
    pipeline.save()
    clickhouse_process.kill()
    run = _attempt(services.run_create(pipeline=pipeline, triggered_by="test"))
    assert run.status == RunStatus.FAILED and run.execution_context["transient"] is True
    assert "retry 1 in" in tasks._after_finish(run) and len(dispatched) == 1
    run.refresh_from_db()
    run = _attempt(run)
    assert run.status == RunStatus.FAILED and "ClickHouse" in run.error_message
    outcome = tasks._after_finish(run)
    run.refresh_from_db()
    assert outcome == f"run {run.pk}: failed" and len(dispatched) == 1
    assert run.status == RunStatus.FAILED and run.retry_count == 1
