"""One file split into parts on real Celery worker processes ("parallelism": {"parts": N}), committed once.

Set up as test_worker_kill (a real `celery -A etlsite worker` with two pool processes, the test's databases
and ClickHouse target, a broker database of the test's own). The file has rows repeated across
parts, values that fail validation and a range rule, so every part of the engine has work:
- a split run loads exactly what a one-part run of the same configuration loads (same rows, same row
  numbers, same counts; repeats across parts removed, the first occurrence kept);
- a part that fails fails the run with nothing in the target and no temporary tables left; the retry of
  the run (the same row, after the file is fixed) leaves exactly one copy.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from analytics.loading import LOADED_AT_COLUMN, ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines.models import RunStatus
from pipelines.services import run_dispatch, run_enqueue, run_retry
from pipelines.targets import target_table_name
from staging.models import StagingTable
from staging.quarantine import QuarantinedRow
from tests.factories import DataSourceFactory, PipelineFactory
from tests.pipelines.test_worker_beat import ROOT, _settings_module, _start, _stop
from tests.pipelines.test_worker_kill import _finished, _tables, _wait_for, broker  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

ROWS = 6_000
PARTS = 3
HEADER = ["flight_id", "day", "carrier", "month", "distance"]


def _write(path: Path, *, ragged_at: int | None = None) -> dict:
    """The test file, and what a correct run of it gives (computed here, independently of the engine)."""
    rng = random.Random(7)
    rows = []
    for number in range(1, ROWS + 1):
        month = str(rng.randint(1, 12))
        if number % 500 == 0:
            month = "13"  # out of range: quarantined (max)
        distance = str(rng.randint(100, 3000))
        if number % 777 == 0:
            distance = "far"  # not an integer: quarantined (data_types)
        rows.append([str(number % 4_500), f"2013-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                     rng.choice(["UA", "AA", "DL"]), month, distance])
    rows += [list(row) for row in rows[:300]]  # the file's start again at its end: repeats across parts
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for index, row in enumerate(rows, start=1):
            writer.writerow(row + (["extra"] if index == ragged_at else []))
    invalid = {n for n, row in enumerate(rows, start=1) if row[3] == "13" or row[4] == "far"}
    seen, kept, repeats = set(), [], 0
    for n, row in enumerate(rows, start=1):
        if n in invalid:
            continue
        if tuple(row) in seen:
            repeats += 1
            continue
        seen.add(tuple(row))
        kept.append(n)
    return {"read": len(rows), "invalid": len(invalid), "repeats": repeats, "kept": kept}


def _pipeline(path: Path, parts: int):
    config = {"validation_rules": {"required_columns": ["flight_id", "day", "month"],
                                   "data_types": {"flight_id": "integer", "day": "date", "month": "integer",
                                                  "distance": "integer"},
                                   "min": {"month": 1}, "max": {"month": 12}},
              "transformations": ["clean_duplicates"]}
    if parts > 1:
        config["parallelism"] = {"parts": parts}
    source = DataSourceFactory(connection_config={"file_path": str(path), "delimiter": ",", "encoding": "utf-8"})
    return PipelineFactory(data_source=source, configuration=config, max_retries=0, timeout_seconds=600)


@pytest.fixture
def worker(tmp_path, clickhouse, settings, broker):  # noqa: F811
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": _settings_module(tmp_path, settings.TARGET_CLICKHOUSE),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
           "ETL_VAR_DIR": str(tmp_path / "var"), "CELERY_BROKER_URL": broker, "CELERY_TASK_ALWAYS_EAGER": "false",
           "ETL_ENV_FILE": str(tmp_path / "no.env"), "ETL_BATCH_ROWS": "1000"}
    log = tmp_path / "worker.log"
    process: subprocess.Popen = _start(
        ["worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=2", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--hostname", f"split-{os.getpid()}@%h"], env, log)
    yield process, log
    _stop(process)


def _nice(pid: int) -> int:
    """A process's nice value, from /proc/PID/stat (the 19th field; the name before it may hold spaces)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _loaded(clickhouse, table: str, run_id: int) -> list[tuple]:
    result = clickhouse.query(
        f"SELECT * EXCEPT ({RUN_ID_COLUMN}, {LOADED_AT_COLUMN}) FROM `{table}` WHERE {RUN_ID_COLUMN} = {{run:UInt64}} "
        f"ORDER BY {ROW_NUMBER_COLUMN}", {"run": run_id})
    return [tuple(row) for row in result.result_rows]


def _finish(pipeline, worker) -> object:
    process, log = worker
    run = run_enqueue(pipeline=pipeline, triggered_by="test")
    _wait_for(run.pk, _finished, "the end of the run", process, log)
    run.refresh_from_db()
    return run


def _step_logs(run_id: int) -> dict:
    """The run's processing logs by operation, once written (the run is marked failed before its logs are)."""
    from staging.models import ProcessingLog

    deadline = time.monotonic() + 30
    logs = ProcessingLog.objects.filter(pipeline_run_id=run_id)
    while not logs.filter(status="failed").exists() or logs.filter(status="in_progress").exists():
        assert time.monotonic() < deadline, "the failed run's processing logs were not finished"
        time.sleep(0.2)
    return {log.operation_type: log for log in logs}


# On the embedded ClickHouse process, as on a server: the parts load side by side.
def test_a_split_run_loads_exactly_what_a_one_part_run_loads(clickhouse, worker, tmp_path):
    path = tmp_path / "flights.csv"
    expected = _write(path)
    single, split = _pipeline(path, 1), _pipeline(path, PARTS)

    runs = {name: _finish(pipeline, worker) for name, pipeline in (("single", single), ("split", split))}

    log = worker[1].read_text(errors="replace")[-4000:]
    for run in runs.values():
        assert run.status == RunStatus.SUCCESS, f"{run.error_message}\n{log}"
        ctx = run.execution_context
        assert (ctx["rows_read"], ctx["rows_quarantined"], ctx["rows_loaded"]) == (
            expected["read"], expected["invalid"], len(expected["kept"]))
        assert ctx["rows_removed"] == {"clean_duplicates": expected["repeats"]}
        assert QuarantinedRow.objects.filter(pipeline_run_id=run.pk).values("row_number").distinct().count() == \
            expected["invalid"]
        assert StagingTable.objects.get(table_name=ctx["staging_table"]).row_count == expected["read"]
    split_ctx = runs["split"].execution_context
    assert split_ctx["split"]["parts"] == PARTS and sorted(split_ctx["parts"]) == ["0", "1", "2"]
    assert all(part["rows_read"] > 0 for part in split_ctx["parts"].values())  # each part did its share

    single_rows = _loaded(clickhouse, target_table_name(single), runs["single"].pk)
    split_rows = _loaded(clickhouse, target_table_name(split), runs["split"].pk)
    assert [row[0] for row in split_rows] == expected["kept"]  # row numbers: the first occurrences
    assert split_rows == single_rows
    assert _tables(clickhouse, "\\_load\\_%") == [] and _tables(clickhouse, "\\_keys\\_%") == []
    # The worker and its pool ran the load at ETL_WORKER_NICE (10): pages come first on shared cores. (The
    # suite's own process keeps its priority, so the worker did not inherit it from there.)
    assert os.getpriority(os.PRIO_PROCESS, 0) == 0
    process = worker[0]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert {_nice(int(pid)) for pid in [process.pid, *children]} == {10}


def test_a_failed_part_leaves_nothing_and_the_retry_leaves_one_copy(clickhouse, worker, tmp_path):
    path = tmp_path / "flights.csv"
    expected = _write(path, ragged_at=ROWS - 10)  # a row with a field too many, in the last part
    pipeline = _pipeline(path, PARTS)
    table = target_table_name(pipeline)

    run = _finish(pipeline, worker)

    assert run.status == RunStatus.FAILED, run.status
    assert run.error_message.startswith(f"Part {PARTS} of {PARTS}:"), run.error_message
    assert int(clickhouse.command(f"SELECT count() FROM `{table}`")) == 0
    assert _tables(clickhouse, "\\_load\\_%") == [] and _tables(clickhouse, "\\_keys\\_%") == []
    # the part broke while reading (loading): that step alone carries the error, the others did their part
    logs = _step_logs(run.pk)
    assert (logs["load"].status, logs["load"].error_message) == ("failed", run.error_message)
    # (parts that finished before it recorded their steps; those are completed and carry no error)
    assert all((log.status, log.error_message) == ("completed", "") for kind, log in logs.items() if kind != "load"), [
        (kind, log.status, log.error_message, log.execution_context) for kind, log in logs.items()]

    expected = _write(path)  # the file fixed; the same run tried again
    assert run_retry(run=run)
    run_dispatch(run=run)
    _wait_for(run.pk, _finished, "the end of the retried run", *worker)
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCESS, f"{run.error_message}\n{worker[1].read_text(errors='replace')[-4000:]}"
    assert run.retry_count == 1
    rows = _loaded(clickhouse, table, run.pk)
    assert [row[0] for row in rows] == expected["kept"]
    assert int(clickhouse.command(f"SELECT count() FROM `{table}`")) == len(expected["kept"])
