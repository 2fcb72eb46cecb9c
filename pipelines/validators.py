"""Validation of what people type into a pipeline: its cron schedule, tags and JSON configuration.

Messages name the exact place that is wrong ("validation_rules.data_types.amount: ...") so the admin form,
the API and the commands can show them where the user is.
"""

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from pipelines.config_schema import DATA_TYPES, parallelism_errors, validation_rules_errors, write_mode_errors
from pipelines.engine.mapping import column_mapping_errors
from pipelines.transformations import steps_errors

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


def configuration_errors(config) -> list[str]:
    """Every problem in a pipeline configuration, in the order a reader meets them."""
    if not isinstance(config, dict):
        return [_("The configuration must be a JSON object.")]
    errors: list[str] = []
    rules = config.get("validation_rules", {})
    if not isinstance(rules, dict):
        errors.append(_("validation_rules must be a JSON object."))
        rules = {}
    errors += validation_rules_errors(rules)
    steps = config.get("transformations", [])
    if not isinstance(steps, list):
        errors.append(_("transformations must be a list of step names or {\"name\": ..., \"params\": {...}} objects."))
    else:
        for index, step in enumerate(steps):
            if isinstance(step, str) and step.strip():
                continue
            named = isinstance(step, dict) and isinstance(step.get("name"), str)
            if named and isinstance(step.get("params", {}), dict):
                continue
            errors.append(
                _("transformations[%(index)d]: expected a step name or {\"name\": ..., \"params\": {...}}.")
                % {"index": index}
            )
        errors += steps_errors(steps)
    errors += _analysis_errors(config)
    errors += parallelism_errors(config.get("parallelism"))
    errors += column_mapping_errors(config.get("column_mapping"))
    errors += _reference_file_errors(config)
    errors += _target_errors(config.get("target"))
    errors += write_mode_errors(config)
    return errors


def _target_errors(target) -> list[str]:
    if target is None:
        return []
    if not isinstance(target, dict) or not isinstance(target.get("table", ""), str):
        return [_("target must be an object such as {\"table\": \"sales\"}: the ClickHouse table to load into.")]
    return []


def _reference_file_errors(config: dict) -> list[str]:
    """Reference files are read like file sources: only from the upload folder and ETL_FILE_ROOTS."""
    from pipelines.engine.references import reference_file_paths
    from sources.fileroots import path_problems

    return path_problems(reference_file_paths(config))[0]


def _analysis_errors(config: dict) -> list[str]:
    """The keys the analysis after a load reads: quality checks, business metrics, schema policy."""
    from analytics.business import business_metric_errors
    from analytics.quality import validate_quality_config

    errors = validate_quality_config(config)
    definitions = config.get("business_metrics", [])
    if not isinstance(definitions, list):
        errors.append(_("business_metrics must be a list of metric definitions."))
    else:
        errors += business_metric_errors(definitions)
    policy = config.get("schema_policy", "evolve")
    if policy not in ("evolve", "freeze", "quarantine", "approve"):
        errors.append(_("schema_policy must be one of evolve, freeze, quarantine, approve; got \"%(value)s\".")
                      % {"value": policy})
    return errors


def validate_configuration(config) -> None:
    errors = configuration_errors(config)
    if errors:
        raise ValidationError(errors)
