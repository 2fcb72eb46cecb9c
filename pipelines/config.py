"""A pipeline's configuration (the JSON in `pipelines.configuration`), typed and parsed in one place.

`PipelineConfig.parse(data)` returns the typed configuration and its field errors ({"configuration":
[messages]}); every message names the exact place that is wrong ("validation_rules.data_types.amount: ...")
so the admin form, the API and the pages show it where the user is. The model field's validator
(pipelines.validators.validate_configuration) calls it, so the admin form, the API serializer (the model's
full_clean) and the pages' forms all judge a configuration the same way. `PipelineConfig.read(data)` reads it
without judging it, with the defaults a run applies (a stored configuration may predate a rule).

Per section, the checks live with what reads them: `validation_rules` in pipelines.config_schema (shared with
pipelines.validation), transformation steps in pipelines.transformations, the column mapping in
pipelines.engine.mapping, quality checks and business metrics in analytics. A run reads its pipeline's
configuration once (`pipeline.config`) and the engine takes every setting from this object: the parts, the
schema policy, the write mode and merge key, the steps, the rules, the target, the NULL markers, the
references. Only analytics (which may not import the pipelines) receives `raw`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils.translation import gettext as _

from pipelines.config_schema import (
    DEFAULT_WRITE_MODE,
    parallelism_errors,
    validation_rules_errors,
    write_mode_errors,
    write_mode_of,
)
from pipelines.engine.mapping import column_mapping_errors
from pipelines.inference import Contract, null_values_of
from pipelines.transformations import steps_errors
from pipelines.validation import ValidationRules

FIELD = "configuration"
# What a run does when the source's columns differ from the target's (pipelines.engine.drift applies it).
SCHEMA_POLICIES = ("evolve", "freeze", "quarantine", "approve")
DEFAULT_SCHEMA_POLICY = "evolve"

FieldErrors = dict[str, list[str]]
# configuration.target.table: a name as etlsite.identifiers.sanitize_identifier makes them.
TARGET_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PipelineConfig:
    raw: dict[str, Any] = field(default_factory=dict)
    validation_rules: dict[str, Any] = field(default_factory=dict)
    transformations: list[Any] = field(default_factory=list)
    target_table: str | None = None  # configuration.target.table as written; None: the pipeline's name
    schema_policy: str = DEFAULT_SCHEMA_POLICY
    parts: int = 1  # parallelism.parts: read one large file in this many parts
    write_mode: str = DEFAULT_WRITE_MODE
    merge_key: tuple[str, ...] = ()
    column_mapping: dict[str, str] = field(default_factory=dict)

    # Read when a run asks, not in `read`: a value of the wrong shape fails the run (as a RunError or
    # ValueError the run reports), never the page or the form that only reads the configuration.
    @cached_property
    def rules(self) -> ValidationRules:
        """The validation rules a run applies; ValueError listing the problems of invalid ones."""
        return ValidationRules.from_config(self.raw)

    @property
    def contract(self) -> Contract | None:
        """The column types inferred on the first load (None before it)."""
        return Contract.from_config(self.raw)

    @property
    def null_values(self) -> tuple[str, ...]:
        """The text values a run reads as NULL."""
        return null_values_of(self.raw)

    @property
    def references(self) -> dict:
        """The named reference data sets transformation steps join with."""
        return self.raw.get("references", {}) or {}

    @property
    def business_metrics(self) -> list:
        return self.raw.get("business_metrics", []) or []

    @classmethod
    def read(cls, data: Any) -> PipelineConfig:
        """The configuration with the defaults a run applies; a part that is not the expected shape reads as
        its default (it was refused on save, unless written behind the validators' back)."""
        raw = data if isinstance(data, dict) else {}
        rules = raw.get("validation_rules")
        steps = raw.get("transformations")
        mapping = raw.get("column_mapping")
        mode, key = write_mode_of(raw)
        return cls(raw=raw, validation_rules=rules if isinstance(rules, dict) else {},
                   transformations=steps if isinstance(steps, list) else [], target_table=_target_table(raw),
                   schema_policy=raw.get("schema_policy", DEFAULT_SCHEMA_POLICY), parts=_parts(raw),
                   write_mode=mode, merge_key=key, column_mapping=mapping if isinstance(mapping, dict) else {})

    @classmethod
    def parse(cls, data: Any) -> tuple[PipelineConfig, FieldErrors]:
        """The typed configuration and every problem in it, in the order a reader meets them."""
        errors = configuration_errors(data)
        return cls.read(data), ({FIELD: errors} if errors else {})


def _target_table(raw: dict) -> str | None:
    target = raw.get("target")
    table = target.get("table") if isinstance(target, dict) else None
    return table if isinstance(table, str) and table.strip() else None


def _parts(raw: dict) -> int:
    value = raw.get("parallelism") or {}
    parts = value.get("parts", 1) if isinstance(value, dict) else 1
    return parts if isinstance(parts, int) and not isinstance(parts, bool) and parts > 1 else 1


def configuration_errors(config: Any) -> list[str]:
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
        errors += _step_shape_errors(steps)
        errors += steps_errors(steps)
    errors += _analysis_errors(config)
    errors += parallelism_errors(config.get("parallelism"))
    errors += column_mapping_errors(config.get("column_mapping"))
    errors += _reference_file_errors(config)
    errors += _target_errors(config.get("target"))
    errors += write_mode_errors(config)
    return errors


def _step_shape_errors(steps: list) -> list[str]:
    errors = []
    for index, step in enumerate(steps):
        if isinstance(step, str) and step.strip():
            continue
        named = isinstance(step, dict) and isinstance(step.get("name"), str)
        if named and isinstance(step.get("params", {}), dict):
            continue
        errors.append(_("transformations[%(index)d]: expected a step name or {\"name\": ..., \"params\": {...}}.")
                      % {"index": index})
    return errors


def _target_errors(target) -> list[str]:
    if target is None:
        return []
    if not isinstance(target, dict) or not isinstance(target.get("table", ""), str):
        return [_("target must be an object such as {\"table\": \"sales\"}: the ClickHouse table to load into.")]
    table = target.get("table", "")
    # A name a run would have to rewrite ("x; DROP TABLE t" -> x_drop_table_t) is refused where it is written;
    # blank still means "the pipeline's name". Stored configurations are not judged when read: they load as before.
    if table.strip() and not TARGET_TABLE_NAME.match(table):
        from etlsite.identifiers import sanitize_identifier

        return [_("target.table: a table name has lower-case Latin letters, digits and underscores, starts with a "
                  "letter and has at most 63 characters; for example %(example)s.")
                % {"example": sanitize_identifier(table)}]
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
    policy = config.get("schema_policy", DEFAULT_SCHEMA_POLICY)
    if policy not in SCHEMA_POLICIES:
        errors.append(_("schema_policy must be one of evolve, freeze, quarantine, approve; got \"%(value)s\".")
                      % {"value": policy})
    return errors
