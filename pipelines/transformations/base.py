"""The transformation registry, the step contract and the per-run context.

A configuration names steps as "clean_duplicates" or {"name": "rename", "params": {...}}. The engine calls, per
batch and in configuration order, `get_step(name).apply(table, ctx, params)` with one `TransformContext` for the
whole run. A step:
- validates and completes its params (defaults) itself, and raises `StepError` (a `RunError`) when it cannot go on;
- keeps per-run state (seen keys, a loaded reference) in the dict `apply` hands it: keyed by `ctx.step_index`
  when the caller sets it (`apply_steps` does), otherwise by the step name and the identity of the params
  object, which must then be the same object for every batch of a run (the engine resolves its step list once)
  and a different object for each configured step;
- counts the rows it removes in `ctx.removed[<step name>]` (two "filter" steps add to one "filter" count);
- records lineage edges for the columns it creates or changes (`ctx.add_lineage`, kept once per run).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from etlsite.messages import _msg
from pipelines.config_schema import column_name_error, is_number
from pipelines.engine.errors import RunError

ROW_NUMBER = "_row_number"


class StepError(RunError):
    """A step cannot go on (a missing column, a value that cannot be cast ...); the message is for the user."""


@dataclass(frozen=True)
class LineageEdge:
    source_columns: tuple[str, ...]
    target_column: str
    transformation_type: str  # rename, derive, lookup, cast, fill_nulls, trim
    transformation_logic: str
    source_table: str = ""  # "" = the rows of the run itself; for lookups, the reference's name or path

    def as_dict(self) -> dict:
        return {"source_columns": list(self.source_columns), "target_column": self.target_column,
                "transformation_type": self.transformation_type,
                "transformation_logic": self.transformation_logic, "source_table": self.source_table}


@dataclass
class TransformContext:
    reference_loader: Callable[[dict | str], pa.Table] | None = None
    state: dict[Any, dict] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    lineage: list[LineageEdge] = field(default_factory=list)
    step_index: int | None = None

    def count_removed(self, step_name: str, rows: int) -> None:
        self.removed[step_name] = self.removed.get(step_name, 0) + int(rows)

    def add_lineage(self, edge: LineageEdge) -> None:
        if edge not in self.lineage:
            self.lineage.append(edge)

    def load_reference(self, reference: dict | str) -> pa.Table:
        if self.reference_loader is None:
            raise StepError(_msg("No reference data can be loaded in this context."))
        return self.reference_loader(reference)


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # column, columns, mapping, number, boolean, string, value, reference, expression
    description: Any  # a lazy translation
    required: bool = False
    default: Any = None


_TYPE_LABELS = {"mapping": gettext_lazy("a non-empty JSON object"), "number": gettext_lazy("a number"),
                "boolean": gettext_lazy("true or false"), "string": gettext_lazy("a string"),
                "expression": gettext_lazy("a non-empty expression"),
                "reference": gettext_lazy("a reference name or a {\"file_path\": ...} or {\"source\": ...} object")}


class Step:
    name: ClassVar[str]
    description: ClassVar[Any]
    params: ClassVar[tuple[Param, ...]] = ()

    def normalize(self, params: dict) -> dict:
        """Shorthand forms of the params into the documented form."""
        return params

    def check(self, params: dict) -> list[str]:
        """Problems beyond the declared param types; `params` has its defaults filled in."""
        return []

    def run(self, table: pa.Table, ctx: TransformContext, params: dict, state: dict) -> pa.Table:
        raise NotImplementedError

    def errors(self, params) -> list[str]:
        if not isinstance(params, dict):
            return [_("params must be a JSON object.")]
        params = self.normalize(params)
        known = {p.name: p for p in self.params}
        errors = [_("unknown parameter \"%(name)s\"; expected: %(known)s.")
                  % {"name": key, "known": ", ".join(known) or "-"} for key in params if key not in known]
        for param in self.params:
            if param.name not in params:
                if param.required:
                    errors.append(_("parameter \"%(name)s\" is required.") % {"name": param.name})
                continue
            problem = _type_error(param, params[param.name])
            if problem:
                errors.append(problem)
        return errors or self.check(self.resolve_unchecked(params))

    def resolve_unchecked(self, params: dict) -> dict:
        params = self.normalize(params)
        return {p.name: params[p.name] if p.name in params else copy.deepcopy(p.default) for p in self.params}

    def resolve(self, params) -> dict:
        errors = self.errors(params if params is not None else {})
        if errors:
            raise StepError(f"{self.name}: " + " ".join(errors))
        return self.resolve_unchecked(params or {})

    def apply(self, table: pa.Table | pa.RecordBatch, ctx: TransformContext, params: dict | None = None) -> pa.Table:
        key = ctx.step_index if ctx.step_index is not None else (self.name, id(params))
        state = ctx.state.setdefault(key, {})
        if "params" not in state:  # validated once per run
            state["params"] = self.resolve(params)
            state["source"] = params  # held, so no other params object of the run can get the same id
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        return self.run(table, ctx, state["params"], state)

    def describe(self) -> dict:
        return {"name": self.name, "description": str(self.description),
                "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                                "description": str(p.description)} for p in self.params]}


def _type_error(param: Param, value) -> str | None:
    where = _("parameter \"%(name)s\"") % {"name": param.name}
    if param.type == "column":
        return column_name_error(where, value)
    if param.type == "columns":
        if not isinstance(value, list) or not value:
            return _("%(where)s must be a non-empty list of column names.") % {"where": where}
        problems = [column_name_error(where, v) for v in value]
        return next((p for p in problems if p), None)
    checks = {"mapping": lambda v: isinstance(v, dict) and bool(v), "number": is_number,
              "boolean": lambda v: isinstance(v, bool), "string": lambda v: isinstance(v, str),
              "expression": lambda v: isinstance(v, str) and bool(v.strip()),
              "reference": lambda v: (isinstance(v, str) and bool(v.strip())) or isinstance(v, dict)}
    check = checks.get(param.type)
    if check is not None and not check(value):
        return _("%(where)s: expected %(type)s, got %(value)s.") % {
            "where": where, "type": _TYPE_LABELS[param.type], "value": _short(value)}
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def missing_columns_error(step: str, table: pa.Table, columns) -> StepError | None:
    missing = [c for c in columns if c not in table.column_names]
    if not missing:
        return None
    return StepError(_("%(step)s: no column %(missing)s in the data (columns: %(have)s).") % {
        "step": step, "missing": ", ".join(f"\"{c}\"" for c in missing),
        "have": ", ".join(c for c in table.column_names if c != ROW_NUMBER)})


REGISTRY: dict[str, Step] = {}


def register(cls: type[Step]) -> type[Step]:
    REGISTRY[cls.name] = cls()
    return cls


def get_step(name: str) -> Step:
    try:
        return REGISTRY[name]
    except KeyError:
        raise StepError(_msg("Unknown transformation step \"%(name)s\"; available: %(names)s.")
                        % {"name": name, "names": ", ".join(sorted(REGISTRY))}) from None


def describe_registry() -> list[dict]:
    """Every step with its (translated) description and parameters, for the admin form's help."""
    return [REGISTRY[name].describe() for name in sorted(REGISTRY)]


def validate_params(name: str, params) -> list[str]:
    if name not in REGISTRY:
        return [_("unknown step \"%(name)s\"; available: %(names)s.")
                % {"name": name, "names": ", ".join(sorted(REGISTRY))}]
    return REGISTRY[name].errors(params if params is not None else {})


@dataclass(frozen=True)
class StepCall:
    index: int
    step: Step
    params: dict


def resolve_steps(transformations) -> list[StepCall]:
    """The configuration's "transformations" as calls; StepError for an unknown step."""
    calls = []
    for index, entry in enumerate(transformations or []):
        name, params = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("params") or {})
        calls.append(StepCall(index, get_step(name), params))
    return calls


def apply_steps(table: pa.Table | pa.RecordBatch, calls: list[StepCall], ctx: TransformContext) -> pa.Table:
    """Run every step over one batch, with each step's state keyed by its position in the configuration."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    for call in calls:
        ctx.step_index = call.index
        try:
            table = call.step.apply(table, ctx, call.params)
        finally:
            ctx.step_index = None
    return table


def steps_errors(transformations: list) -> list[str]:
    """Problems of the well-formed entries of "transformations", prefixed with their place."""
    errors = []
    for index, entry in enumerate(transformations):
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(
                entry.get("params", {}), dict):
            name, params = entry["name"], entry.get("params", {})
        else:
            continue  # the shape error is reported by pipelines.validators
        if name not in REGISTRY:
            errors.append(_("transformations[%(index)d]: unknown step \"%(name)s\"; available: %(names)s.")
                          % {"index": index, "name": name, "names": ", ".join(sorted(REGISTRY))})
            continue
        for message in validate_params(name, params):
            errors.append(_("transformations[%(index)d] (%(name)s): %(message)s")
                          % {"index": index, "name": name, "message": message})
    return errors
