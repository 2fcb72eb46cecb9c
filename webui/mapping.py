"""Saving a column mapping for a pipeline (its configuration's `column_mapping`), from the upload page."""

from __future__ import annotations

from django.db import transaction

from pipelines.config import FIELD, PipelineConfig
from pipelines.engine.mapping import CONFIG_KEY
from pipelines.models import Pipeline


class MappingError(ValueError):
    pass


def mapping_save(*, pipeline: Pipeline, pairs: list[tuple[str, str]]) -> dict:
    """Set file column -> pipeline column for the columns in `pairs` (an empty target removes that column's
    mapping); the mappings of other columns stay. Returns the saved mapping."""
    with transaction.atomic():
        locked = Pipeline.all_objects.select_for_update().get(pk=pipeline.pk)
        config = dict(locked.configuration or {})
        mapping = dict(config.get(CONFIG_KEY) or {})
        for source, target in pairs:
            source, target = source.strip(), target.strip()
            if not source:
                continue
            if target and target != source:
                mapping[source] = target
            else:
                mapping.pop(source, None)
        if mapping:
            config[CONFIG_KEY] = mapping
        else:
            config.pop(CONFIG_KEY, None)
        errors = PipelineConfig.parse(config)[1].get(FIELD)
        if errors:
            raise MappingError(" ".join(errors))
        locked.configuration = config
        locked.save(update_fields=["configuration", "updated_at"])
    return mapping
