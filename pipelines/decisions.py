"""Decisions people take on what runs found: approve or reject a schema change, replay the quarantined rows
they corrected. The admin and the pages call these; the engine's modules (pipelines/engine/drift.py,
replay.py) do the work, so views and admin modules do not import the engine (tests/test_layers.py).
"""

from __future__ import annotations

from pipelines.engine.drift import schema_change_decide
from pipelines.engine.errors import RunError
from pipelines.engine.replay import ReplayResult, quarantine_replay
from pipelines.models import PipelineRun, SchemaChange


class ReplayRefused(ValueError):
    """The replay cannot happen; the message says why (shown as it is)."""


def schema_change_decision(*, change: SchemaChange, approve: bool, by: str) -> bool:
    """Approve or reject a pending change; False when someone already decided it. A change of column types is
    approved by migrating its table after a preview (pipelines.type_changes), not here."""
    return schema_change_decide(change=change, approve=approve, by=by)


def run_quarantine_replay(*, run: PipelineRun) -> ReplayResult:
    """Load the corrected quarantined rows of `run` into its target; ReplayRefused (a ValueError, as the
    replay's own refusals are) when the run's target or rows do not allow it."""
    try:
        return quarantine_replay(run=run)
    except RunError as exc:
        raise ReplayRefused(str(exc)) from exc
