"""Faults around runs: the same pipeline triggered twice at once, the same file uploaded twice, a run
cancelled mid-way. (A worker SIGKILLed while staging or loading: tests/pipelines/test_worker_kill.py.)

- Twice at once: two API clients trigger the pipeline in the same instant (threads, a barrier), then two
  workers (threads running the Celery task) take the two runs at the same instant. By design one pipeline
  runs once at a time (run_claim): one run executes, the other is refused and stays pending until the first
  ended, then executes. Both load the file once each: no duplicate rows within a run, none lost.
- Twice uploaded: by design the second upload is recorded (who sent what, when) and names the first
  (`duplicate_of`), the content is stored once on disk, and processing it again loads it again on purpose
  (the pages warn first): a dedicated re-run, not a silent skip.
- Cancelled mid-way: cancelled at its first load beat, the run stops, its temporary ClickHouse table is
  dropped, and nothing of it is visible in the target.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines import services, tasks
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import PipelineRun, RunStatus
from staging.models import FileMetadata, ProcessingLog
from staging.uploads import uploads_dir
from tests.api.conftest import client_for, make_user
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

ROWS = 3_000


def _orders_pipeline(tmp_path, rows: int = ROWS):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,date,amount\n" + "".join(
        f"{n},2024-01-{n % 28 + 1:02d},{n * 1.5}\n" for n in range(1, rows + 1)))
    source = DataSourceFactory(connection_config={"file_path": str(path), "delimiter": ",", "encoding": "utf-8"})
    return PipelineFactory(name="Orders twice", data_source=source, max_retries=0, configuration={
        "validation_rules": {"required_columns": ["order_id", "date", "amount"],
                             "data_types": {"order_id": "integer", "date": "date", "amount": "float"}}})


def _at_once(*calls):
    """Run the calls in threads released together; their results in order (exceptions re-raised)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def call(index, fn):
        try:
            barrier.wait(timeout=30)
            results[index] = fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


@pytest.fixture
def no_broker(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.run_pipeline_task, "apply_async",
                        lambda args=None, kwargs=None, **options: sent.append(args))
    return sent


def test_one_pipeline_triggered_twice_at_once_runs_serially_and_loads_each_run_once(clickhouse, tmp_path,
                                                                                    no_broker):
    pipeline = _orders_pipeline(tmp_path)
    user = make_user("operator", superuser=True)
    clients = [client_for(user), client_for(user)]
    # load_again: both runs read the same file, and this test is about the two running one after the other.
    responses = _at_once(*[lambda c=c: c.post("/api/v1/runs/", {"pipeline": pipeline.pk, "load_again": True},
                                              format="json") for c in clients])
    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    run_ids = sorted(r.json()["id"] for r in responses)
    assert len(set(run_ids)) == 2 and sorted(a[0] for a in no_broker) == run_ids

    # Two workers take the two runs at the same instant: one executes, the other is refused.
    outcomes = _at_once(*[lambda pk=pk: tasks.run_pipeline_task.apply(args=(pk,)).get() for pk in run_ids])
    assert sorted("left pending" in o for o in outcomes) == [False, True], outcomes
    waiting = PipelineRun.objects.get(pk__in=run_ids, status=RunStatus.PENDING)
    # The worker retries it once the first run ended.
    assert tasks.run_pipeline_task.apply(args=(waiting.pk,)).get() == f"run {waiting.pk}: success"

    first, second = sorted(PipelineRun.objects.filter(pk__in=run_ids), key=lambda r: r.started_at)
    assert first.status == second.status == RunStatus.SUCCESS
    assert first.finished_at <= second.started_at  # never side by side
    table = target_table_name(pipeline)
    per_run = dict(clickhouse.query(f"SELECT {RUN_ID_COLUMN}, count() FROM `{table}` GROUP BY {RUN_ID_COLUMN}")
                   .result_rows)
    assert per_run == {first.pk: ROWS, second.pk: ROWS}
    distinct = clickhouse.command(f"SELECT count() FROM (SELECT DISTINCT {RUN_ID_COLUMN}, {ROW_NUMBER_COLUMN} "
                                  f"FROM `{table}`)")
    assert int(distinct) == 2 * ROWS


def test_the_same_file_uploaded_twice_is_stored_once_recorded_twice_and_named_as_a_duplicate(
        tmp_path, settings, no_broker):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = _orders_pipeline(tmp_path, rows=10)
    api = client_for(make_user("uploader", superuser=True))
    content = (tmp_path / "orders.csv").read_bytes()

    def upload():
        from django.core.files.uploadedfile import SimpleUploadedFile

        return api.post("/api/v1/files/", {"file": SimpleUploadedFile("orders.csv", content),
                                           "pipeline": pipeline.pk}, format="multipart")

    first, second = upload(), upload()
    assert first.status_code == second.status_code == 201, (first.content, second.content)
    assert first.json()["duplicate_of"] is None
    assert second.json()["duplicate_of"] == first.json()["file"]["id"]
    records = list(FileMetadata.objects.order_by("pk"))
    assert len(records) == 2 and records[0].file_hash == records[1].file_hash
    assert records[1].metadata == {"duplicate_of": records[0].pk}
    stored = [p for p in uploads_dir().rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == content
    # Each upload asked for a run: two runs, by intent, each of its own upload.
    assert len(no_broker) == 2


def test_a_run_cancelled_mid_way_leaves_nothing_in_the_target(clickhouse, tmp_path, monkeypatch):
    pipeline = _orders_pipeline(tmp_path, rows=20_000)
    run = services.run_create(pipeline=pipeline, triggered_by="alice")
    assert services.run_claim(run=run)
    original, beats = services.run_progress, []

    def run_progress(*, run, **values):
        if values.get("step") == "load" and not beats:
            beats.append(values.get("rows_read"))
            # Someone presses "Cancel" (page, admin or API: all call run_cancel) while batches are loading.
            assert services.run_cancel(run=PipelineRun.objects.get(pk=run.pk), by="bob")
        return original(run=run, **values)

    monkeypatch.setattr(services, "run_progress", run_progress)
    run = run_execute(run=run, batch_rows=500)

    assert beats and 0 < beats[0] < 20_000, beats
    assert run.status == RunStatus.CANCELLED and run.error_message == "Cancelled by bob."
    table = target_table_name(pipeline)
    tables = [name for (name,) in clickhouse.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", {"db": clickhouse.database}).result_rows]
    assert not any(name.startswith("_load_") for name in tables), tables
    if table in tables:
        assert clickhouse.command(f"SELECT count() FROM `{table}`") == 0
    logs = set(ProcessingLog.objects.filter(pipeline_run_id=run.pk).values_list("status", flat=True))
    assert "cancelled" in logs and "completed" not in logs
