"""The `validation_rules` part of a pipeline configuration: its keys, their defaults and their checks.

`pipelines.validators.configuration_errors` calls `validation_rules_errors` when a pipeline is saved;
`pipelines.validation.ValidationRules.from_config` reads the same keys at run time with the same defaults.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

DATA_TYPES = ("date", "datetime", "integer", "float", "decimal", "string", "boolean")
NUMERIC_TYPES = ("integer", "float", "decimal")
DATE_TYPES = ("date", "datetime")
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
DEFAULT_TRUE_VALUES = ("true", "1", "yes", "y", "t", "да")
DEFAULT_FALSE_VALUES = ("false", "0", "no", "n", "f", "нет")
DECIMAL_SEPARATORS = (".", ",")
RULE_KEYS = ("required_columns", "data_types", "not_null", "unique", "min", "max", "allowed_values", "regex",
             "max_failed_ratio", "date_formats", "decimal_separator", "true_values", "false_values")

# Column names as the engine sees them after etlsite.identifiers.sanitize_columns; "_row_number" is the system column.
COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_column_name(value) -> bool:
    return isinstance(value, str) and bool(COLUMN_NAME.match(value))


def column_name_error(where: str, value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return _("%(where)s: expected a column name.") % {"where": where}
    if not COLUMN_NAME.match(value):
        return _("%(where)s: \"%(name)s\" is not a column name as the engine sees it (lower-case letters, digits "
                 "and _, at most 63 characters, not starting with a digit).") % {"where": where, "name": value}
    return None


def date_bound(value, type_name: str) -> date | datetime | None:
    """A min/max bound of a date or datetime column: an ISO date ("2007-11-09") or, for datetime, an ISO date
    and time; None when `value` is not one. Datetimes without a zone are UTC, as the engine reads them."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if type_name == "date":
        return parsed.date() if parsed.time() == time() and parsed.tzinfo is None else None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def regex_error(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None. Rules run on Arrow (RE2): look-arounds and back-references fail."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).split("\n")[0].removeprefix("Invalid regular expression: ")
    return None


def date_format_error(fmt) -> str | None:
    if not isinstance(fmt, str) or "%" not in fmt:
        return _("expected a strptime format such as %(example)s") % {"example": '"%d.%m.%Y"'}
    try:
        pc.strptime(pa.array(["1"], pa.string()), format=fmt, unit="s", error_is_null=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).split("\n")[0]
    return None


def _columns_map(rules: dict, key: str, errors: list[str]) -> dict:
    value = rules.get(key, {})
    if not isinstance(value, dict):
        errors.append(_("validation_rules.%(key)s must map column names to values.") % {"key": key})
        return {}
    for column in value:
        problem = column_name_error(f"validation_rules.{key}", column)
        if problem:
            errors.append(problem)
    return value


def _names_list(value, where: str, errors: list[str]) -> None:
    if not isinstance(value, list) or not value:
        errors.append(_("%(where)s must be a non-empty list of column names.") % {"where": where})
        return
    for index, name in enumerate(value):
        problem = column_name_error(f"{where}[{index}]", name)
        if problem:
            errors.append(problem)


def validation_rules_errors(rules: dict) -> list[str]:
    """Problems in the keys of `validation_rules`, each naming its exact place."""
    errors: list[str] = []
    for key in rules:
        if key not in RULE_KEYS:
            errors.append(_("validation_rules.%(key)s: unknown rule; known rules: %(keys)s.")
                          % {"key": key, "keys": ", ".join(RULE_KEYS)})
    if "required_columns" in rules:
        value = rules["required_columns"]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            errors.append(_("%(where)s must be a list of column names.")
                          % {"where": "validation_rules.required_columns"})
        else:
            for index, name in enumerate(value):
                problem = column_name_error(f"validation_rules.required_columns[{index}]", name)
                if problem:
                    errors.append(problem)
    data_types = rules.get("data_types", {})
    if not isinstance(data_types, dict):
        errors.append(_("validation_rules.data_types must map column names to types."))
        data_types = {}
    for column, type_name in data_types.items():
        if type_name not in DATA_TYPES:
            errors.append(
                _("validation_rules.data_types.%(column)s: unknown type \"%(type)s\"; use one of %(types)s.")
                % {"column": column, "type": type_name, "types": ", ".join(DATA_TYPES)}
            )
        problem = column_name_error("validation_rules.data_types", column)
        if problem:
            errors.append(problem)
    if "not_null" in rules:
        _names_list(rules["not_null"], "validation_rules.not_null", errors)
    if "unique" in rules:
        errors += _unique_errors(rules["unique"])
    bounds = {}
    for key in ("min", "max"):
        for column, bound in _columns_map(rules, key, errors).items():
            declared = data_types.get(column)
            if declared in DATE_TYPES:
                value = date_bound(bound, declared)
                if value is None:
                    errors.append(_("validation_rules.%(key)s.%(column)s: the column is declared as %(type)s; "
                                    "its bound is a date written as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS), got "
                                    "%(value)r.") % {"key": key, "column": column, "type": declared, "value": bound})
                else:
                    bounds.setdefault(column, {})[key] = value
                continue
            if not is_number(bound):
                errors.append(_("validation_rules.%(key)s.%(column)s must be a number, got %(value)r.")
                              % {"key": key, "column": column, "value": bound})
            else:
                bounds.setdefault(column, {})[key] = bound
            if declared is not None and declared not in NUMERIC_TYPES:
                errors.append(_("validation_rules.%(key)s.%(column)s: the column is declared as %(type)s; "
                                "min and max apply to numbers (integer, float, decimal) and dates (date, "
                                "datetime).") % {"key": key, "column": column, "type": declared})
    for column, pair in bounds.items():
        if "min" in pair and "max" in pair and pair["min"] > pair["max"]:
            errors.append(_("validation_rules: min of %(column)s (%(min)s) is greater than its max (%(max)s).")
                          % {"column": column, "min": pair["min"], "max": pair["max"]})
    for column, allowed in _columns_map(rules, "allowed_values", errors).items():
        if (not isinstance(allowed, list) or not allowed
                or not all(isinstance(v, str | int | float | bool) for v in allowed)):
            errors.append(_("validation_rules.allowed_values.%(column)s must be a non-empty list of values "
                            "(strings, numbers or true/false).") % {"column": column})
    for column, pattern in _columns_map(rules, "regex", errors).items():
        if not isinstance(pattern, str) or not pattern:
            errors.append(_("validation_rules.regex.%(column)s must be a regular expression string.")
                          % {"column": column})
            continue
        problem = regex_error(pattern)
        if problem:
            errors.append(_("validation_rules.regex.%(column)s: invalid regular expression: %(error)s")
                          % {"column": column, "error": problem})
    if "max_failed_ratio" in rules:
        ratio = rules["max_failed_ratio"]
        if not is_number(ratio) or not 0 <= ratio <= 1:
            errors.append(_("validation_rules.max_failed_ratio must be a number from 0 to 1 (0.05 = 5%% of the "
                            "rows may fail), got %(value)r.") % {"value": ratio})
    errors += _format_errors(rules)
    return errors


def _unique_errors(value) -> list[str]:
    """`unique` is one key (a list of column names) or several keys (a list of such lists)."""
    errors: list[str] = []
    if not isinstance(value, list) or not value:
        return [_("validation_rules.unique must be a list of column names (one key) or a list of such lists "
                  "(several keys).")]
    keys = value if all(isinstance(v, list) for v in value) else [value]
    for index, key in enumerate(keys):
        where = "validation_rules.unique" if keys is not value else f"validation_rules.unique[{index}]"
        _names_list(key, where, errors)
    return errors


def _format_errors(rules: dict) -> list[str]:
    errors: list[str] = []
    if "date_formats" in rules:
        formats = rules["date_formats"]
        if not isinstance(formats, list) or not formats:
            errors.append(_("validation_rules.date_formats must be a non-empty list of strptime formats, "
                            "e.g. %(example)s.") % {"example": '["%Y-%m-%d", "%d.%m.%Y"]'})
        else:
            for index, fmt in enumerate(formats):
                problem = date_format_error(fmt)
                if problem:
                    errors.append(_("validation_rules.date_formats[%(index)d]: %(error)s")
                                  % {"index": index, "error": problem})
    if "decimal_separator" in rules and rules["decimal_separator"] not in DECIMAL_SEPARATORS:
        errors.append(_("validation_rules.decimal_separator must be \".\" or \",\", got %(value)r.")
                      % {"value": rules["decimal_separator"]})
    words = {}
    for key in ("true_values", "false_values"):
        if key not in rules:
            continue
        value = rules[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            errors.append(_("validation_rules.%(key)s must be a non-empty list of words.") % {"key": key})
        else:
            words[key] = {v.strip().lower() for v in value}
    true_words = words.get("true_values", set(DEFAULT_TRUE_VALUES))
    false_words = words.get("false_values", set(DEFAULT_FALSE_VALUES))
    if words and true_words & false_words:
        errors.append(_("validation_rules: %(words)s cannot be both a true and a false value.")
                      % {"words": ", ".join(sorted(true_words & false_words))})
    return errors


MAX_PARTS = 64


def parallelism_errors(value) -> list[str]:
    """`"parallelism": {"parts": N}`: read one large file in N parts on parallel workers (see docs/ENGINE.md)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_("parallelism must be a JSON object, e.g. {\"parts\": 4}.")]
    errors = [_("parallelism.%(key)s: unknown key; known keys: parts.") % {"key": key} for key in value
              if key != "parts"]
    parts = value.get("parts", 1)
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_PARTS:
        errors.append(_("parallelism.parts must be a whole number from 1 to %(max)d; got %(value)s.")
                      % {"max": MAX_PARTS, "value": json.dumps(parts)})
    return errors


WRITE_MODES = ("append", "replace", "merge")
DEFAULT_WRITE_MODE = "append"


def write_mode_of(config: dict | None) -> tuple[str, tuple[str, ...]]:
    """(write_mode, merge_key) of a configuration, defaults applied; read at run time (analytics.write_modes)."""
    config = config if isinstance(config, dict) else {}
    mode = config.get("write_mode") or DEFAULT_WRITE_MODE
    key = config.get("merge_key") or ()
    key = [key] if isinstance(key, str) else key
    return mode, tuple(key) if mode == "merge" else ()


def write_mode_errors(config: dict) -> list[str]:
    """`"write_mode": "append" | "replace" | "merge"` and, for merge, `"merge_key": [columns]`."""
    from analytics.loading import LOADER_COLUMNS

    mode = config.get("write_mode", DEFAULT_WRITE_MODE)
    if mode not in WRITE_MODES:
        return [_("write_mode must be one of %(modes)s; got %(value)s.")
                % {"modes": ", ".join(WRITE_MODES), "value": json.dumps(mode)}]
    if "merge_key" not in config:
        return [_("merge_key: write_mode merge needs the columns that identify a row, e.g. [\"order_id\"].")] \
            if mode == "merge" else []
    if mode != "merge":
        return [_("merge_key applies to write_mode merge only (the write mode is %(mode)s).") % {"mode": mode}]
    errors: list[str] = []
    key = config["merge_key"]
    _names_list(key, "merge_key", errors)
    if errors:
        return errors
    for name in key:
        if name in LOADER_COLUMNS:
            errors.append(_("merge_key: %(name)s is a column the loader adds; name the data's own columns.")
                          % {"name": name})
    repeated = sorted({name for name in key if key.count(name) > 1})
    if repeated:
        errors.append(_("merge_key names %(names)s more than once.") % {"names": ", ".join(repeated)})
    return errors
