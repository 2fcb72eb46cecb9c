"""Template filters over etlsite.formatting: {{ share|percent }}, {{ seconds|duration }}, {{ name|humanized }}."""

from django import template

from etlsite.formatting import format_duration, format_percent, humanize_identifier

register = template.Library()


@register.filter
def percent(value, digits=1):
    return format_percent(value, int(digits))


@register.filter
def duration(value):
    return format_duration(value)


@register.filter
def humanized(value):
    return humanize_identifier(value)
