"""The test suite's Celery broker: a Redis database of its own on the suite's broker server (the embedded
Valkey under var/, or the Redis server CELERY_BROKER_URL names), so that a test's workers read only what
that test sends, and nothing of the suite reaches a development worker on database 0."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

SESSION_DB = 15  # tasks the suite's code sends (API triggers, uploads); flushed when the session starts


def url_with_db(url: str, db: int) -> str:
    """The same broker server, Redis database `db`: `redis+socket:///path?virtual_host=N` or `redis://h:p/N`."""
    parts = urlsplit(url)
    if parts.scheme.endswith("socket"):
        return f"{parts.scheme}://{parts.path}?virtual_host={db}"  # urlunsplit would drop the empty netloc
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def redis_client(url: str):
    """A redis-py client for a kombu broker URL."""
    import redis

    parts = urlsplit(url)
    if parts.scheme.endswith("socket"):
        db = int(dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("virtual_host", 0))
        return redis.Redis(unix_socket_path=parts.path, db=db, socket_connect_timeout=3)
    return redis.Redis.from_url(urlunsplit(("redis", parts.netloc, parts.path, "", "")), socket_connect_timeout=3)


def use_session_broker() -> str:
    """Point this process's Celery app (and settings) at the suite's own database, emptied."""
    from django.conf import settings

    from etlsite.celery import app

    url = url_with_db(settings.CELERY_BROKER_URL, SESSION_DB)
    redis_client(url).flushdb()
    settings.CELERY_BROKER_URL = url
    # Celery prefers the CELERY_BROKER_URL environment variable to its configuration (CI's second pass sets it):
    # the variable must say the same, or this process would ping and send elsewhere than its workers listen.
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    return url


def own_broker(monkeypatch, db: int):
    """A flushed Redis database for one test's workers; the runs this process enqueues (run_pipeline_task)
    are published there through a producer of the test's own. Yields (url, redis client)."""
    from django.conf import settings

    from pipelines.tasks import run_pipeline_task

    url = url_with_db(settings.CELERY_BROKER_URL, db)
    client = redis_client(url)
    client.flushdb()
    app = run_pipeline_task.app
    assert not app.conf.task_always_eager, "CELERY_TASK_ALWAYS_EAGER is set: tasks would not reach the workers"
    connection = app.connection_for_write(url=url)
    producer = connection.Producer()
    original = run_pipeline_task.apply_async

    def apply_async(args=None, kwargs=None, **options):
        return original(args, kwargs, producer=producer, **options)

    monkeypatch.setattr(run_pipeline_task, "apply_async", apply_async)
    try:
        yield url, client
    finally:
        producer.release()
        connection.release()
        client.flushdb()
        client.close()
