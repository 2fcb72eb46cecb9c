"""A new pipeline from an uploaded file, in one step: an upload-only file source, a pipeline whose
configuration says what the person chose for each column, and the run that loads the file.

The upload page's "new pipeline" form (webui/newpipeline.py) proposes the choices from the file's profile
(pipelines/profiling.py); this module checks them again, builds the configuration, and creates everything in
one transaction: a refused name, table or rule leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, router, transaction
from django.utils.translation import gettext as _

from etlsite.identifiers import sanitize_identifier
from etlsite.names import validate_display_name
from pipelines.config import TARGET_TABLE_NAME
from pipelines.inference import CONTRACT_KEY, NULL_VALUES_KEY, Contract
from pipelines.models import Pipeline, PipelineRun, PipelineStatus
from pipelines.services import run_enqueue
from pipelines.targets import target_table_name
from sources.models import DataSource, SourceType
from staging.models import FileMetadata

# Creating a pipeline from a file makes a source, a pipeline and a run.
PERMISSIONS = ("sources.add_datasource", "pipelines.add_pipeline", "pipelines.add_pipelinerun")
TABLE_NAME = TARGET_TABLE_NAME  # the same rule as a configuration's target.table (pipelines.config)
# What an upload's name ends in that is not part of the name people know the data by.
_SUFFIXES = re.compile(r"(\.(csv|tsv|tab|txt|json|jsonl|ndjson|parquet|pq|xlsx|xlsm|gz|zip))+$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnChoice:
    """What the person chose for one column (its name is the sanitized header, the pipeline's column)."""

    name: str
    type_name: str
    required: bool = False
    unique: bool = False
    minimum: int | float | str | None = None
    maximum: int | float | str | None = None
    allowed_values: tuple = ()


@dataclass(frozen=True)
class NewPipeline:
    name: str
    target_table: str
    columns: list[ColumnChoice]
    null_values: list[str] = field(default_factory=list)
    contract: Contract | None = None  # the sample's inferred contract: its date formats and decimal separator
    read_options: dict = field(default_factory=dict)  # the source's connection_config (e.g. a chosen encoding)


def can_create(user) -> bool:
    return user.has_perms(PERMISSIONS)


def file_stem(filename: str) -> str:
    """"penguins-raw.csv.gz" -> "penguins-raw"."""
    stem = _SUFFIXES.sub("", Path(filename).name).strip()
    return stem or Path(filename).name


def _live_pipelines():
    return Pipeline.objects.only("name", "configuration")


def pipeline_name_errors(name: str) -> list[str]:
    try:
        validate_display_name(name)
    except ValidationError as exc:
        return list(exc.messages)
    if not name.strip():
        return [_("Name the pipeline.")]
    if Pipeline.objects.filter(name=name).exists():
        return [_("A pipeline named \"%(name)s\" exists already; choose another name, or load the file into that "
                  "pipeline.") % {"name": name}]
    return []


def target_table_errors(table: str) -> list[str]:
    """Why a new pipeline may not load into `table`: not an identifier as ClickHouse tables are named here,
    a table of the application's own schema (analytics.target_tables), or another pipeline's target."""
    from analytics.target_tables import reserved_table_error

    if not TABLE_NAME.match(table):
        return [_("A table name has lower-case Latin letters, digits and underscores, starts with a letter and has "
                  "at most 63 characters; for example %(example)s.") % {"example": sanitize_identifier(table)}]
    reserved = reserved_table_error(table)
    if reserved:
        return [reserved]
    taken = [p.name for p in _live_pipelines() if target_table_name(p) == table]
    if taken:
        return [_("The pipeline \"%(pipeline)s\" loads into %(table)s already; name another table, or load the "
                  "file into that pipeline.") % {"pipeline": taken[0], "table": table}]
    return []


def proposed_names(filename: str) -> tuple[str, str]:
    """A free pipeline name and target table for a file: its name without the extension, numbered when
    taken."""
    stem = file_stem(filename)[:240]
    name, number = stem, 1
    while pipeline_name_errors(name) and number < 100:
        number += 1
        name = f"{stem} {number}"
    base = sanitize_identifier(stem)[:56]
    table, number = base, 1
    while target_table_errors(table) and number < 100:
        number += 1
        table = f"{base}_{number}"
    return name, table


def configuration_build(new: NewPipeline) -> dict:
    """The pipeline configuration the choices mean (pipelines/config_schema.py's keys)."""
    rules: dict = {"data_types": {c.name: c.type_name for c in new.columns}}
    required = [c.name for c in new.columns if c.required]
    if required:
        rules["required_columns"] = required
    unique = [[c.name] for c in new.columns if c.unique]
    if unique:
        rules["unique"] = unique
    for key, attribute in (("min", "minimum"), ("max", "maximum")):
        bounds = {c.name: getattr(c, attribute) for c in new.columns if getattr(c, attribute) is not None}
        if bounds:
            rules[key] = bounds
    allowed = {c.name: list(c.allowed_values) for c in new.columns if c.allowed_values}
    if allowed:
        rules["allowed_values"] = allowed
    config = {"target": {"table": new.target_table}, NULL_VALUES_KEY: list(new.null_values),
              "validation_rules": rules}
    if new.contract is not None:
        # Stored as the pipeline's contract, so the first run does not infer again (its date formats and
        # decimal separator read the file); the declared data_types above win column by column.
        config[CONTRACT_KEY] = new.contract.as_config()
    return config


def _source_name(name: str) -> str:
    base = _("%(pipeline)s (uploads)") % {"pipeline": name[:230]}
    candidate, number = base, 1
    while DataSource.objects.filter(name=candidate).exists():
        number += 1
        candidate = f"{base} {number}"
    return candidate


def create_pipeline_from_upload(*, file: FileMetadata, user, new: NewPipeline) -> PipelineRun:
    """Create the source, the pipeline and the run that loads `file`, in one transaction. Raises
    PermissionDenied without the permissions, ValidationError ({field: messages}; fields name, target_table,
    configuration) for a choice that cannot be saved; then nothing is created. The run is handed to a worker
    when the transaction commits."""
    if not can_create(user):
        raise PermissionDenied
    errors = {key: problems for key, problems in (("name", pipeline_name_errors(new.name)),
                                                  ("target_table", target_table_errors(new.target_table)))
              if problems}
    if errors:
        raise ValidationError(errors)
    config = configuration_build(new)
    using = router.db_for_write(Pipeline)
    try:
        with transaction.atomic(using=using):
            source = DataSource(name=_source_name(new.name), source_type=SourceType.FILE,
                                connection_config=dict(new.read_options),
                                description=_("Files uploaded for the pipeline %(name)s.") % {"name": new.name})
            source.full_clean()
            source.save()
            pipeline = Pipeline(name=new.name, data_source=source, status=PipelineStatus.ACTIVE,
                                configuration=config,
                                description=_("Created from the file %(file)s.") % {"file": file.original_filename})
            try:
                pipeline.full_clean()
            except ValidationError as exc:
                raise ValidationError(_field_errors(exc)) from exc
            pipeline.save()
            return run_enqueue(pipeline=pipeline, triggered_by=user.get_username(),
                               execution_context={"file_path": file.file_path, "file_id": file.pk})
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "connection_config" in exc.error_dict:  # the source's read options
            raise ValidationError({"configuration": exc.message_dict["connection_config"]}) from exc
        raise
    except IntegrityError as exc:  # another request took the name in between
        raise ValidationError({"name": pipeline_name_errors(new.name) or [str(exc)]}) from exc


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The model's fields as the form names them: the configuration's problems belong to the columns."""
    if not hasattr(exc, "error_dict"):
        return {"configuration": exc.messages}
    fields = {"name": "name", "configuration": "configuration"}
    errors: dict[str, list[str]] = {}
    for key, problems in exc.message_dict.items():
        errors.setdefault(fields.get(key, "configuration"), []).extend(problems)
    return errors


__all__ = ["PERMISSIONS", "ColumnChoice", "NewPipeline", "can_create", "configuration_build",
           "create_pipeline_from_upload", "pipeline_name_errors", "proposed_names", "target_table_errors"]
