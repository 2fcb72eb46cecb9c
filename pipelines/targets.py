"""A pipeline's ClickHouse target table: its name, and whether the pipeline may load into it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from etlsite.identifiers import sanitize_identifier
from pipelines.config import PipelineConfig


def configured_target_table(pipeline) -> str | None:
    return PipelineConfig.read(pipeline.configuration).target_table


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


def merge_key_errors(pipeline) -> dict[str, str]:
    """{"configuration": message} when the merge key names columns its existing target table lacks.

    Before the first load no table exists: the run checks the key against the source's columns then
    (a merge key is required and not null: pipelines.validation). ClickHouse out of reach: not judged here.
    """
    from analytics.clickhouse import ClickHouseError, get_target
    from analytics.loading import table_columns
    from pipelines.config_schema import write_mode_errors

    config = PipelineConfig.read(pipeline.configuration)
    mode, key = config.write_mode, config.merge_key
    if mode != "merge" or not key or write_mode_errors(config.raw):
        return {}
    table = target_table_name(pipeline)
    try:
        columns = table_columns(get_target(), table)
    except ClickHouseError:
        return {}
    missing = [name for name in key if columns and name not in columns]
    if not missing:
        return {}
    return {"configuration": _("merge_key: the target table %(table)s has no column %(columns)s (its columns: "
                               "%(have)s).") % {"table": table, "columns": ", ".join(missing),
                                                "have": ", ".join(c for c in columns if not c.startswith("_"))}}
