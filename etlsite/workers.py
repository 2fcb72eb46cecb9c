"""Whether a Celery worker answered in the last minute, and how many runs wait for one.

Each worker writes a heartbeat (a timestamp in Django's cache, shared by the web processes and the workers:
the folder under ETL_VAR_DIR, or DJANGO_CACHE_URL) every HEARTBEAT_EVERY seconds from a thread of its main
process (etlsite.worker_heartbeat). The pages read it through worker_status(), itself cached for a few
seconds, so no page waits for the broker; /health/ also pings the workers when the heartbeat is old (a worker
whose cache is not shared still counts there, and its answer is recorded as a heartbeat).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.core.cache import cache

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "etl:worker:heartbeat"
STATUS_KEY = "etl:worker:status"
HEARTBEAT_EVERY = 20  # seconds between a worker's heartbeats
ANSWERED_WITHIN = 60  # a worker "answered" when its last heartbeat is at most this old
STATUS_CACHED_FOR = 10  # seconds the pages reuse one reading


@dataclass(frozen=True)
class WorkerStatus:
    answered: bool
    pending: int
    last_seen: datetime | None

    @property
    def runs_wait_without_worker(self) -> bool:
        return self.pending > 0 and not self.answered


def heartbeat_record(at: float | None = None) -> None:
    """A worker answered now (or at `at`, a Unix time)."""
    try:
        cache.set(HEARTBEAT_KEY, time.time() if at is None else at, timeout=None)
        cache.delete(STATUS_KEY)
    except Exception:  # a cache that is down must not stop a worker; the pages then say "no worker"
        logger.warning("worker heartbeat: the cache did not take it", exc_info=True)


def worker_last_seen() -> datetime | None:
    try:
        seen = cache.get(HEARTBEAT_KEY)
    except Exception:
        logger.warning("worker heartbeat: the cache did not answer", exc_info=True)
        return None
    return datetime.fromtimestamp(seen, tz=timezone.utc) if isinstance(seen, (int, float)) else None


def worker_answered_recently() -> bool:
    from etlsite.celery import app

    if app.conf.task_always_eager:  # tasks run inside the caller: no worker is needed
        return True
    seen = worker_last_seen()
    return seen is not None and time.time() - seen.timestamp() <= ANSWERED_WITHIN


def pending_runs() -> int:
    from pipelines.models import PipelineRun, RunStatus

    return PipelineRun.objects.filter(status=RunStatus.PENDING).count()


def worker_status() -> WorkerStatus:
    """What the header shows; read at most once per STATUS_CACHED_FOR seconds."""
    status = cache.get(STATUS_KEY)
    if isinstance(status, WorkerStatus):
        return status
    status = WorkerStatus(answered=worker_answered_recently(), pending=pending_runs(),
                          last_seen=worker_last_seen())
    cache.set(STATUS_KEY, status, timeout=STATUS_CACHED_FOR)
    return status
