"""Loads yield the CPU to people. A Celery worker (and `run_pipeline --sync`, which does a worker's job in the
foreground) lowers its scheduling priority to ETL_WORKER_NICE (10 by default; 0 leaves it) so that, where the
web server, the databases and the workers share a machine's cores, a page asked for during a big load is
answered first and the load takes the cycles left over. The databases keep their own priority — a query a
page waits for is no slower for the load's sake — except the run's own staging session on the embedded
cluster (`session_priority_lower`): its COPY keeps a core busy for the whole load, as the worker's own work
would. Raising a priority back needs privileges, so it is only ever lowered."""

from __future__ import annotations

import os
from pathlib import Path

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


def session_priority_lower(connection) -> int | None:
    """Give the server process of `connection` (a Django connection opened in this thread) this thread's nice
    value, when it is a backend of the embedded cluster: reached through its socket folder (HOST, with the
    postmaster.pid of a server on this machine) and a child of that postmaster. Anything else — a server on
    another machine, or in a container whose process ids are not ours — is left as it is (None)."""
    host = connection.settings_dict.get("HOST") or ""
    pid_file = Path(host) / "postmaster.pid"
    try:
        if not host.startswith("/") or not pid_file.is_file():
            return None
        postmaster = int(pid_file.read_text().split()[0])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = int(cursor.fetchone()[0])
        parent = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if parent != postmaster:
            return None
        target = os.getpriority(os.PRIO_PROCESS, 0)  # this thread's (Linux: a thread has its own)
        if target > os.getpriority(os.PRIO_PROCESS, backend):
            os.setpriority(os.PRIO_PROCESS, backend, target)
        return os.getpriority(os.PRIO_PROCESS, backend)
    except (OSError, ValueError, IndexError):  # not ours to change, or gone: the session runs as it is
        return None


@worker_init.connect
def _worker_starts(**kwargs) -> None:
    lower_priority()
