"""Two triggers at once cannot corrupt each other: concurrent claims of one run, and of one pipeline's runs.

Real concurrency: threads with their own database connections against the committed (file or server) test
database, started together by a barrier.
"""

import threading

import pytest
from django.db import connections

from pipelines import services
from pipelines.models import PipelineRun, RunStatus
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
