"""Loads yield the CPU to people: workers and `run_pipeline --sync` run at ETL_WORKER_NICE."""

import os
import subprocess
import sys

import pytest

from tests.pipelines.test_worker_beat import ROOT


def _nice_after(code: str, **env: str) -> int:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return int(out.split()[-1])


def test_the_priority_is_only_ever_lowered_to_the_setting():
    code = ("import django, os; django.setup(); from etlsite.worker_priority import lower_priority; "
            "print(lower_priority())")
    assert _nice_after(code, DJANGO_SETTINGS_MODULE="etlsite.settings", ETL_WORKER_NICE="10") == 10
    assert _nice_after(code, DJANGO_SETTINGS_MODULE="etlsite.settings", ETL_WORKER_NICE="0") == 0
    # Already lower (nice 15) stays so: a worker never raises its priority above what it was started with.
    lowered = "import os; os.setpriority(os.PRIO_PROCESS, 0, 15); " + code
    assert _nice_after(lowered, DJANGO_SETTINGS_MODULE="etlsite.settings", ETL_WORKER_NICE="10") == 15


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_the_runs_staging_session_on_the_embedded_cluster_takes_the_workers_priority():
    """A thread at nice 10 (as a worker's staging thread is) lowers its own embedded-cluster backend to 10,
    and only that one: the session a page would use keeps its priority. Elsewhere (a server named by
    STAGING_POSTGRES_HOST) nothing is changed."""
    import threading
    from pathlib import Path

    from django.db import connections

    from etlsite.worker_priority import session_priority_lower

    if not (Path(connections["staging"].settings_dict.get("HOST") or "x") / "postmaster.pid").is_file():
        assert session_priority_lower(connections["staging"]) is None
        pytest.skip("staging is a PostgreSQL server, not the embedded cluster: left as it is")
    seen = {}

    def staging_thread():
        os.setpriority(os.PRIO_PROCESS, 0, 10)  # this thread only (Linux)
        connection = connections["staging"]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                seen["backend"] = cursor.fetchone()[0]
            seen["returned"] = session_priority_lower(connection)
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, seen["backend"])
        finally:
            connection.close()

    thread = threading.Thread(target=staging_thread)
    thread.start()
    thread.join(60)
    with connections["staging"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    assert seen["returned"] == seen["nice"] == 10
    assert os.getpriority(os.PRIO_PROCESS, mine) == 0  # the other sessions keep theirs
