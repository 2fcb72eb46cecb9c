"""The worker's side of etlsite.workers: a daemon thread of the worker's main process writes the heartbeat
from the moment the worker is ready until it shuts down. A thread, not a periodic task: a task would queue
behind a long run, and "the worker answers" means its main process is alive, as Celery's own ping does."""

from __future__ import annotations

import threading

from celery.signals import worker_ready, worker_shutdown

_stop = threading.Event()


def _beat() -> None:
    from django.db import close_old_connections

    from etlsite.workers import HEARTBEAT_EVERY, heartbeat_record

    while True:
        heartbeat_record()
        close_old_connections()  # a database-backed cache: no connection kept open between beats
        if _stop.wait(HEARTBEAT_EVERY):
            return


@worker_ready.connect
def start_heartbeat(**kwargs) -> None:
    _stop.clear()
    threading.Thread(target=_beat, name="etl-worker-heartbeat", daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs) -> None:
    _stop.set()
