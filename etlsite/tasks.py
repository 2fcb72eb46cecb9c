"""How every Celery task of the project is declared: `etl_task`, with its name, time limits and retry policy.

It lives in etlsite, the layer every app sits on, so that analytics and staging declare their tasks the same
way without importing the pipelines app. tests/pipelines/test_tasks.py pins every registered task's name.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import shared_task

# Time limits (soft, hard) of the housekeeping tasks; a run's tasks get their pipeline's timeout per message
# instead (pipelines.services.task_dispatch), over the CELERY_TASK_*_TIME_LIMIT defaults.
HOUSEKEEPING_LIMITS = (240, 300)
LONG_HOUSEKEEPING_LIMITS = (25 * 60, 30 * 60)


def etl_task(name: str, *, limits: tuple[int, int] | None = None, bind: bool = False) -> Callable:
    """Declare a Celery task under `name`, the string beat rows and queued messages store (never rename one).

    - time limits: `limits` = (soft, hard) seconds; None for a run's tasks, sent with their pipeline's limits.
    - delivery: acknowledged when the task ends (acks_late, as CELERY_TASK_ACKS_LATE says for all), so a task
      whose worker was lost is delivered again; every task is safe to repeat (a run is claimed once).
    - retries: never Celery's own (max_retries=0, no autoretry). A run that failed for a transient reason is
      retried as a new attempt of the same run, with backoff (pipelines.execution.run_after_finish).
    """
    options = {"name": name, "bind": bind, "acks_late": True, "max_retries": 0}
    if limits is not None:
        options.update(soft_time_limit=limits[0], time_limit=limits[1])
    return shared_task(**options)
