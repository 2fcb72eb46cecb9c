"""The worker's status in every page's header and on /health/ (issue 16): a heartbeat the worker writes to
the shared cache; no worker -> the header and /health/ say so, a live worker -> "answering"."""

import os
import time

import pytest
from django.core.cache import cache

from etlsite.workers import HEARTBEAT_KEY, STATUS_KEY, heartbeat_record, worker_status
from pipelines.models import RunStatus
from tests.factories import PipelineRunFactory
from tests.pipelines.test_worker_beat import _start, _stop


@pytest.fixture
def no_eager(settings):
    from etlsite.celery import app

    assert not app.conf.task_always_eager  # tasks run inline would need no worker at all
    settings.ETL_HEALTH_WORKER_TIMEOUT = 0.3


@pytest.mark.django_db
def test_no_worker_the_header_says_so_with_the_waiting_runs(admin_client, no_eager):
    PipelineRunFactory.create_batch(2, status=RunStatus.PENDING)
    text = admin_client.get("/upload/").text
    assert "No worker" in text and "2 waiting" in text and "worker-down" in text
    admin = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ru").text
    assert "Нет исполнителя" in admin and "2 ожидают" in admin


@pytest.mark.django_db
def test_a_recent_heartbeat_is_a_worker_answering(admin_client, no_eager):
    heartbeat_record()
    text = admin_client.get("/upload/").text
    assert "Worker: answering" in text and "worker-ok" in text and "waiting" not in text


@pytest.mark.django_db
def test_a_heartbeat_older_than_a_minute_is_no_worker(no_eager):
    heartbeat_record(at=time.time() - 61)
    status = worker_status()
    assert not status.answered and status.last_seen is not None


@pytest.mark.django_db
def test_the_header_reads_the_status_at_most_every_few_seconds(no_eager):
    worker_status()
    PipelineRunFactory(status=RunStatus.PENDING)
    assert worker_status().pending == 0  # the cached reading
    cache.delete(STATUS_KEY)
    assert worker_status().pending == 1


@pytest.mark.django_db
def test_anonymous_pages_show_no_status(client, no_eager):
    assert "worker-status" not in client.get("/admin/login/").text


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_pending_run_page_says_it_waits_for_a_worker(admin_client, no_eager):
    run = PipelineRunFactory(status=RunStatus.PENDING)
    assert "Waiting for a worker: no Celery worker" in admin_client.get(f"/runs/{run.pk}/").text
    heartbeat_record()
    assert "Waiting for a worker: no Celery worker" not in admin_client.get(f"/runs/{run.pk}/").text
    cache.delete(HEARTBEAT_KEY)
    cache.delete(STATUS_KEY)
    done = PipelineRunFactory(status=RunStatus.SUCCESS)
    assert "Waiting for a worker: no Celery worker" not in admin_client.get(f"/runs/{done.pk}/").text


@pytest.fixture
def worker_with_shared_cache(settings, tmp_path, no_eager):
    """A real Celery worker on the suite's broker whose cache is the folder this process's cache is too."""
    folder = tmp_path / "cache"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                                   "LOCATION": str(folder)}}
    log = tmp_path / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CELERY_TASK_ALWAYS_EAGER": "false",
           "DJANGO_CACHE_URL": f"filecache://{folder}", "ETL_ENV_FILE": str(tmp_path / "no.env")}
    process = _start(["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                      "--hostname", f"heartbeat-{os.getpid()}@%h"], env, log)
    try:
        deadline = time.monotonic() + 90
        while cache.get(HEARTBEAT_KEY) is None:
            assert process.poll() is None, f"the worker exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no heartbeat from the worker: {log.read_text()[-3000:]}"
            time.sleep(0.3)
        yield process
    finally:
        _stop(process)


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_live_worker_answers_in_the_header_and_on_health(admin_client, client, clickhouse,
                                                           worker_with_shared_cache):
    PipelineRunFactory(status=RunStatus.PENDING)
    text = admin_client.get("/upload/").text
    assert "Worker: answering" in text and "1 waiting" in text
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"]["worker"] == "ok" and body["pending_runs"] == 1 and body["worker_seen_at"]
