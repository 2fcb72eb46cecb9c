from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelinesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pipelines"
    verbose_name = _("Pipelines")

    def ready(self) -> None:
        from pipelines import signals

        signals.connect(self)
