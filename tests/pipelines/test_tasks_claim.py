"""Two triggers at once cannot corrupt each other: concurrent claims of one run, and of one pipeline's runs.

Real concurrency: threads with their own database connections against the committed (file or server) test
database, started together by a barrier.
"""

import threading
import time

import pytest
from django.db import connections, transaction

from pipelines import services
from pipelines.models import Pipeline, PipelineRun, RunStatus
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 6


def _claim_concurrently(run_ids: list[int]) -> list[bool]:
    barrier = threading.Barrier(len(run_ids))
    results: list[bool | BaseException] = [False] * len(run_ids)

    def claim(index: int, run_id: int) -> None:
        try:
            run = PipelineRun.objects.get(pk=run_id)
            barrier.wait(timeout=30)
            results[index] = services.run_claim(run=run)
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(i, run_id)) for i, run_id in enumerate(run_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def test_workers_claiming_the_same_run_at_once_exactly_one_wins():
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    results = _claim_concurrently([run.pk] * WORKERS)
    assert results.count(True) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.started_at is not None


def test_two_runs_of_one_pipeline_at_once_only_one_executes():
    pipeline = PipelineFactory()
    runs = [services.run_create(pipeline=pipeline, triggered_by=f"user{i}") for i in range(WORKERS)]
    results = _claim_concurrently([run.pk for run in runs])
    assert results.count(True) == 1
    statuses = sorted(PipelineRun.objects.filter(pipeline=pipeline).values_list("status", flat=True))
    assert statuses == sorted([RunStatus.RUNNING] + [RunStatus.PENDING] * (WORKERS - 1))


def test_runs_of_different_pipelines_execute_side_by_side():
    runs = [services.run_create(pipeline=PipelineFactory(), triggered_by="alice") for _ in range(WORKERS)]
    assert _claim_concurrently([run.pk for run in runs]) == [True] * WORKERS


def test_a_claim_that_waited_for_the_pipeline_starts_after_the_run_it_waited_for_ended():
    """The start is read from the clock after the wait: CI once saw a run start 2 ms before its predecessor
    ended, because the claim had read the clock before taking the pipeline's lock."""
    pipeline = PipelineFactory()
    first = services.run_create(pipeline=pipeline, triggered_by="alice")
    assert services.run_claim(run=first)
    second = services.run_create(pipeline=pipeline, triggered_by="bob")
    locked, release = threading.Event(), threading.Event()
    claimed: list = []

    def hold_the_pipeline() -> None:
        try:
            with transaction.atomic():
                list(Pipeline.all_objects.select_for_update().filter(pk=pipeline.pk))
                locked.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()

    def claim_second() -> None:
        try:
            claimed.append(services.run_claim(run=PipelineRun.objects.get(pk=second.pk)))
        except BaseException as exc:  # reported by the test, not lost in the thread
            claimed.append(exc)
        finally:
            connections.close_all()

    holder, claimer = threading.Thread(target=hold_the_pipeline), threading.Thread(target=claim_second)
    holder.start()
    assert locked.wait(timeout=30)
    claimer.start()
    with connections["default"].cursor() as cursor:  # the claim is queued behind the lock before going on
        for _ in range(300):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second claim never waited for the pipeline's lock")
    services.run_succeed(run=first, records_processed=1, records_failed=0, context={})
    release.set()
    holder.join(timeout=60)
    claimer.join(timeout=60)
    assert claimed == [True]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.finished_at <= second.started_at
