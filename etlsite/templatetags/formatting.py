"""Template filters over etlsite.formatting: {{ share|percent }}, {{ seconds|duration }}, {{ bytes|filesize }},
{{ name|humanized }}."""

from django import template

from etlsite.formatting import byte_units as units_of_bytes
from etlsite.formatting import format_bytes, format_duration, format_percent, humanize_identifier

register = template.Library()


@register.filter
def percent(value, digits=1):
    return format_percent(value, int(digits))


@register.filter
def duration(value):
    return format_duration(value)


@register.filter
def filesize(value):
    return format_bytes(value)


@register.filter
def humanized(value):
    return humanize_identifier(value)


@register.simple_tag
def byte_units():
    """{% byte_units as units %}: the units of the filesize filter, for a script that sizes files itself."""
    return units_of_bytes()
