"""A JSON Schema of a pipeline configuration, for the admin's configuration editor (pipelines.widgets).

It describes the keys the engine reads and, for "transformations", every step of the transformation registry
with its parameters, so the editor offers them by name. It guides the form only: the server's own checks
(pipelines.validators.configuration_errors) stay the authority, and their messages show on the field.
Unknown keys are allowed here, so a configuration the schema does not know is kept as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from pipelines.config_schema import DATA_TYPES, DECIMAL_SEPARATORS, MAX_PARTS

COLUMN = {"type": "string", "pattern": "^[a-z_][a-z0-9_]{0,62}$"}
COLUMNS = {"type": "array", "format": "table", "items": {**COLUMN, "title": "column"}}
SCALAR = {"type": ["string", "number", "boolean"]}


def _param_schema(param: dict) -> dict:
    by_type = {
        "column": COLUMN,
        "columns": {**COLUMNS, "minItems": 1},
        "mapping": {"type": "object", "additionalProperties": True},
        "number": {"type": "number"},
        "boolean": {"type": "boolean", "format": "checkbox"},
        "string": {"type": "string"},
        "expression": {"type": "string", "minLength": 1},
        "value": SCALAR,
        "reference": {"type": ["string", "object"]},
    }
    schema = dict(by_type.get(param["type"], {}))
    schema["title"] = param["name"]
    schema["description"] = param["description"]
    if param["default"] is not None:
        schema["default"] = param["default"]
    return schema


def _step_schema(step: dict) -> dict:
    params = step["parameters"]
    return {
        "title": step["name"],
        "description": step["description"],
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": [step["name"]], "title": _("step"), "options": {"hidden": True}},
            "params": {"type": "object", "title": _("parameters"),
                       "properties": {p["name"]: _param_schema(p) for p in params},
                       "required": [p["name"] for p in params if p["required"]],
                       "additionalProperties": False},
        },
        "required": ["name", "params"] if any(p["required"] for p in params) else ["name"],
        "additionalProperties": False,
    }


def _columns_to(value: dict, title: str) -> dict:
    # No "propertyNames": JSON Editor cannot show it ("Unsupported propertyName type" on every such map); the
    # server checks the column names (pipelines.validators), and its errors come back on the field.
    return {"type": "object", "title": title, "additionalProperties": value}


def configuration_json_schema() -> dict:
    from analytics.quality import COLUMN_METRICS, SEVERITIES, TABLE_METRICS
    from pipelines.transformations import describe_registry

    steps = describe_registry()
    words = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
    rules = {
        "required_columns": {**COLUMNS, "title": _("required columns")},
        "data_types": _columns_to({"type": "string", "enum": list(DATA_TYPES)}, _("data types")),
        "not_null": {**COLUMNS, "title": _("not null")},
        "unique": {"type": "array", "title": _("unique"), "items": {"type": ["string", "array"]}},
        # Numbers, or ISO dates for date and datetime columns (what the new-pipeline page writes).
        "min": _columns_to({"type": ["number", "string"]}, _("minimum")),
        "max": _columns_to({"type": ["number", "string"]}, _("maximum")),
        "allowed_values": _columns_to({"type": "array", "items": SCALAR, "minItems": 1}, _("allowed values")),
        "regex": _columns_to({"type": "string", "minLength": 1}, _("regular expressions")),
        "max_failed_ratio": {"type": "number", "minimum": 0, "maximum": 1, "title": _("share of rows that may fail")},
        "date_formats": {**words, "title": _("date formats")},
        "decimal_separator": {"type": "string", "enum": list(DECIMAL_SEPARATORS), "title": _("decimal separator")},
        "true_values": {**words, "title": _("words for true")},
        "false_values": {**words, "title": _("words for false")},
    }
    quality_check = {
        "type": "object", "title": _("check"),
        "properties": {"metric": {"type": "string", "enum": list(COLUMN_METRICS) + list(TABLE_METRICS)},
                       "column": COLUMN, "severity": {"type": "string", "enum": list(SEVERITIES)},
                       **{key: {"type": "number"} for key in ("min", "max", "mostly", "window", "sensitivity",
                                                              "tolerance")}},
        "required": ["metric"],
    }
    return {
        "title": _("Configuration"),
        "type": "object",
        "properties": {
            "validation_rules": {"type": "object", "title": _("Validation rules"), "properties": rules},
            "transformations": {
                "type": "array", "title": _("Transformations"), "format": "tabs-top",
                "items": {"title": _("step"), "headerTemplate": "{{i1}}. {{self.name}}",
                          "oneOf": [*(_step_schema(step) for step in steps),
                                    {"title": _("a step by name, with its defaults"), "type": "string",
                                     "enum": [step["name"] for step in steps]}]},
            },
            "column_mapping": {"type": "object", "title": _("Column mapping"),
                               "additionalProperties": {"type": "string"}},
            "schema_policy": {"type": "string", "title": _("Schema policy"),
                              "enum": ["evolve", "freeze", "quarantine", "approve"]},
            "target": {"type": "object", "title": _("Target"), "properties": {"table": {"type": "string"}}},
            "parallelism": {"type": "object", "title": _("Parallelism"),
                            "properties": {"parts": {"type": "integer", "minimum": 1, "maximum": MAX_PARTS}}},
            "quality": {"type": "object", "title": _("Quality checks"),
                        "properties": {"checks": {"type": "array", "items": quality_check}}},
            "business_metrics": {"type": "array", "title": _("Business metrics"), "items": {"type": "object"}},
            "references": {"type": "object", "title": _("References")},
        },
    }
