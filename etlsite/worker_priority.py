"""Loads yield the CPU to people. A Celery worker (and `run_pipeline --sync`, which does a worker's job in the
foreground) lowers its scheduling priority to ETL_WORKER_NICE (10 by default; 0 leaves it) so that, where the
web server, the databases and the workers share a machine's cores, a page asked for during a big load is
answered first and the load takes the cycles left over. The databases keep their own priority: a query a
page waits for is no slower for the load's sake. Raising a priority back needs privileges, so it is only ever
lowered."""

from __future__ import annotations

import os

from celery.signals import worker_init


def lower_priority(target: int | None = None) -> int:
    """Set this process's nice value to `target` (the setting by default) unless it is already lower in
    priority; returns the nice value it has afterwards. Child processes (the pool) inherit it."""
    if target is None:
        from django.conf import settings

        target = settings.ETL_WORKER_NICE
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, min(target, 19))
        except OSError:  # a sandbox that forbids it: the worker runs as it is
            pass
    return os.getpriority(os.PRIO_PROCESS, 0)


@worker_init.connect
def _worker_starts(**kwargs) -> None:
    lower_priority()
