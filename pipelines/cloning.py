"""Cloning a pipeline: the same source, configuration, limits and tags under a new name, as a draft (so a
clone does not run on the original's schedule until someone activates it). The clone loads its own table (the
one its name gives): a target table belongs to the pipelines that load it (pipelines.targets), so a copy that
kept the original's configured table would share it without anyone deciding so."""

from __future__ import annotations

import copy

from django.db import transaction
from django.utils.translation import gettext as _

from pipelines.models import Pipeline, PipelineStatus

NAME_LENGTH = 255


def _free_name(name: str) -> str:
    base = _("%(name)s (copy)") % {"name": name}
    candidate, number = base, 2
    while Pipeline.objects.filter(name=candidate).exists():
        candidate = _("%(name)s (copy %(n)d)") % {"name": name, "n": number}
        number += 1
    return candidate[:NAME_LENGTH]


@transaction.atomic
def pipeline_clone(*, pipeline: Pipeline) -> Pipeline:
    configuration = copy.deepcopy(pipeline.configuration or {})
    if isinstance(configuration.get("target"), dict):
        configuration["target"].pop("table", None)
        if not configuration["target"]:
            del configuration["target"]
    return Pipeline.objects.create(
        name=_free_name(pipeline.name), description=pipeline.description, data_source=pipeline.data_source,
        status=PipelineStatus.DRAFT, configuration=configuration,
        schedule_cron=pipeline.schedule_cron, max_retries=pipeline.max_retries,
        timeout_seconds=pipeline.timeout_seconds, tags=list(pipeline.tags or []),
    )
