from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EtlsiteConfig(AppConfig):
    """The project package as an app: shared abstract models and the cross-database management commands."""

    name = "etlsite"
    verbose_name = _("ETL system")
