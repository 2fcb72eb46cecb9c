"""Corrections people make to quarantined values before a replay (pipelines/engine/replay.py)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Max, Q

from staging.quarantine import QuarantinedRow, QuarantineStatus

STAGING = "staging"
EDITABLE = (QuarantineStatus.OPEN, QuarantineStatus.CORRECTED)


def quarantine_runs():
    """Per run: how many quarantined values, how many still open, when the last came in."""
    return (QuarantinedRow.objects.using(STAGING).values("pipeline_run_id")
            .annotate(total=Count("id"), open=Count("id", filter=Q(status=QuarantineStatus.OPEN)),
                      corrected=Count("id", filter=Q(status=QuarantineStatus.CORRECTED)), last=Max("created_at"))
            .order_by("-pipeline_run_id"))


def quarantine_correct(*, run_id: int, corrections: dict[int, str | None], dismiss: set[int] = frozenset()) -> int:
    """Set corrected values (id -> new value; None is NULL) and dismiss rows, for open or corrected rows of
    `run_id` only. Returns how many rows changed."""
    changed = 0
    rows = QuarantinedRow.objects.using(STAGING).filter(pipeline_run_id=run_id, status__in=EDITABLE)
    with transaction.atomic(using=STAGING):
        if dismiss:
            changed += rows.filter(pk__in=dismiss).update(status=QuarantineStatus.DISMISSED)
        for pk, value in corrections.items():
            if pk in dismiss:
                continue
            changed += rows.filter(pk=pk).update(corrected_value=value, status=QuarantineStatus.CORRECTED)
    return changed
