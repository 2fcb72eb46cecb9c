"""Runs whose worker died must not stay `running`: a heartbeat while a run executes, a watchdog that ends it.

A run shows it is alive by touching its row: the engine's progress beats (`run_progress`, which also sets
execution_context["heartbeat_at"]) and, between them, the task's heartbeat thread (`run_heartbeat`), which
bumps only `updated_at` so that it never races the engine's writes of execution_context. A run silent for
longer than ETL_RUN_STALE_SECONDS has lost its worker (killed, out of memory, machine gone, hard time
limit); `runs_mark_dead` marks it failed with the time it was last seen.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from etlsite.messages import _msg
from pipelines.models import PipelineRun, RunStatus

logger = logging.getLogger(__name__)


def run_stale_after() -> timedelta:
    """How long a running run may stay silent before it counts as dead (several missed heartbeats)."""
    return timedelta(seconds=getattr(settings, "ETL_RUN_STALE_SECONDS", 300))


def heartbeat_interval() -> float:
    return float(getattr(settings, "ETL_HEARTBEAT_SECONDS", 30))


def run_last_seen(run: PipelineRun) -> datetime | None:
    """The latest sign of life: the engine's heartbeat_at, the task's heartbeat (updated_at), started_at."""
    seen = [moment for moment in (run.started_at, run.updated_at) if moment]
    value = (run.execution_context or {}).get("heartbeat_at")
    if value:
        try:
            seen.append(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            pass
    return max(seen) if seen else None


def runs_mark_dead(*, stale_after: timedelta | None = None) -> int:
    """Mark failed every running run silent for longer than `stale_after`; returns how many."""
    now = timezone.now()
    cutoff = now - (run_stale_after() if stale_after is None else stale_after)
    marked = 0
    # updated_at is touched by every heartbeat, so it prefilters; the update repeats the test on the row
    # as read, so a heartbeat (or a finish) that lands meanwhile wins.
    for run in PipelineRun.objects.filter(status=RunStatus.RUNNING, updated_at__lt=cutoff).order_by("pk"):
        last_seen = run_last_seen(run)
        if last_seen and last_seen >= cutoff:
            continue
        shown = timezone.localtime(last_seen).strftime("%Y-%m-%d %H:%M:%S %Z") if last_seen else "?"
        message = _msg("The worker running this run stopped responding (last heartbeat at %(when)s).") % {
            "when": shown}
        ctx = {**(run.execution_context or {}), "step": "failed", "dead_worker": True, "error": message.as_json()}
        duration = round((now - run.started_at).total_seconds(), 3) if run.started_at else None
        updated = PipelineRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, updated_at=run.updated_at).update(
            status=RunStatus.FAILED, error_message=message.english(), finished_at=now, duration_seconds=duration,
            execution_context=ctx, updated_at=now)
        if updated:
            marked += 1
            run.refresh_from_db()
            _cleanup(run)
    if marked:
        logger.warning("watchdog: %d run(s) whose worker stopped responding marked failed", marked)
    return marked


def _cleanup(run: PipelineRun) -> None:
    # Cycle: engine.runner imports pipelines.services, which imports this module (run_stale_after). The lesser
    # evil: only this housekeeping step needs the engine, and the web process that claims and cancels need not.
    from pipelines.engine.runner import run_abandoned_cleanup

    run_abandoned_cleanup(run=run)


def run_touch(run_id: int) -> bool:
    """One heartbeat: bump updated_at while the run is running; False once it is not."""
    return bool(PipelineRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(updated_at=timezone.now()))


@contextmanager
def run_heartbeat(*, run_id: int, every: float | None = None):
    """Beat for `run_id` from a background thread while the block runs (the worker process is alive).

    The engine's own progress beats come only between batches; a long ClickHouse commit or a slow source
    would otherwise look like a dead worker.
    """
    stop = threading.Event()
    interval = every if every is not None else heartbeat_interval()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not run_touch(run_id):
                        return
                except DatabaseError:
                    logger.warning("heartbeat of run %s could not be written; trying again", run_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"heartbeat-run-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 30)
