"""Validation of a run's rows against the configuration's `validation_rules`, batch by batch, vectorized.

`Validator.check(batch)` types the declared columns (text to integer, date ...) and applies the rules; a row
that fails anything leaves the valid rows and gives one `QuarantineEntry` per failing (column, rule), at most
MAX_ENTRIES_PER_ROW per row. Rule names in entries are the configuration keys: data_types, required_columns,
not_null, min, max, allowed_values, regex, unique. Semantics worth knowing:
- a blank value is NULL; a value that does not parse is a data_types failure only (not also a not_null one);
- min/max are inclusive: numbers for number columns, ISO dates for date and datetime columns; regex must
  match the whole value (as text, before typing); allowed_values compare typed values;
- unique keys are checked across the whole run (hashes kept by the Validator, 8 bytes per key, see
  transformations/keys.py); the first row with a key stays, later ones fail; a key with a NULL in it is not
  checked (as in SQL); only rows that pass every other rule claim a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from etlsite.messages import _msg
from pipelines.config_schema import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_FALSE_VALUES,
    DEFAULT_TRUE_VALUES,
    date_bound,
    validation_rules_errors,
    write_mode_of,
)
from pipelines.inference import Contract, contract_date_formats
from pipelines.transformations.keys import HashSet, first_occurrences, row_hashes
from pipelines.transformations.parsing import ParseOptions, failure_reason, is_numeric, is_text, parse_values
from staging.quarantine import QuarantineEntry  # noqa: F401  (validation produces the store's entries)

ROW_NUMBER = "_row_number"
MAX_ENTRIES_PER_ROW = 20
MAX_VALUE_LENGTH = 1000


@dataclass
class ValidationOutcome:
    valid: pa.Table
    quarantined: list[QuarantineEntry]
    failed_rows: int


@dataclass(frozen=True)
class ValidationRules:
    required_columns: tuple[str, ...] = ()
    data_types: dict[str, str] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    min: dict[str, float] = field(default_factory=dict)
    max: dict[str, float] = field(default_factory=dict)
    allowed_values: dict[str, list] = field(default_factory=dict)
    regex: dict[str, str] = field(default_factory=dict)
    # None: not set by the pipeline (pipelines.engine.outcome applies its default).
    max_failed_ratio: float | None = None
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    decimal_separator: str = "."
    true_values: tuple[str, ...] = DEFAULT_TRUE_VALUES
    false_values: tuple[str, ...] = DEFAULT_FALSE_VALUES
    # Types inferred on the first load (the pipeline's contract): applied like data_types to the columns a
    # batch has, but a column missing from a later file is not an error, and a declared type wins.
    inferred_types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict) -> ValidationRules:
        """The rules of a pipeline configuration; ValueError listing the problems of an invalid one."""
        rules = (config or {}).get("validation_rules") or {}
        errors = validation_rules_errors(rules) if isinstance(rules, dict) else [
            _("validation_rules must be a JSON object.")]
        if errors:
            raise ValueError(" ".join(errors))
        unique = rules.get("unique") or []
        keys = unique if unique and all(isinstance(k, list) for k in unique) else [unique] if unique else []
        contract = Contract.from_config(config) or Contract()
        declared = dict(rules.get("data_types", {}))
        required = tuple(rules.get("required_columns", ()))
        not_null = tuple(rules.get("not_null", ()))
        # A merge key must be there and filled: a row without one could not say which row it replaces.
        not_null += tuple(c for c in write_mode_of(config)[1] if c not in required + not_null)
        date_formats = rules.get("date_formats") or contract_date_formats(contract)
        return cls(
            required_columns=required,
            data_types=declared,
            not_null=not_null,
            unique=tuple(tuple(key) for key in keys),
            min=dict(rules.get("min", {})),
            max=dict(rules.get("max", {})),
            allowed_values=dict(rules.get("allowed_values", {})),
            regex=dict(rules.get("regex", {})),
            max_failed_ratio=(float(rules["max_failed_ratio"]) if rules.get("max_failed_ratio") is not None
                              else None),
            date_formats=tuple(date_formats or DEFAULT_DATE_FORMATS),
            decimal_separator=rules.get("decimal_separator", contract.decimal_separator),
            true_values=tuple(rules.get("true_values", DEFAULT_TRUE_VALUES)),
            false_values=tuple(rules.get("false_values", DEFAULT_FALSE_VALUES)),
            inferred_types={column: type_name for column, type_name in contract.data_types.items()
                            if column not in declared},
        )

    @property
    def parse_options(self) -> ParseOptions:
        return ParseOptions(date_formats=self.date_formats, decimal_separator=self.decimal_separator,
                            true_values=self.true_values, false_values=self.false_values)

    def columns(self) -> list[str]:
        """Every column a rule names: required columns first, then the others in the order of the rules."""
        names: list[str] = []
        groups = [self.required_columns, self.data_types, self.not_null, *self.unique, self.min, self.max,
                  self.allowed_values, self.regex]
        for group in groups:
            names += [name for name in group if name not in names]
        return names


    def checks(self, present) -> list[tuple[str, str]]:
        """The (rule, column) pairs every row of data with columns `present` is checked against, in the
        rules' order; a unique key's columns are joined with ", " as its quarantine entries name them."""
        present = set(present)
        pairs = [("data_types", c) for c in {**self.inferred_types, **self.data_types}
                 if c in present or c in self.data_types]
        pairs += [("required_columns", c) for c in self.required_columns]
        pairs += [("not_null", c) for c in self.not_null if c not in self.required_columns]
        pairs += [("unique", ", ".join(key)) for key in self.unique]
        for rule in ("min", "max", "allowed_values", "regex"):
            pairs += [(rule, c) for c in getattr(self, rule)]
        return pairs


def missing_required_columns(rules: ValidationRules, column_names) -> list[str]:
    """Columns the rules need that the data lacks (a column named by any rule must exist)."""
    present = set(column_names)
    return [name for name in rules.columns() if name not in present]


@dataclass
class _Failure:
    column: str
    rule: str
    mask: np.ndarray  # bool per row
    values: pa.Array  # the values shown in entries (as text where possible)
    reason: object  # callable(value) -> Message (etlsite.messages: stored untranslated)


class Validator:
    def __init__(self, rules: ValidationRules):
        self.rules = rules
        self.options = rules.parse_options
        self.rows_seen = 0
        self._seen_keys = [HashSet() for _key in rules.unique]
        self._value_sets: dict[tuple[str, pa.DataType], pa.Array] = {}

    def check(self, batch: pa.RecordBatch | pa.Table) -> ValidationOutcome:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        missing = missing_required_columns(self.rules, table.column_names)
        if missing:
            raise ValueError(_msg("The data lacks columns the validation rules need: %(columns)s.")
                             % {"columns": ", ".join(missing)})
        rows = table.num_rows
        first = self.rows_seen + 1
        self.rows_seen += rows
        raw = {name: table.column(name) for name in table.column_names}
        failures: list[_Failure] = []
        table, unparsed = self._type_columns(table, failures)
        self._null_checks(table, unparsed, failures)
        self._bound_checks(table, raw, failures)
        self._allowed_checks(table, raw, failures)
        self._regex_checks(raw, failures)
        failed = np.zeros(rows, dtype=bool)
        for failure in failures:
            failed |= failure.mask
        repeats = self._unique_checks(table, raw, ~failed)
        for failure in repeats:
            failed |= failure.mask
        failures += repeats
        numbers = table.column(ROW_NUMBER) if ROW_NUMBER in table.column_names else pa.array(
            np.arange(first, first + rows, dtype=np.int64))
        valid = table.filter(pa.array(~failed)) if failed.any() else table
        return ValidationOutcome(valid, _entries(failures, numbers), int(failed.sum()))

    def _type_columns(self, table, failures):
        unparsed: dict[str, np.ndarray | None] = {}  # None: every value parsed
        present = set(table.column_names)
        types = {**{c: t for c, t in self.rules.inferred_types.items() if c in present}, **self.rules.data_types}
        for column, type_name in types.items():
            values = table.column(column)
            parsed = parse_values(values, type_name, self.options)
            if not parsed.failed.true_count:  # the usual column: no mask to unpack
                unparsed[column] = None
            else:
                mask = unparsed[column] = _numpy(parsed.failed)
                failures.append(_Failure(column, "data_types", mask, values,
                                         lambda value, t=type_name: failure_reason(t, value)))
            table = table.set_column(table.column_names.index(column), column, parsed.values)
        return table, unparsed

    def _null_checks(self, table, unparsed, failures):
        required = list(self.rules.required_columns)
        for column in required + [c for c in self.rules.not_null if c not in required]:
            if not table.column(column).null_count:
                continue
            mask = _numpy(pc.is_null(table.column(column)))
            if unparsed.get(column) is not None:
                mask &= ~unparsed[column]
            if mask.any():
                rule = "required_columns" if column in required else "not_null"
                failures.append(_Failure(column, rule, mask, table.column(column),
                                         lambda value: _msg("a value is required")))

    def _numbers(self, table, column, failures) -> pa.ChunkedArray | pa.Array:
        values = table.column(column)
        if is_numeric(values.type):
            return values
        parsed = parse_values(values, "float", self.options)  # min/max on a column not declared as a number
        mask = _numpy(parsed.failed)
        if mask.any() and not any(f.column == column and f.rule == "data_types" for f in failures):
            failures.append(_Failure(column, "data_types", mask, values,
                                     lambda value: failure_reason("float", value)))
        return parsed.values

    def _bound_checks(self, table, raw, failures):
        for rule, bounds, compare, message in (
                ("min", self.rules.min, pc.less, _msg("less than the minimum %(bound)s: %(value)s")),
                ("max", self.rules.max, pc.greater, _msg("greater than the maximum %(bound)s: %(value)s"))):
            for column, bound in bounds.items():
                if isinstance(bound, str):  # a date column's bound (config_schema.date_bound): typed already
                    values = table.column(column)
                    limit = pa.scalar(date_bound(bound, self.rules.data_types[column]), values.type)
                else:
                    values, limit = self._numbers(table, column, failures), bound
                mask = _numpy(pc.fill_null(compare(values, limit), False))
                if mask.any():
                    failures.append(_Failure(column, rule, mask, raw[column],
                                             lambda value, b=bound, m=message: m % {"bound": b, "value": value}))

    def _allowed_checks(self, table, raw, failures):
        for column, allowed in self.rules.allowed_values.items():
            values = table.column(column)
            value_set = self._value_set(column, values.type, allowed)
            if value_set is None:
                values, value_set = pc.cast(values, pa.string()), pa.array([_as_text(v) for v in allowed])
            mask = _numpy(pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=value_set))))
            if mask.any():
                shown = ", ".join(_as_text(v) for v in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
                failures.append(_Failure(column, "allowed_values", mask, raw[column],
                                         lambda value, s=shown: _msg("not one of the allowed values (%(allowed)s): "
                                                                     "%(value)s") % {"allowed": s, "value": value}))

    def _value_set(self, column, arrow_type, allowed) -> pa.Array | None:
        key = (column, arrow_type)
        if key not in self._value_sets:
            try:
                if is_text(arrow_type):
                    value_set = pa.array([_as_text(v) for v in allowed], arrow_type)
                else:
                    value_set = pc.cast(pa.array(allowed), arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                value_set = None
            self._value_sets[key] = value_set
        return self._value_sets[key]

    def _regex_checks(self, raw, failures):
        for column, pattern in self.rules.regex.items():
            text = raw[column] if is_text(raw[column].type) else pc.cast(raw[column], pa.string())
            matches = pc.match_substring_regex(text, f"^(?:{pattern})$")
            mask = _numpy(pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(matches, True))))
            if mask.any():
                failures.append(_Failure(column, "regex", mask, text,
                                         lambda value, p=pattern: _msg("does not match the pattern %(pattern)s: "
                                                                       "%(value)s") % {"pattern": p, "value": value}))

    def _unique_checks(self, table, raw, candidates: np.ndarray) -> list[_Failure]:
        failures = []
        keep = candidates.copy()
        hashes_per_key = []
        for key in self.rules.unique:
            checked = candidates.copy()
            for column in key:
                checked &= _numpy(pc.is_valid(table.column(column)))
            hashes = row_hashes(table, list(key))
            duplicate = np.zeros(len(hashes), dtype=bool)
            subset = np.flatnonzero(checked)
            if len(subset):
                seen = self._seen_keys[len(hashes_per_key)]
                repeated = ~first_occurrences(hashes[subset]) | seen.contains(hashes[subset])
                duplicate[subset[repeated]] = True
            keep &= ~duplicate
            hashes_per_key.append((hashes, checked))
            shown = _key_text(raw, key)
            failures.append(_Failure(", ".join(key), "unique", duplicate, shown,
                                     lambda value: _msg("repeats a value of an earlier row: %(value)s")
                                     % {"value": value}))
        for (hashes, checked), seen in zip(hashes_per_key, self._seen_keys, strict=True):
            seen.add(hashes[checked & keep])
        return failures


def _numpy(mask) -> np.ndarray:
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return mask.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _as_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _key_text(raw: dict, key) -> pa.Array:
    parts = [pc.cast(raw[c], pa.string()) for c in key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, ", ", null_handling="replace", null_replacement="")


def _text_of(value) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_LENGTH else text[:MAX_VALUE_LENGTH] + "..."


def _entries(failures: list[_Failure], numbers) -> list[QuarantineEntry]:
    """One entry per failing (row, column, rule), in row order, at most MAX_ENTRIES_PER_ROW per row."""
    collected: list[tuple[int, int, QuarantineEntry]] = []
    for order, failure in enumerate(failures):
        positions = np.flatnonzero(failure.mask)
        if not len(positions):
            continue
        indices = pa.array(positions)
        row_numbers = pc.take(numbers, indices).to_pylist()
        values = pc.take(failure.values, indices).to_pylist()
        for row, value in zip(row_numbers, values, strict=True):
            text = _text_of(value)
            shown = "NULL" if text is None else f"\"{text}\""
            if failure.rule == "data_types":
                reason = failure.reason(text)
            else:
                reason = failure.reason(shown)
            collected.append((row, order, QuarantineEntry(row, failure.column, text, reason, failure.rule)))
    collected.sort(key=lambda item: (item[0], item[1]))
    entries, per_row = [], {}
    for row, _order, entry in collected:
        per_row[row] = per_row.get(row, 0) + 1
        if per_row[row] <= MAX_ENTRIES_PER_ROW:
            entries.append(entry)
    return entries
