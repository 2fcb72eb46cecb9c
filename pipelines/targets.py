"""A pipeline's ClickHouse target table: its name, and whether the pipeline may load into it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from etlsite.identifiers import sanitize_identifier
from etlsite.messages import Message, _msg
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


# A target table belongs to the pipelines that load it: loading into one another pipeline loads needs this
# permission (superusers have it; no group is given it), and even then only appends (pipelines.migrations 0005).
SHARED_TARGET_PERMISSION = "pipelines.load_shared_target"
# The write modes that delete rows of the table before loading (replace: all of them; merge: those whose key
# comes again): into a table another pipeline loads they would delete that pipeline's rows.
DELETING_WRITE_MODES = ("replace", "merge")


def pipelines_loading(table: str, *, exclude_pk=None) -> list:
    """The live (not deleted) pipelines that load `table`, other than pipeline `exclude_pk`, by name."""
    from pipelines.models import Pipeline

    live = Pipeline.objects.only("name", "configuration").order_by("name")
    if exclude_pk is not None:
        live = live.exclude(pk=exclude_pk)
    return [pipeline for pipeline in live if target_table_name(pipeline) == table]


def _target_field(pipeline) -> str:
    return "configuration" if configured_target_table(pipeline) else "name"


def shared_write_mode_error(pipeline, others: list | None = None) -> Message | None:
    """Why `pipeline` may not load its target table with its write mode: replace or merge into a table another
    live pipeline loads (it would delete that pipeline's rows). For everyone; also checked when a run starts (a
    Message: the run stores it and shows it in the reader's language)."""
    mode = PipelineConfig.read(pipeline.configuration).write_mode
    if mode not in DELETING_WRITE_MODES:
        return None
    table = target_table_name(pipeline)
    others = pipelines_loading(table, exclude_pk=pipeline.pk) if others is None else others
    if not others:
        return None
    return _msg("write_mode \"%(mode)s\" would delete the rows the pipeline \"%(pipeline)s\" loads into "
                "%(table)s: a table several pipelines load takes only write_mode \"append\".") % {
        "mode": mode, "pipeline": others[0].name, "table": table}


def shared_target_errors(pipeline) -> dict[str, str]:
    """{field: message} for the model's clean (everyone): `shared_write_mode_error`, and joining a table another
    pipeline replaces or merges into (its next run would delete this one's rows; the run check refuses it)."""
    others = pipelines_loading(target_table_name(pipeline), exclude_pk=pipeline.pk)
    problem = shared_write_mode_error(pipeline, others)
    if problem is None:
        deleting = [other for other in others if other.config.write_mode in DELETING_WRITE_MODES]
        if deleting:
            problem = _("The pipeline \"%(pipeline)s\" loads %(table)s with write_mode \"%(mode)s\", which deletes "
                        "rows: no other pipeline may load into that table.") % {
                "pipeline": deleting[0].name, "table": target_table_name(pipeline),
                "mode": deleting[0].config.write_mode}
    return {_target_field(pipeline): str(problem)} if problem is not None else {}


def shared_target_permission_errors(*, user, pipeline, stored=None) -> dict[str, list[str]]:
    """{field: [message]} when `user` may not make `pipeline` load a table another live pipeline loads: that
    needs SHARED_TARGET_PERMISSION, unless the stored pipeline (`stored`) loaded that table already (a change
    of something else keeps what someone allowed to decided)."""
    table = target_table_name(pipeline)
    if stored is not None and stored.pk is not None and target_table_name(stored) == table:
        return {}
    if user is not None and user.is_active and user.has_perm(SHARED_TARGET_PERMISSION):
        return {}
    others = pipelines_loading(table, exclude_pk=getattr(pipeline, "pk", None))
    if not others:
        return {}
    return {_target_field(pipeline): [
        _("The pipeline \"%(pipeline)s\" loads into %(table)s already: name another target table (only users "
          "allowed to load into a table another pipeline loads may add to it).")
        % {"pipeline": others[0].name, "table": table}]}
