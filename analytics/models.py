"""ClickHouse lives outside the ORM (see analytics.clickhouse); this module only carries permissions."""

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
