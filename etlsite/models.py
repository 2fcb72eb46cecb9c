"""Abstract bases shared by the metadata and staging models."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AliveQuerySet(models.QuerySet):
    """Bulk soft delete and restore; a bulk update sends no signals, so these audit themselves."""

    def soft_delete(self) -> int:
        ids = list(self.values_list("pk", flat=True))
        count = self.update(is_deleted=True, deleted_at=timezone.now(), updated_at=timezone.now())
        self._audit("delete", "soft_delete", ids)
        return count

    def restore(self) -> int:
        ids = list(self.values_list("pk", flat=True))
        count = self.update(is_deleted=False, deleted_at=None, updated_at=timezone.now())
        self._audit("update", "restore", ids)
        return count

    def _audit(self, operation: str, action: str, ids: list) -> None:
        if not ids:
            return
        from analytics.audit import audit_record

        audit_record(operation_type=operation, table_name=self.model._meta.db_table,
                     details={"action": action, "object_ids": ids})


class AliveManager(models.Manager.from_queryset(AliveQuerySet)):
    """The default manager: rows that were soft-deleted are hidden everywhere unless asked for."""

    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=False)


class SoftDeleteModel(models.Model):
    is_deleted = models.BooleanField(_("deleted"), default=False, db_index=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    objects = AliveManager()
    all_objects = models.Manager.from_queryset(AliveQuerySet)()

    class Meta:
        abstract = True
        # Forward relations (run.pipeline, pipeline.data_source) must still resolve after a soft delete:
        # the history a deleted row is part of stays readable.
        base_manager_name = "all_objects"

    def soft_delete(self) -> None:
        self.is_deleted = True
        self.deleted_at = timezone.now()
        self.save(update_fields=["is_deleted", "deleted_at", "updated_at"])

    def restore(self) -> None:
        self.is_deleted = False
        self.deleted_at = None
        self.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
