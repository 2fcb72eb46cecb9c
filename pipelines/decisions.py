"""Decisions people take on what runs and uploads found: approve or reject a schema change, replay the
quarantined rows they corrected, map a file's columns to the pipeline's. The admin and the pages call these;
the engine's modules (pipelines/engine/drift.py, replay.py, mapping.py) do the work, so views and admin
modules do not import the engine (tests/test_layers.py).
"""

from __future__ import annotations

from django.db import transaction

from pipelines.config import FIELD, PipelineConfig
from pipelines.engine.drift import schema_change_decide
from pipelines.engine.errors import RunError
from pipelines.engine.mapping import CONFIG_KEY as MAPPING_KEY
from pipelines.engine.replay import ReplayResult, quarantine_replay
from pipelines.models import Pipeline, PipelineRun, SchemaChange


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


class MappingError(ValueError):
    """The mapping would make the configuration invalid; the message says why (shown as it is)."""


def column_mapping_save(*, pipeline: Pipeline, pairs: list[tuple[str, str]]) -> dict:
    """Set file column -> pipeline column (the configuration's `column_mapping`) for the columns in `pairs`
    (an empty target removes that column's mapping); the mappings of other columns stay. Returns the saved
    mapping; MappingError when the configuration it makes is invalid (nothing is saved then)."""
    with transaction.atomic():
        locked = Pipeline.all_objects.select_for_update().get(pk=pipeline.pk)
        config = dict(locked.configuration or {})
        mapping = dict(config.get(MAPPING_KEY) or {})
        for source, target in pairs:
            source, target = source.strip(), target.strip()
            if not source:
                continue
            if target and target != source:
                mapping[source] = target
            else:
                mapping.pop(source, None)
        if mapping:
            config[MAPPING_KEY] = mapping
        else:
            config.pop(MAPPING_KEY, None)
        errors = PipelineConfig.parse(config)[1].get(FIELD)
        if errors:
            raise MappingError(" ".join(errors))
        locked.configuration = config
        locked.save(update_fields=["configuration", "updated_at"])
    return mapping
