"""Corrections people make to quarantined values before a replay (pipelines/engine/replay.py)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models import Count, Max, Q

from analytics.masking import hidden_columns, mask_value
from staging.quarantine import QuarantinedRow, QuarantineStatus
from staging.writer import StagingError, StagingWriter

logger = logging.getLogger(__name__)

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


def quarantine_whole_rows(entries: list[QuarantinedRow], *, user, target_table: str) -> dict[int, dict]:
    """row number -> the whole staged row of the quarantined values on a page: its columns, its values (masked
    for `user` like every other page) and which of them failed, so a person judges a correction in context.

    A run's rows stay in its staging table for a while (seven days; a failed run's are dropped at once): a row
    no longer there is {"missing": True}."""
    by_table: dict[str, set[int]] = {}
    for entry in entries:
        by_table.setdefault(entry.staging_table, set()).add(entry.row_number)
    failing: dict[int, set[str]] = {}
    for entry in entries:
        failing.setdefault(entry.row_number, set()).add(entry.column_name)
    rows: dict[int, dict] = {}
    for table, numbers in by_table.items():
        try:
            names, values = StagingWriter.open(table_name=table).rows_numbered(sorted(numbers))
        except (StagingError, DatabaseError) as exc:
            logger.info("quarantine page: rows of %s unreadable: %s", table, exc)
            names, values = [], {}
        hidden = hidden_columns(user, target_table=target_table, staging_table=table) if values else set()
        for number in numbers:
            if number not in values:
                rows[number] = {"missing": True, "cells": []}
                continue
            rows[number] = {"missing": False, "cells": [
                {"name": name, "value": mask_value(value, name, hidden), "failing": name in failing[number]}
                for name, value in zip(names, values[number], strict=True)]}
    return rows
