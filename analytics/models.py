"""ClickHouse lives outside the ORM (see analytics.clickhouse). This module carries the permissions of analytics
and the audit outbox, the metadata-database side of etl_audit_log (see analytics/audit.py)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class SensitiveData(models.Model):
    """No table: the holder of the permission sees values of columns the catalog marks sensitive."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_sensitive_data", _("Can see values of sensitive columns"))]
        verbose_name = _("sensitive data")
        verbose_name_plural = _("sensitive data")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class AuditOutbox(models.Model):
    """An audit record not yet in ClickHouse's etl_audit_log.

    Written in the transaction of the change it records (a rolled-back change leaves none), sent after the
    commit and deleted once ClickHouse has it. The columns are etl_audit_log's; `id` becomes the row's id
    there, which lets a retry see what an interrupted send already delivered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    operation_type = models.CharField(_("operation type"), max_length=16)
    table_name = models.CharField(_("table name"), max_length=255, blank=True, default="")
    operation_details = models.TextField(_("operation details"), default="{}")  # JSON, secrets already masked
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    session_id = models.CharField(_("session id"), max_length=64, blank=True, default="")
    ip_address = models.CharField(_("IP address"), max_length=64, blank=True, default="")
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True, default="")
    pipeline_run_id = models.BigIntegerField(_("pipeline run id"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        db_table = "etl_audit_outbox"
        default_permissions = ()
        verbose_name = _("audit record waiting for ClickHouse")
        verbose_name_plural = _("audit records waiting for ClickHouse")

    def __str__(self) -> str:
        return f"{self.operation_type} {self.table_name} {self.created_at:%Y-%m-%d %H:%M:%S}"
