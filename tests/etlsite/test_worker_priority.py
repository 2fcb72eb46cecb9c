"""Loads yield the CPU to people: workers and `run_pipeline --sync` run at ETL_WORKER_NICE."""

import os
import subprocess
import sys

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
