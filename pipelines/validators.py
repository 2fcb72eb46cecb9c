"""The model fields' validators of a pipeline: its cron schedule, tags and JSON configuration.

The configuration is judged by pipelines.config (PipelineConfig.parse); its messages name the exact place that
is wrong ("validation_rules.data_types.amount: ...") so the admin form, the API and the commands can show them
where the user is. The migrations refer to these functions by their path: they stay here.
"""

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from pipelines.config import FIELD, PipelineConfig, configuration_errors
from pipelines.config_schema import DATA_TYPES

__all__ = ["DATA_TYPES", "configuration_errors", "validate_configuration", "validate_cron", "validate_tags"]


def validate_cron(value: str) -> None:
    """Five fields: minute hour day-of-month month day-of-week, as cron and django-celery-beat read them."""
    if not value:
        return
    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(
            _("A cron schedule has five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\"; "
              "got %(count)d.") % {"count": len(fields)}
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                day_of_week=day_of_week)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            _("Invalid cron schedule \"%(value)s\": %(reason)s") % {"value": value, "reason": exc}
        ) from exc


def validate_tags(value) -> None:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ValidationError(_("Tags must be a JSON list of non-empty strings, e.g. [\"sales\", \"monthly\"]."))


def validate_configuration(config) -> None:
    """The model field's validator: PipelineConfig.parse's messages, on the configuration field."""
    errors = PipelineConfig.parse(config)[1].get(FIELD)
    if errors:
        raise ValidationError(errors)
