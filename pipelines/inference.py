"""What a file's text columns hold, decided once and used everywhere: the upload preview, the API's preview and
the engine's first load (which stores it as the pipeline's contract).

- NULL markers: a value that is exactly one of the pipeline's `null_values` (default: NA, N/A, null, NULL,
  None, NaN; an unquoted empty field is NULL already) is NULL. A quoted empty string stays ''.
- Types: the first type every non-NULL sampled value parses as, in this order: integer (no leading zeros:
  "00123" is an identifier), float (a decimal comma when the column writes one), boolean (words only: 1/0 are
  integers), date, datetime, and text otherwise. Dates are tried in the common formats; day/month and
  month/day are told apart only when some day is above 12, otherwise the column stays text rather than risk
  swapping days and months.

The contract lives in the pipeline's configuration under `inferred` ({"data_types": ..., "date_formats": ...,
"decimal_separator": ...}); `validation_rules.data_types` declared by a person override it column by column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config_schema import DEFAULT_DATE_FORMATS, DEFAULT_FALSE_VALUES, DEFAULT_TRUE_VALUES
from pipelines.transformations.parsing import ParseOptions, is_text, parse_values

DEFAULT_NULL_VALUES = ("NA", "N/A", "null", "NULL", "None", "NaN")
CONTRACT_KEY = "inferred"
NULL_VALUES_KEY = "null_values"
# Rows looked at to decide a column's type (the first rows of the file).
SAMPLE_ROWS = 10_000

# Tried in this order; the first that reads every value wins. Ambiguous pairs are handled below.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%b %d %Y",
                "%b %d, %Y", "%d %b %Y", "%B %d %Y", "%B %d, %Y", "%d %B %Y", "%d-%b-%Y")
_DAY_FIRST, _MONTH_FIRST = "%d/%m/%Y", "%m/%d/%Y"
_LEADING_ZERO = r"^[+-]?0\d"
_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"
_WHOLE_OR_DECIMAL_COMMA = r"^[+-]?\d+(,\d+)?$"  # "3" beside "1,5" and "2,25" is a number of that column too
_WORDS = {word.lower() for word in DEFAULT_TRUE_VALUES + DEFAULT_FALSE_VALUES} - {"1", "0"}


@dataclass
class Contract:
    """The inferred types of a pipeline's columns and the formats they were read in."""

    data_types: dict[str, str] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    decimal_separator: str = "."

    def as_config(self) -> dict:
        return {"data_types": dict(self.data_types), "date_formats": list(self.date_formats),
                "decimal_separator": self.decimal_separator}

    @classmethod
    def from_config(cls, config: dict | None) -> Contract | None:
        stored = (config or {}).get(CONTRACT_KEY)
        if not isinstance(stored, dict):
            return None
        return cls(data_types=dict(stored.get("data_types") or {}),
                   date_formats=list(stored.get("date_formats") or []),
                   decimal_separator=stored.get("decimal_separator") or ".")


def null_values_of(config: dict | None) -> tuple[str, ...]:
    values = (config or {}).get(NULL_VALUES_KEY)
    return DEFAULT_NULL_VALUES if values is None else tuple(v for v in values if v != "")


def null_markers_apply(batch: pa.RecordBatch, markers: tuple[str, ...]) -> pa.RecordBatch:
    """Text values that are exactly a NULL marker (surrounding spaces aside) become NULL."""
    if not markers:
        return batch
    value_set = pa.array(list(markers), pa.string())
    shapes = _MarkerShapes(markers)
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            looked_up = shapes.lookup_of(column)
            if looked_up is not None:
                marked = pc.is_in(looked_up, value_set=value_set.cast(column.type))
                if pc.any(marked).as_py():
                    column = pc.if_else(marked, pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


# Bytes that may be whitespace at a value's edge: ASCII controls and space, and every byte of a non-ASCII
# character (Unicode spaces such as U+00A0 start and end with one).
_MAYBE_SPACE = np.ones(256, dtype=bool)
_MAYBE_SPACE[0x21:0x80] = False


class _MarkerShapes:
    """What a value must look like to be a marker: its first byte and length, once it needs no trimming.

    Looking every value up (and trimming it first) costs a pass over the whole column per batch; most columns
    (numbers, codes) hold no value of a marker's shape, so a look at the values' edges and lengths (numpy
    over the Arrow buffers) skips them."""

    def __init__(self, markers: tuple[str, ...]):
        encoded = [m.encode("utf-8") for m in markers]
        self.first_bytes = np.zeros(256, dtype=bool)
        self.first_bytes[[m[0] for m in encoded]] = True
        self.shortest, self.longest = min(map(len, encoded)), max(map(len, encoded))

    def lookup_of(self, column) -> pa.Array | None:
        """The values to look the markers up in: the column trimmed, the column as it is when no value
        starts or ends with whitespace, or None when no value can be a marker."""
        if not isinstance(column, pa.Array):
            return pc.utf8_trim_whitespace(column)
        _validity, offsets_buffer, data_buffer = column.buffers()
        if data_buffer is None or not len(column):
            return None
        width = 8 if pa.types.is_large_string(column.type) else 4
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if width == 8 else np.int32,
                                count=len(column) + 1, offset=column.offset * width)
        if offsets[-1] == offsets[0]:
            return None  # every value is NULL or empty
        data = np.frombuffer(data_buffer, dtype=np.uint8)
        if self._cannot_hold_markers(data[offsets[0]:offsets[-1]]):
            return None
        lengths = np.diff(offsets)
        # An empty value's "edges" are bytes of its neighbours (or of a NULL's slot): at worst a needless trim.
        firsts = np.take(data, np.minimum(offsets[:-1], offsets[-1] - 1))
        lasts = np.take(data, np.maximum(offsets[1:] - 1, offsets[0]))
        if _MAYBE_SPACE[firsts].any() or _MAYBE_SPACE[lasts].any():
            return pc.utf8_trim_whitespace(column)
        shaped = self.first_bytes[firsts] & (lengths >= self.shortest) & (lengths <= self.longest)
        return column if shaped.any() else None

    def _cannot_hold_markers(self, data: np.ndarray) -> bool:
        """True when no byte of the values is whitespace (or non-ASCII) and none is a marker's first byte: then
        no value, trimmed or not, can be a marker. Two reductions and a comparison per first byte, over the
        bytes as they lie, cost a fraction of the look at every value's edges below (numbers, dates and codes
        pass here)."""
        if not len(data) or data.min() < 0x21 or data.max() >= 0x80:
            return False
        return not any((data == byte).any() for byte in np.flatnonzero(self.first_bytes))


@dataclass(frozen=True)
class ColumnGuess:
    type_name: str
    nullable: bool
    date_format: str | None = None
    decimal_separator: str = "."


def _all_parse(values: pa.Array, type_name: str, options: ParseOptions) -> bool:
    return not pc.any(parse_values(values, type_name, options).failed).as_py()


def _date_format(values: pa.Array, type_name: str) -> str | None:
    fitting = [fmt for fmt in DATE_FORMATS if _all_parse(values, type_name, ParseOptions(date_formats=(fmt,)))]
    if _DAY_FIRST in fitting and _MONTH_FIRST in fitting:
        fitting = [fmt for fmt in fitting if fmt not in (_DAY_FIRST, _MONTH_FIRST)]  # 01/02/2024: which?
    return fitting[0] if fitting else None


def infer_column(values: pa.Array | pa.ChunkedArray) -> ColumnGuess:
    """The type of one column of text values (NULL markers already applied)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    nullable = values.null_count > 0 or len(values) == 0
    if not is_text(values.type):
        return ColumnGuess("string" if pa.types.is_null(values.type) else _native(values.type), nullable)
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    blank = pc.fill_null(pc.equal(text, ""), True)
    present = pc.filter(text, pc.invert(blank))
    nullable = nullable or bool(pc.any(blank).as_py())
    if len(present) == 0:
        return ColumnGuess("string", True)
    has_leading_zero = pc.any(pc.match_substring_regex(present, _LEADING_ZERO)).as_py()
    if not has_leading_zero and _all_parse(present, "integer", ParseOptions()):
        return ColumnGuess("integer", nullable)
    if _all_parse(present, "float", ParseOptions()) and not has_leading_zero_integers(present):
        return ColumnGuess("float", nullable)
    if (pc.all(pc.match_substring_regex(present, _WHOLE_OR_DECIMAL_COMMA)).as_py()
            and pc.any(pc.match_substring_regex(present, _DECIMAL_COMMA)).as_py()
            and not has_leading_zero_integers(present)):
        return ColumnGuess("float", nullable, decimal_separator=",")
    lowered = pc.utf8_lower(present)
    if pc.all(pc.is_in(lowered, value_set=pa.array(sorted(_WORDS)))).as_py():
        return ColumnGuess("boolean", nullable)
    for type_name in ("date", "datetime"):
        fmt = _date_format(present, type_name)
        if fmt is not None:
            return ColumnGuess(type_name, nullable, date_format=fmt)
    return ColumnGuess("string", nullable)


def has_leading_zero_integers(values: pa.Array) -> bool:
    """"007" among floats still reads as a code, not a number."""
    return bool(pc.any(pc.match_substring_regex(values, r"^[+-]?0\d+$")).as_py())


def _native(arrow_type: pa.DataType) -> str:
    from pipelines.transformations.parsing import type_name_for

    return type_name_for(arrow_type) or "string"


def infer_contract(table: pa.Table | pa.RecordBatch, *, skip: tuple[str, ...] = ()) -> Contract:
    """The contract for a sample of rows: a type per text column (not those in `skip`)."""
    contract = Contract()
    guesses = {name: infer_column(table.column(name)) for name in table.schema.names if name not in skip}
    separators = {g.decimal_separator for g in guesses.values() if g.type_name == "float"}
    comma = separators == {","}
    for name, guess in guesses.items():
        if guess.type_name == "float" and guess.decimal_separator != contract_separator(comma):
            continue  # a file mixing decimal points and commas: this column stays text
        if guess.type_name != "string":
            contract.data_types[name] = guess.type_name
        if guess.date_format and guess.date_format not in contract.date_formats:
            contract.date_formats.append(guess.date_format)
    if comma:
        contract.decimal_separator = ","
    if {_DAY_FIRST, _MONTH_FIRST} <= set(contract.date_formats):
        # Two columns, two orders: strptime tries formats in turn, so the later one would be read wrongly.
        for name in [n for n, g in guesses.items() if g.date_format == _MONTH_FIRST]:
            contract.data_types.pop(name, None)
        contract.date_formats.remove(_MONTH_FIRST)
    return contract


def contract_separator(comma: bool) -> str:
    return "," if comma else "."


def contract_date_formats(contract: Contract) -> tuple[str, ...]:
    """The inferred formats first, then the defaults (a later file may use the ISO form)."""
    formats = list(contract.date_formats)
    for fmt in DEFAULT_DATE_FORMATS:
        clash = fmt == _DAY_FIRST and _MONTH_FIRST in formats
        if fmt not in formats and not clash:
            formats.append(fmt)
    return tuple(formats)


__all__ = ["CONTRACT_KEY", "DEFAULT_NULL_VALUES", "NULL_VALUES_KEY", "SAMPLE_ROWS", "ColumnGuess", "Contract",
           "contract_date_formats", "infer_column", "infer_contract", "null_markers_apply", "null_values_of"]
