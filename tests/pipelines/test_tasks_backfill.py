"""Backfill: one run per day of a range; re-running only the failed runs of a period, each once."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from pipelines import services
from pipelines.models import PipelineRun, RunStatus
from pipelines.tasks import run_pipeline_task
from tests.factories import PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(run_pipeline_task, "apply_async", lambda args, **kw: calls.append(args[0]))
    return calls


def test_backfill_queues_one_run_per_day_with_its_logical_date(sent, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    with django_capture_on_commit_callbacks(execute=True):
        runs = services.pipeline_backfill(pipeline=pipeline, start=date(2024, 2, 27), end=date(2024, 3, 1),
                                          triggered_by="alice")
    assert [r.execution_context["logical_date"] for r in runs] == ["2024-02-27", "2024-02-28", "2024-02-29",
                                                                  "2024-03-01"]
    assert all(r.status == RunStatus.PENDING and r.triggered_by == "alice" for r in runs)
    assert sent == [r.pk for r in runs]


def test_backfill_rejects_a_reversed_or_too_long_period(settings):
    pipeline = PipelineFactory()
    with pytest.raises(ValidationError, match="ends"):
        services.pipeline_backfill(pipeline=pipeline, start=date(2024, 3, 2), end=date(2024, 3, 1),
                                   triggered_by="alice")
    settings.ETL_BACKFILL_MAX_DAYS = 10
    with pytest.raises(ValidationError, match="at most 10 days"):
        services.pipeline_backfill(pipeline=pipeline, start=date(2024, 3, 1), end=date(2024, 3, 11),
                                   triggered_by="alice")
    assert not PipelineRun.objects.exists()


def _failed(pipeline, *, logical: str | None = None, created: datetime | None = None, status=RunStatus.FAILED):
    run = PipelineRunFactory(pipeline=pipeline, status=status,
                             execution_context={"logical_date": logical} if logical else {})
    if created:
        PipelineRun.objects.filter(pk=run.pk).update(created_at=created)
        run.refresh_from_db()
    return run


def test_rerun_failed_repeats_only_the_failed_runs_of_the_period_once(sent, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    tz = timezone.get_current_timezone()
    in_period = _failed(pipeline, logical="2024-03-02")
    in_period.execution_context["file_path"] = "/data/day2.csv"
    PipelineRun.objects.filter(pk=in_period.pk).update(execution_context=in_period.execution_context)
    by_creation = _failed(pipeline, created=datetime(2024, 3, 3, 12, tzinfo=tz))
    _failed(pipeline, logical="2024-03-09")  # outside
    _failed(pipeline, created=datetime(2024, 2, 20, tzinfo=tz))  # outside
    _failed(pipeline, logical="2024-03-02", status=RunStatus.SUCCESS)  # not failed
    _failed(PipelineFactory(), logical="2024-03-02")  # another pipeline

    with django_capture_on_commit_callbacks(execute=True):
        reruns = services.runs_rerun_failed(pipeline=pipeline, since=date(2024, 3, 1), until=date(2024, 3, 5),
                                            triggered_by="bob")
    assert [r.execution_context["rerun_of"] for r in reruns] == [in_period.pk, by_creation.pk]
    assert reruns[0].execution_context["logical_date"] == "2024-03-02"
    assert reruns[0].execution_context["file_path"] == "/data/day2.csv"
    assert reruns[1].execution_context["logical_date"] == "2024-03-03"
    assert all(r.status == RunStatus.PENDING and r.triggered_by == "bob" and r.retry_count == 0 for r in reruns)
    assert sent == [r.pk for r in reruns]

    # Again: nothing new. A re-run that failed too gets its own turn.
    assert services.runs_rerun_failed(pipeline=pipeline, since=date(2024, 3, 1), until=date(2024, 3, 5),
                                      triggered_by="bob") == []
    PipelineRun.objects.filter(pk=reruns[0].pk).update(status=RunStatus.FAILED)
    again = services.runs_rerun_failed(pipeline=pipeline, since=date(2024, 3, 1), until=date(2024, 3, 5),
                                       triggered_by="bob")
    assert [r.execution_context["rerun_of"] for r in again] == [reruns[0].pk]


def test_the_command_backfills_or_reruns_and_reports_user_mistakes(sent):
    pipeline = PipelineFactory(name="Daily sales")
    assert call_command("backfill", "Daily sales", "--from", "2024-01-01", "--to", "2024-01-03") \
        == "3 run(s) of \"Daily sales\" queued."
    run = PipelineRun.objects.filter(pipeline=pipeline).order_by("pk").first()
    PipelineRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    assert call_command("backfill", str(pipeline.pk), "--from", "2024-01-01", "--to", "2024-01-31",
                        "--failed-only") == "1 run(s) of \"Daily sales\" queued."
    assert PipelineRun.objects.filter(pipeline=pipeline, triggered_by="backfill").count() == 4

    with pytest.raises(CommandError, match="not a date"):
        call_command("backfill", "Daily sales", "--from", "2024-13-01", "--to", "2024-01-03")
    with pytest.raises(CommandError, match="No pipeline"):
        call_command("backfill", "Nope", "--from", "2024-01-01", "--to", "2024-01-03")
    with pytest.raises(CommandError, match="ends"):
        call_command("backfill", "Daily sales", "--from", "2024-01-05", "--to", "2024-01-03")
    pipeline.soft_delete()
    with pytest.raises(CommandError, match="No pipeline"):
        call_command("backfill", "Daily sales", "--from", "2024-01-01", "--to", "2024-01-03")


def test_logical_date_falls_back_to_the_local_creation_day():
    run = PipelineRunFactory(execution_context={})
    assert services.run_logical_date(run) == timezone.localdate(run.created_at)
    run.execution_context = {"logical_date": "not a date"}
    assert services.run_logical_date(run) == timezone.localdate(run.created_at)
    run.execution_context = {"logical_date": (date.today() - timedelta(days=3)).isoformat()}
    assert services.run_logical_date(run) == date.today() - timedelta(days=3)
