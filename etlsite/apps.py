from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EtlsiteConfig(AppConfig):
    """The project package as an app: shared abstract models and the cross-database management commands."""

    name = "etlsite"
    verbose_name = _("ETL system")

    def ready(self):
        from django.contrib import admin

        from etlsite import login_throttle  # connects its signal receivers

        admin.site.login_form = login_throttle.lockout_form_class()
