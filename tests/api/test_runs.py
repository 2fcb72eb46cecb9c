"""Runs: list and filter, progress, trigger (with or without a file), cancel, re-run, throttling."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from pipelines.models import PipelineRun
from staging.models import FileMetadata
from tests.api.conftest import error_of
from tests.factories import FileMetadataFactory, PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

URL = "/api/v1/runs/"
CSV = b"date,amount,product_id\n2024-01-01,10.5,1\n2024-01-02,7.25,2\n"


@pytest.fixture
def no_worker(django_capture_on_commit_callbacks):
    """Runs are queued on commit; the tests look at the queued run, no worker executes it."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        yield callbacks


def test_list_filter_by_pipeline_status_and_period_and_order(api):
    mine, other = PipelineFactory(), PipelineFactory()
    old = PipelineRunFactory(pipeline=mine, status="failed")
    PipelineRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    new = PipelineRunFactory(pipeline=mine, status="success")
    running = PipelineRunFactory(pipeline=other, status="running")

    ids = lambda **q: [r["id"] for r in api.get(URL, q).json()["results"]]  # noqa: E731
    assert ids() == [running.pk, new.pk, old.pk]
    assert ids(pipeline=mine.pk) == [new.pk, old.pk]
    assert ids(status="failed") == [old.pk]
    assert sorted(ids(status=["failed", "running"])) == sorted([old.pk, running.pk])
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(pipeline=mine.pk, created_after=since) == [new.pk]
    assert ids(pipeline=mine.pk, created_before=since) == [old.pk]
    assert ids(ordering="created_at") == [old.pk, new.pk, running.pk]
    response = api.get(URL, {"status": "exploded"})
    assert response.status_code == 400 and "status" in error_of(response)["fields"]


def test_retrieve_shows_progress(api):
    run = PipelineRunFactory(status="running", execution_context={"step": "load", "rows_read": 5000,
                                                                  "rows_loaded": 4990, "rows_quarantined": 10})
    body = api.get(f"{URL}{run.pk}/").json()
    assert body["progress"] == {"step": "load", "percent": 70, "rows_read": 5000, "rows_loaded": 4990,
                                "rows_quarantined": 10}
    assert body["pipeline_name"] == run.pipeline.name
    done = PipelineRunFactory(status="success", execution_context={"step": "done"})
    assert api.get(f"{URL}{done.pk}/").json()["progress"]["percent"] == 100


def test_trigger_queues_a_pending_run(api, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(URL, {"pipeline": pipeline.pk}, format="json")
    assert response.status_code == 201, response.json()
    run = PipelineRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.pipeline, run.triggered_by) == ("pending", pipeline, "root")
    assert response.json()["progress"]["step"] == "pending"
    assert len(callbacks) == 1  # one task handed to Celery on commit


def test_trigger_with_an_uploaded_file(api, no_worker):
    pipeline = PipelineFactory()
    upload = SimpleUploadedFile("sales march.csv", CSV, content_type="text/csv")
    response = api.post(URL, {"pipeline": pipeline.pk, "file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    run = PipelineRun.objects.get(pk=response.json()["id"])
    file = FileMetadata.objects.get()
    assert run.execution_context["file_id"] == file.pk
    assert run.execution_context["file_path"] == file.file_path
    assert file.original_filename == "sales march.csv" and file.pipeline_run_id == run.pk


def test_trigger_with_a_file_id_and_refusals(api, no_worker):
    pipeline = PipelineFactory()
    file = FileMetadataFactory()
    response = api.post(URL, {"pipeline": pipeline.pk, "file_id": file.pk}, format="json")
    assert response.status_code == 201
    assert PipelineRun.objects.get(pk=response.json()["id"]).execution_context["file_id"] == file.pk

    response = api.post(URL, {"pipeline": pipeline.pk, "file_id": 999999}, format="json")
    assert response.status_code == 400 and "file_id" in error_of(response)["fields"]
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400 and "pipeline" in error_of(response)["fields"]
    deprecated = PipelineFactory(status="deprecated")
    response = api.post(URL, {"pipeline": deprecated.pk}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"
    assert PipelineRun.objects.count() == 1


def test_cancel_a_running_run_and_refuse_a_finished_one(api):
    running = PipelineRunFactory(status="running")
    response = api.post(f"{URL}{running.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    running.refresh_from_db()
    assert running.status == "cancelled" and running.execution_context["cancelled_by"] == "root"
    response = api.post(f"{URL}{running.pk}/cancel/")
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"


def test_rerun_a_failed_run(api, no_worker):
    failed = PipelineRunFactory(status="failed", execution_context={"file_path": "/data/a.csv"})
    response = api.post(f"{URL}{failed.pk}/rerun/")
    assert response.status_code == 201, response.json()
    new = PipelineRun.objects.get(pk=response.json()["id"])
    assert new.status == "pending" and new.execution_context["rerun_of"] == failed.pk
    assert new.execution_context["file_path"] == "/data/a.csv"
    success = PipelineRunFactory(status="success")
    assert api.post(f"{URL}{success.pk}/rerun/").status_code == 409


def test_runs_are_read_only_apart_from_the_actions(api):
    run = PipelineRunFactory()
    assert api.patch(f"{URL}{run.pk}/", {"status": "success"}, format="json").status_code == 405
    response = api.delete(f"{URL}{run.pk}/")
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_triggers_are_throttled_with_the_error_format(api, no_worker, settings):
    from django.core.cache import cache

    cache.clear()
    pipeline = PipelineFactory()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "triggers": "2/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        codes = [api.post(URL, {"pipeline": pipeline.pk}, format="json").status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        response = api.post(URL, {"pipeline": pipeline.pk}, format="json")
        assert error_of(response)["code"] == "throttled"
        assert api.get(URL).status_code == 200  # polling is not throttled
    assert PipelineRun.objects.count() == 2


def test_period_bounds_with_extreme_offsets_are_read_in_utc(api):
    run = PipelineRunFactory()
    ids = [r["id"] for r in api.get(URL, {"created_before": "6856-03-16T03:14:37.403-23:59"}).json()["results"]]
    assert ids == [run.pk]
    response = api.get(URL, {"created_before": "9999-12-31T23:00:00-05:00"})
    assert response.status_code == 400 and "created_before" in error_of(response)["fields"]


@pytest.mark.parametrize("query", [{"pipeline": "9" * 30}, {"pipeline": "-5"}, {"triggered_by": "\x00"}])
def test_out_of_range_filters_are_not_server_errors(api, query):
    assert api.get(URL, query).status_code in (200, 400)
    assert api.get("/api/v1/files/", {"pipeline_run_id": query.get("pipeline", "1")}).status_code in (200, 400)
