"""One rule for "may this pipeline run" and one dispatch with the run's time limits (pipelines.services)."""

import pytest

from pipelines import services, tasks
from pipelines.engine.repeats import LOAD_AGAIN_KEY
from pipelines.models import PipelineStatus
from tests.factories import FileMetadataFactory, PipelineFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("status", "deleted", "runs"), [
    (PipelineStatus.ACTIVE, False, True), (PipelineStatus.DRAFT, False, True),
    (PipelineStatus.INACTIVE, False, True), (PipelineStatus.DEPRECATED, False, False),
    (PipelineStatus.ACTIVE, True, False),
])
def test_a_deleted_or_deprecated_pipeline_may_not_run(status, deleted, runs):
    pipeline = PipelineFactory(name="Sales", status=status, is_deleted=deleted)
    assert services.pipeline_may_run(pipeline) is runs
    refusal = services.pipeline_run_refusal(pipeline)
    assert (refusal is None) is runs
    if not runs:
        assert refusal == 'The pipeline "Sales" is deleted or deprecated and cannot be run.'


@pytest.fixture
def sent(monkeypatch):
    """(task name, args, options) of every message the services and tasks would send."""
    calls = []
    for task in (tasks.run_pipeline_task, tasks.run_part_task, tasks.run_split_commit_task):
        monkeypatch.setattr(task, "apply_async", lambda args, task=task, **options: calls.append(
            (task.name, args, options)))
    return calls


def test_every_task_of_a_run_is_sent_with_the_pipelines_time_limits(sent, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory(timeout_seconds=600)
    limits = {"soft_time_limit": 600, "time_limit": 660}
    assert services.run_time_limits(pipeline) == limits
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_enqueue(pipeline=pipeline, triggered_by="alice")
        services.run_dispatch(run=run, countdown=5)
        tasks.run_parts_dispatch(run=run, parts=2, attempt=1)
        tasks.run_split_commit_dispatch(run=run)
    assert sent == [
        ("pipelines.run_pipeline", (run.pk,), limits),
        ("pipelines.run_pipeline", (run.pk,), {"countdown": 5, **limits}),
        ("pipelines.run_part", (run.pk, 0, 1), limits),
        ("pipelines.run_part", (run.pk, 1, 1), limits),
        ("pipelines.run_split_commit", (run.pk,), limits),
    ]


def test_nothing_is_sent_before_the_run_is_committed(sent, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.run_enqueue(pipeline=pipeline, triggered_by="alice")
    assert sent == []
    # The audit outbox also sends after the commit; the run's task is the one other callback.
    dispatch = [callback for callback in callbacks if "task_dispatch" in getattr(callback, "__qualname__", "")]
    assert len(dispatch) == 1
    dispatch[0]()
    assert [(name, args) for name, args, _limits in sent] == [("pipelines.run_pipeline", (run.pk,))]


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_trigger_on_a_file_records_it_in_the_context(sent, django_capture_on_commit_callbacks):
    file = FileMetadataFactory()
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_trigger(pipeline=PipelineFactory(), triggered_by="alice", file=file, load_again=True)
    assert {"file_path": file.file_path, "file_id": file.pk, LOAD_AGAIN_KEY: True}.items() <= \
        run.execution_context.items()
    assert [name for name, *_ in sent] == ["pipelines.run_pipeline"]
