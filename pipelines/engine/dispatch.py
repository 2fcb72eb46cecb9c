"""What the engine needs from the task layer: sending a split run's part tasks and its commit task.

The task layer (pipelines.tasks) passes an object with these two methods; the engine never imports the
tasks, so it runs the same under Celery, eagerly in tests, or with a dispatcher of a test's own.
"""

from __future__ import annotations

from typing import Protocol

from pipelines.models import PipelineRun


class Dispatcher(Protocol):
    def dispatch_parts(self, *, run: PipelineRun, parts: int, attempt: int) -> None:
        """Send one task per part of `attempt` (each calls parts.part_execute)."""

    def dispatch_commit(self, *, run: PipelineRun) -> None:
        """Send the split run's commit task (it calls parts.split_commit)."""
