"""Quality metrics in words: a metric's name people read ("Empty values" for null_rate) and its value as the
metric means it (a rate as a percentage, an age as a duration, a count whole), in the viewer's language.
The quality dashboard and the run page both write metrics through here."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.formatting import format_duration, format_percent, humanize_identifier

METRIC_LABELS = {
    "null_rate": gettext_lazy("Empty values"),
    "invalid_rate": gettext_lazy("Invalid values"),
    "distinct_count": gettext_lazy("Distinct values"),
    "row_count": gettext_lazy("Rows loaded"),
    "freshness_seconds": gettext_lazy("Age of the newest data"),
    "min": gettext_lazy("Minimum"),
    "max": gettext_lazy("Maximum"),
    "mean": gettext_lazy("Mean"),
    "quarantined_share": gettext_lazy("Quarantined share"),
    "usual_share": gettext_lazy("Usual quarantined share"),
}
# A validation outcome is stored as "validation_<rule>" (analytics.quality.VALIDATION_PREFIX): the share of
# checked rows that passed the rule. Its label names the rule as the configuration's rules mean it.
VALIDATION_RULE_LABELS = {
    "data_types": gettext_lazy("Check: data types"),
    "required_columns": gettext_lazy("Check: required columns"),
    "not_null": gettext_lazy("Check: no empty values"),
    "unique": gettext_lazy("Check: unique values"),
    "min": gettext_lazy("Check: minimum"),
    "max": gettext_lazy("Check: maximum"),
    "allowed_values": gettext_lazy("Check: allowed values"),
    "regex": gettext_lazy("Check: pattern"),
}
VALIDATION_PREFIX = "validation_"
RATE_METRICS = {"null_rate", "invalid_rate", "quarantined_share", "usual_share", "pass_rate"}
COUNT_METRICS = {"row_count", "distinct_count", "checks_run", "checks_passed", "metrics_written", "anomalies",
                 "added", "removed", "retyped"}


def metric_label(metric: str) -> str:
    label = METRIC_LABELS.get(metric)
    if label is None and metric.startswith(VALIDATION_PREFIX):
        label = VALIDATION_RULE_LABELS.get(metric.removeprefix(VALIDATION_PREFIX))
    return str(label) if label is not None else humanize_identifier(metric)


def metric_value(metric: str, value) -> str:
    """A measured value as its metric means it: a rate as a percentage, an age as a duration, a count whole."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if metric in RATE_METRICS or metric.startswith(VALIDATION_PREFIX):
        return format_percent(value)
    if metric == "freshness_seconds":
        return format_duration(value)
    if metric in COUNT_METRICS:
        return number_format(int(round(value)), force_grouping=True)
    rounded = round(float(value), 4)
    return number_format(int(rounded) if rounded == int(rounded) else rounded, force_grouping=True)


def bounds_text(metric: str, low, high) -> str:
    if low is not None and high is not None:
        return _("between %(low)s and %(high)s") % {"low": metric_value(metric, low),
                                                    "high": metric_value(metric, high)}
    if high is not None:
        return _("at most %(high)s") % {"high": metric_value(metric, high)}
    if low is not None:
        return _("at least %(low)s") % {"low": metric_value(metric, low)}
    return ""
