"""Cancelling a run: pending and running runs end cancelled; the engine stops at its next progress beat."""

import pytest

from pipelines import services
from pipelines.models import RunStatus
from pipelines.tasks import run_pipeline_task
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db


def test_a_running_run_is_cancelled_and_the_engine_stops_at_its_next_beat():
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    assert services.run_claim(run=run)
    services.run_progress(run=run, step="load", rows_read=1000)

    engine_view = type(run).objects.get(pk=run.pk)  # the engine holds its own copy of the row
    assert services.run_cancel(run=run, by="bob")
    assert run.status == RunStatus.CANCELLED
    assert run.finished_at is not None and run.duration_seconds is not None
    assert run.error_message == "Cancelled by bob."
    assert run.execution_context["cancelled_by"] == "bob"
    assert run.execution_context["rows_read"] == 1000  # progress so far is kept

    with pytest.raises(services.RunCancelled) as stopped:
        services.run_progress(run=engine_view, step="load", rows_read=2000)
    assert str(stopped.value) == RunStatus.CANCELLED
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.execution_context["rows_read"] == 1000


def test_a_pending_run_is_cancelled_and_its_queued_task_does_nothing():
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    assert services.run_cancel(run=run, by="bob")
    assert (run.status, run.duration_seconds) == (RunStatus.CANCELLED, None)
    assert "not pending (cancelled)" in run_pipeline_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


@pytest.mark.parametrize("status", [RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED])
def test_a_finished_run_cannot_be_cancelled(status):
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    type(run).objects.filter(pk=run.pk).update(status=status)
    assert not services.run_cancel(run=run, by="bob")
    run.refresh_from_db()
    assert run.status == status and "cancelled_by" not in run.execution_context


def test_a_cancelled_run_cannot_be_claimed():
    run = services.run_create(pipeline=PipelineFactory(), triggered_by="alice")
    services.run_cancel(run=run, by="bob")
    assert not services.run_claim(run=run)
