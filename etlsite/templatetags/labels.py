"""Template filters for stored codes in the reader's language (analytics.labels)."""

from django import template

from analytics import labels
from pipelines.models import RunStatus

register = template.Library()


@register.filter
def run_status_label(code: str) -> str:
    """A run's stored status in the reader's language (the run statuses are the pipelines app's)."""
    return str(dict(RunStatus.choices).get(code, code))


register.filter("sensitivity_label", labels.sensitivity_label)
register.filter("lineage_type_label", labels.lineage_type_label)
register.filter("lineage_logic_label", labels.lineage_logic_label)
register.filter("pii_kind_label", labels.pii_kind_label)


@register.filter
def pii_pattern_label(evidence) -> str:
    evidence = evidence if isinstance(evidence, dict) else {}
    return labels.pii_pattern_label(evidence.get("kind", ""), evidence.get("pattern", ""))
