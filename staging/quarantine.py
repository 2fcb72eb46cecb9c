"""Rows that failed validation, kept in the staging database (table `quarantined_rows`) for review and replay.

One entry per failing value: the run, the staging table the row lives in, its `_row_number`, the column,
the value as text, and why (the rule and a message). Quarantined rows are few, so plain bulk_create is fast
enough.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from etlsite.messages import SOURCE_LANGUAGE, Message, english_text, shown, stored_json
from etlsite.models import TimestampedModel

STAGING_ALIAS = "staging"
BULK_BATCH_SIZE = 5000


class QuarantineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CORRECTED = "corrected", _("Corrected")
    REPLAYED = "replayed", _("Replayed")
    DISMISSED = "dismissed", _("Dismissed")


class QuarantinedRow(TimestampedModel):
    """A value of a staged row that failed a validation rule (table `quarantined_rows`)."""

    pipeline_run_id = models.BigIntegerField(_("pipeline run id"), db_index=True)
    staging_table = models.CharField(_("staging table"), max_length=255)
    row_number = models.BigIntegerField(_("row number"))
    column_name = models.CharField(_("column"), max_length=255, blank=True, default="")
    # NULL and '' are different values of a source row, so both are kept as they were.
    value = models.TextField(_("value"), null=True, blank=True)  # noqa: DJ001
    reason = models.TextField(_("reason"))  # in English (etlsite.messages); `shown_reason` in the reader's
    # The reason as a message (msgid and params), rendered in the reader's language; NULL for rows stored
    # before messages were kept, or reasons that are plain text.
    reason_message = models.JSONField(_("reason as a message"), null=True, blank=True)
    rule = models.CharField(_("rule"), max_length=100)
    status = models.CharField(_("status"), max_length=20, choices=QuarantineStatus.choices,
                              default=QuarantineStatus.OPEN)
    corrected_value = models.TextField(_("corrected value"), null=True, blank=True)  # noqa: DJ001

    class Meta:
        app_label = "staging"
        db_table = "quarantined_rows"
        verbose_name = _("quarantined row")
        verbose_name_plural = _("quarantined rows")
        ordering = ["pipeline_run_id", "row_number", "id"]

    def __str__(self) -> str:
        return f"#{self.pipeline_run_id} row {self.row_number} {self.column_name}"

    @property
    def reason_text(self) -> str:
        """The reason in the active language (the stored text for an older row)."""
        return shown(self.reason, self.reason_message)


@dataclass(frozen=True)
class QuarantineEntry:
    """One failing value, as validation reports it."""

    row_number: int
    column_name: str
    value: Any
    reason: Message | str
    rule: str



def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    # PostgreSQL's text cannot hold NUL; the quarantine is for people to read, so show it instead.
    return str(value).replace("\x00", "\ufffd")


class QuarantineStore:
    """Adds and counts quarantined rows."""

    def add(self, *, pipeline_run_id: int, staging_table: str, rows: Iterable[QuarantineEntry]) -> int:
        """Store the entries in one transaction; returns how many were stored."""
        with translation.override(SOURCE_LANGUAGE):  # the reasons' English text: one switch for all rows
            objects = [self._row(pipeline_run_id, staging_table, entry) for entry in rows]
        if not objects:
            return 0
        with transaction.atomic(using=STAGING_ALIAS):
            QuarantinedRow.objects.using(STAGING_ALIAS).bulk_create(objects, batch_size=BULK_BATCH_SIZE)
        return len(objects)

    @staticmethod
    def _row(pipeline_run_id: int, staging_table: str, entry: QuarantineEntry) -> QuarantinedRow:
        return QuarantinedRow(
            pipeline_run_id=pipeline_run_id, staging_table=staging_table, row_number=entry.row_number,
            column_name=entry.column_name or "", value=_as_text(entry.value), reason=english_text(entry.reason),
            reason_message=stored_json(entry.reason), rule=str(entry.rule)[:100])

    def count(self, pipeline_run_id: int) -> int:
        return QuarantinedRow.objects.using(STAGING_ALIAS).filter(pipeline_run_id=pipeline_run_id).count()
