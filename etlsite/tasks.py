"""How every Celery task of the project is declared: `etl_task`, with its name, time limits and retry policy.

It lives in etlsite, the layer every app sits on, so that analytics and staging declare their tasks the same
way without importing the pipelines app. tests/pipelines/test_tasks.py pins every registered task's name.
`task_named` finds a declared task by that name, for a module below the one declaring it.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import current_app, shared_task

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


def task_named(name: str):
    """The task declared under `name`, for a module that sends it but sits below the module that declares it:
    pipelines.services dispatches the run task of pipelines.tasks, whose tasks call the services.

    Each app's tasks module fills Celery's registry when it is imported; a process that has not imported them
    yet (the web process) imports them here, as a worker does at its start (Celery's autodiscovery).
    """
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]
