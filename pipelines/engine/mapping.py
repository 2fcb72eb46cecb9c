"""Column mapping: the pipeline's `column_mapping` configuration key renames a file's columns to the ones the
pipeline expects, e.g. {"sale_date": "date", "sum": "amount"}. Keys and values are sanitized column names
(what `etlsite.identifiers.sanitize_columns` makes of a header). The upload page saves it per pipeline; the
engine applies it right after sanitizing, so staging, validation and the target all see the mapped names.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from etlsite.identifiers import sanitize_columns
from pipelines.config_schema import is_column_name

CONFIG_KEY = "column_mapping"


def column_mapping_errors(mapping) -> list[str]:
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        return [_("column_mapping must be a JSON object: {\"file column\": \"pipeline column\"}.")]
    errors = []
    for source, target in mapping.items():
        if not (is_column_name(source) and isinstance(target, str) and is_column_name(target)):
            errors.append(_("column_mapping.%(source)s: both names must be sanitized column names "
                            "(lower-case letters, digits and _).") % {"source": source})
    targets = [t for t in mapping.values() if isinstance(t, str)]
    if len(set(targets)) < len(targets):
        errors.append(_("column_mapping maps two file columns to the same pipeline column."))
    return errors


def column_mapping_apply(columns: list[str], mapping: dict | None) -> list[str]:
    """The mapped names, in the same order; a clash with an unmapped column is resolved as sanitize_columns
    resolves duplicates (the mapped column keeps the name, the other gets a suffix)."""
    if not mapping:
        return columns
    renamed = [mapping.get(name, name) for name in columns]
    if len(set(renamed)) == len(renamed):
        return renamed
    # Mapped columns first so they keep their names, then back into the file's order.
    order = sorted(range(len(renamed)), key=lambda i: columns[i] not in mapping)
    unique = sanitize_columns([renamed[i] for i in order])
    result = [""] * len(renamed)
    for position, index in enumerate(order):
        result[index] = unique[position]
    return result


def source_headers(raw_names: list[str], columns: list[str]) -> dict[str, str]:
    """column -> the file's own header, for the columns whose name the run changed (`Body Mass (g)` ->
    `body_mass_g`): kept with the run (execution_context["source_headers"]) so lineage can show both."""
    return {column: str(raw) for raw, column in zip(raw_names, columns, strict=True) if str(raw) != column}
