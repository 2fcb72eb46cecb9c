"""The dashboards read ClickHouse and the metadata database; no table of their own.

`CatalogEntry` only carries the permissions of the catalog pages (the catalog itself is ClickHouse's
``data_catalog``): ``dashboards.view_catalogentry`` to read it, ``dashboards.change_catalogentry`` to edit it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogEntry(models.Model):
    class Meta:
        managed = False
        db_table = "data_catalog"  # in ClickHouse; Django never creates or reads it
        default_permissions = ("view", "change")
        verbose_name = _("data catalog entry")
        verbose_name_plural = _("data catalog entries")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
