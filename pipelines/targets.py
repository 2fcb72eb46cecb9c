"""A pipeline's ClickHouse target table: its name, and whether the pipeline may load into it."""

from __future__ import annotations

from etlsite.identifiers import sanitize_identifier


def configured_target_table(pipeline) -> str | None:
    target = (pipeline.configuration or {}).get("target") if isinstance(pipeline.configuration, dict) else None
    table = target.get("table") if isinstance(target, dict) else None
    return table if isinstance(table, str) and table.strip() else None


def target_table_name(pipeline) -> str:
    """configuration.target.table, or else the pipeline's name, as a ClickHouse identifier."""
    return sanitize_identifier(configured_target_table(pipeline) or pipeline.name or "")


def target_table_errors(pipeline) -> dict[str, str]:
    """{field: message} when the pipeline's target is a table no pipeline may load into (the field that names
    it: configuration.target.table, or the name it is made from)."""
    from analytics.target_tables import reserved_table_error

    problem = reserved_table_error(target_table_name(pipeline))
    if problem is None:
        return {}
    return {"configuration" if configured_target_table(pipeline) else "name": problem}
