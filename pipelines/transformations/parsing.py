"""Text to typed Arrow values, vectorized: the type names of `validation_rules.data_types` and the `cast` step.

`parse_values` never raises for bad data: it returns the typed array (NULL where the input was NULL, blank, or did
not parse) and a boolean `failed` mask (True where a non-blank input did not parse). Rules that need care:
- numbers: "1 234,5" with decimal_separator "," is 1234.5; spaces, no-break spaces and the other separator
  ("," for ".", "." for ",") group thousands, only in groups of three digits ("1,5" is not a number for ".").
- dates: each of `date_formats` in turn (strptime); a day that does not exist ("2024-02-30") is a failure, not
  the 1st of March: the parsed value must print back to the text it came from (leading zeros aside).
- datetimes: a date format, optionally followed by " HH:MM[:SS]" or "THH:MM[:SS]", fractional seconds and a zone
  ("Z", "UTC", "+03:00", "+0300", "+03"). Values without a zone are taken as UTC; all results are UTC.
- native (non-text) input is cast safely; what cannot be cast is parsed from its text form instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etlsite.messages import Message, _msg
from pipelines.config_schema import DEFAULT_DATE_FORMATS, DEFAULT_FALSE_VALUES, DEFAULT_TRUE_VALUES

ARROW_TYPES = {
    "integer": pa.int64(),
    "float": pa.float64(),
    "decimal": pa.decimal128(38, 9),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
    "string": pa.string(),
}
_TIME_SUFFIXES = (" %H:%M:%S", "T%H:%M:%S", " %H:%M", "T%H:%M", "")
_SPLIT_TIME = (r"^(?P<base>.*?\d{1,2}:\d{2}(?::\d{2})?)(?:[.,](?P<frac>\d{1,9}))?\s*"
               r"(?P<tz>[zZ]|UTC|[+-]\d{2}(?::?\d{2})?)?$")


@dataclass(frozen=True)
class ParseOptions:
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    decimal_separator: str = "."
    true_values: tuple[str, ...] = DEFAULT_TRUE_VALUES
    false_values: tuple[str, ...] = DEFAULT_FALSE_VALUES


DEFAULT_OPTIONS = ParseOptions()


@dataclass(frozen=True)
class Parsed:
    values: pa.Array
    failed: pa.BooleanArray  # never NULL


def type_name_for(arrow_type: pa.DataType) -> str | None:
    """The data_types name whose parser produces `arrow_type`'s kind of value (None for nested types)."""
    checks = (("integer", pa.types.is_integer), ("float", pa.types.is_floating), ("decimal", pa.types.is_decimal),
              ("date", pa.types.is_date), ("datetime", pa.types.is_timestamp), ("boolean", pa.types.is_boolean),
              ("string", is_text))
    return next((name for name, check in checks if check(arrow_type)), None)


def is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(
        arrow_type)


def is_numeric(arrow_type: pa.DataType) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)


def as_array(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def failure_reason(type_name: str, value) -> Message:
    """The quarantine reason for a value that is not of `type_name`, e.g. 'not a date: "2024-13-01"'."""
    templates = {
        "integer": _msg("not an integer: \"%(value)s\""),
        "float": _msg("not a number: \"%(value)s\""),
        "decimal": _msg("not a decimal number (at most 29 digits before the point and 9 after): \"%(value)s\""),
        "date": _msg("not a date: \"%(value)s\""),
        "datetime": _msg("not a date and time: \"%(value)s\""),
        "boolean": _msg("not a yes/no value: \"%(value)s\""),
        "string": _msg("not text: \"%(value)s\""),
    }
    return templates[type_name] % {"value": value}


def parse_values(values, type_name: str, options: ParseOptions = DEFAULT_OPTIONS) -> Parsed:
    target = ARROW_TYPES[type_name]
    array = as_array(values)
    if array.type == target:
        return Parsed(array, _no_failures(len(array)))
    if not is_text(array.type):
        try:
            return Parsed(pc.cast(array, target, safe=True), _no_failures(len(array)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            array = pc.cast(array, pa.string())  # e.g. 1.5 to integer: parsed from "1.5", so it fails as text
    elif not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    if type_name == "string":
        return Parsed(array, _no_failures(len(array)))
    fast = _fast_number(array, type_name, options)
    if fast is not None:
        return Parsed(fast, _no_failures(len(array)))
    text = _clean_text(array)
    typed, ok = _PARSERS[type_name](text, options)
    failed = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    typed = pc.if_else(failed, pa.scalar(None, target), typed)
    return Parsed(typed, failed)


def to_scalar(value, arrow_type: pa.DataType, options: ParseOptions = DEFAULT_OPTIONS) -> pa.Scalar:
    """A configuration value (JSON) as a scalar comparable with a column of `arrow_type`; ValueError if impossible."""
    if value is None:
        return pa.scalar(None, arrow_type)
    if is_text(arrow_type):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return pa.scalar(text, arrow_type)
    type_name = type_name_for(arrow_type)
    if isinstance(value, str) and type_name is not None:
        parsed = parse_values(pa.array([value], pa.string()), type_name, options)
        if parsed.failed[0].as_py():
            raise ValueError(failure_reason(type_name, value))
        return parsed.values[0].cast(arrow_type)
    try:
        source = pa.scalar(Decimal(repr(value))) if isinstance(value, float) and pa.types.is_decimal(
            arrow_type) else pa.scalar(value)
        return source.cast(arrow_type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(_msg("%(value)r cannot be used as a %(type)s value") % {"value": value, "type": arrow_type}
                         ) from exc


# Bytes of plain numbers ("-12", "3.5e-2"): text made of only these is what Arrow's own cast reads exactly as
# the regular expressions below do (checked value by value: "0x1F", "+5", " 5", "1,234" fall outside).
_PLAIN_BYTES = {"integer": b"0123456789-", "float": b"0123456789+-.eE"}
_PLAIN_TABLES = {name: np.isin(np.arange(256), np.frombuffer(chars, np.uint8)) for name, chars in _PLAIN_BYTES.items()}
_DIGIT_0, _DIGIT_9, _MINUS = ord("0"), ord("9"), ord("-")


def _plain(data: np.ndarray, type_name: str) -> bool:
    """Whether every byte is one of the type's `_PLAIN_BYTES`. Digits only (most columns) is two reductions;
    digits and minus signs three comparisons; a table lookup per byte (a gather, several times slower) only
    for what is left (floats)."""
    if not len(data):
        return True
    low, high = data.min(), data.max()
    if low >= _DIGIT_0 and high <= _DIGIT_9:
        return True
    if type_name == "integer":
        return bool((((data - np.uint8(_DIGIT_0)) <= 9) | (data == _MINUS)).all())
    return bool(_PLAIN_TABLES[type_name][data].all())


# ISO 8601 text Arrow's cast reads exactly as the general path does (a year from 1000, whole microseconds at
# most, an offset of at most 14 hours); anything else ("UTC", "+3", a leading space) takes the general path.
_ISO_LOCAL = r"[1-9]\d{3}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d{1,6})?"
_ISO_ZONED = rf"^{_ISO_LOCAL}(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)$"
_ISO_NAIVE = rf"^{_ISO_LOCAL}$"


def _iso_cast(array: pa.Array, *, zoned: bool) -> pa.Array:
    if zoned:
        return pc.cast(array, ARROW_TYPES["datetime"])
    return pc.cast(pc.cast(array, pa.timestamp("us")), ARROW_TYPES["datetime"])  # no zone: UTC


# The commonest export of a datetime, "2013-01-01 05:00:00" or "2013-01-01T05:00:00Z": every value the same
# width, checked byte column by byte column instead of by a regular expression per value.
_ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_ISO_WIDTHS = {19: "naive", 20: "zoned"}


def _uniform_iso_shape(array: pa.Array) -> str | None:
    """"zoned" or "naive" when every non-NULL value is `YYYY-MM-DD[T ]HH:MM:SS` (a year from 1000), followed by
    "Z" for "zoned": text both of the regular expressions below read the same way (_ISO_ZONED or _ISO_NAIVE
    matches every such value). None otherwise (other shapes take the regular expressions)."""
    _validity, offsets_buffer, data_buffer = array.buffers()
    valid = len(array) - array.null_count
    if data_buffer is None or not valid:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]:offsets[-1]]
    width = len(data) // valid
    if width not in _ISO_WIDTHS or len(data) != width * valid:
        return None
    # `valid` values `width` long hold all the bytes, so the others (the NULLs) are empty: the bytes are the
    # values, one row of the matrix each.
    if np.count_nonzero(np.diff(offsets) == width) != valid:
        return None
    rows = data.reshape(valid, width)
    digits = rows[:, _ISO_DIGITS] - np.uint8(ord("0"))
    separator = rows[:, 10]
    ok = ((digits <= 9).all() and (rows[:, 0] != ord("0")).all()
          and (rows[:, [4, 7]] == ord("-")).all() and (rows[:, [13, 16]] == ord(":")).all()
          and ((separator == ord("T")) | (separator == ord(" "))).all()
          and (width == 19 or (rows[:, 19] == ord("Z")).all()))
    return _ISO_WIDTHS[width] if ok else None


def _fast_temporal(array: pa.Array, type_name: str, options: ParseOptions) -> pa.Array | None:
    """Dates and datetimes in ISO form (a clean export, the usual case) by Arrow's strict cast, which refuses
    days that do not exist; None when the general path must decide."""
    if "%Y-%m-%d" not in options.date_formats or not pa.types.is_string(array.type) or not len(array):
        return None
    try:
        if type_name == "date":
            typed = pc.cast(array, pa.date32())
            return typed if pc.min(pc.year(typed)).as_py() not in (None, 0) else None
        shape = _uniform_iso_shape(array)
        if shape is not None:
            return _iso_cast(array, zoned=shape == "zoned")
        for pattern, zoned in ((_ISO_ZONED, True), (_ISO_NAIVE, False)):
            matches = pc.match_substring_regex(array, pattern)
            if pc.all(pc.fill_null(matches, True)).as_py():
                return _iso_cast(array, zoned=zoned)
            if pc.any(matches).as_py():
                return None  # a mix: the general path
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None


def _fast_number(array: pa.Array, type_name: str, options: ParseOptions) -> pa.Array | None:
    """The typed values when every value is a plain number Arrow's cast reads (a clean column, the usual
    case: one C++ pass instead of several regular expressions); None when the general path must decide."""
    if type_name in ("date", "datetime"):
        return _fast_temporal(array, type_name, options)
    if type_name not in _PLAIN_BYTES or options.decimal_separator != "." or not pa.types.is_string(array.type):
        return None
    _validity, offsets_buffer, data_buffer = array.buffers()
    if data_buffer is None or not len(array):
        return None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]:offsets[-1]]
    if not _plain(data, type_name):
        return None
    try:
        typed = pc.cast(array, ARROW_TYPES[type_name])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # "", "-", "1e", an integer out of range: the general path tells which
    if type_name == "float" and pc.any(pc.is_inf(typed)).as_py():
        return None
    return typed


def _no_failures(length: int) -> pa.BooleanArray:
    # From a zeroed bitmap: packing a numpy array of False into bits costs a pass per column and batch.
    return pa.Array.from_buffers(pa.bool_(), length, [None, pa.py_buffer(bytearray((length + 7) // 8))])


def _clean_text(array: pa.Array) -> pa.Array:
    """Trimmed text; blank becomes NULL (an empty CSV field is NULL already)."""
    trimmed = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _separators(options: ParseOptions) -> tuple[str, str]:
    """(decimal point, thousands-group class) as regular-expression pieces."""
    # RE2 takes the no-break spaces as characters, not as \u escapes.
    if options.decimal_separator == ",":
        return ",", "[ \u00a0\u202f.]"
    return r"\.", "[ \u00a0\u202f,]"


def _number_text(text: pa.Array, options: ParseOptions, shape: str) -> tuple[pa.Array, pa.Array]:
    """(text in "1234.5" form, mask of values of the right shape)."""
    point, group = _separators(options)
    integer_part = rf"(?:\d+|\d{{1,3}}(?:{group}\d{{3}})+)"
    ok = pc.match_substring_regex(text, shape.format(int=integer_part, point=point))
    plain = pc.replace_substring_regex(text, group, "")
    if options.decimal_separator == ",":
        plain = pc.replace_substring(plain, ",", ".")
    return pc.replace_substring_regex(plain, r"^\+", ""), ok


def _parse_integer(text, options):
    plain, ok = _number_text(text, options, r"^[+-]?{int}(?:{point}0*)?$")
    plain = pc.replace_substring_regex(plain, r"\.0*$", "")
    digits = pc.utf8_length(pc.replace_substring_regex(plain, r"^-?0*", ""))
    long = pc.fill_null(pc.and_(ok, pc.greater(digits, 18)), False)
    candidate = pc.and_(ok, pc.invert(long))
    typed = pc.cast(pc.if_else(candidate, plain, pa.scalar(None, pa.string())), pa.int64())
    if pc.any(long).as_py():  # 19 digits and more are rare: check the range of each in Python
        positions = pc.indices_nonzero(long).to_pylist()
        fits = [-(2**63) <= int(plain[i].as_py()) < 2**63 for i in positions]
        mask = np.zeros(len(text), dtype=bool)
        mask[[p for p, f in zip(positions, fits, strict=True) if f]] = True
        values = [int(plain[p].as_py()) for p, f in zip(positions, fits, strict=True) if f]
        if values:
            typed = pc.replace_with_mask(typed, pa.array(mask), pa.array(values, pa.int64()))
            candidate = pc.or_(candidate, pa.array(mask))
    return typed, candidate


def _parse_float(text, options):
    plain, ok = _number_text(text, options, r"^[+-]?(?:{int}(?:{point}\d*)?|{point}\d+)(?:[eE][+-]?\d+)?$")
    typed = pc.cast(pc.if_else(ok, plain, pa.scalar(None, pa.string())), pa.float64())
    ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_inf(typed), False)))  # "1e400"
    return typed, ok


def _parse_decimal(text, options):
    plain, ok = _number_text(text, options, r"^[+-]?(?:{int}(?:{point}\d*)?|{point}\d+)$")
    ok = pc.and_(ok, pc.match_substring_regex(plain, r"^-?0*\d{0,29}(?:\.\d{0,9})?$"))
    return pc.cast(pc.if_else(ok, plain, pa.scalar(None, pa.string())), ARROW_TYPES["decimal"]), ok


def _parse_boolean(text, options):
    lower = pc.utf8_lower(text)
    yes = pc.is_in(lower, value_set=pa.array([v.lower() for v in options.true_values], pa.string()))
    no = pc.is_in(lower, value_set=pa.array([v.lower() for v in options.false_values], pa.string()))
    typed = pc.if_else(yes, True, pc.if_else(no, pa.scalar(False), pa.scalar(None, pa.bool_())))
    return typed, pc.or_(yes, no)


def _canonical(text: pa.Array) -> pa.Array:
    """Text for comparing a parsed value with its source: lower case, no spaces, no leading zeros."""
    text = pc.replace_substring_regex(pc.utf8_lower(text), r"\s+", "")
    return pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2")


def _strptime_any(text: pa.Array, formats) -> pa.Array:
    """Naive timestamp[s] from the first format that reads the text exactly; NULL where none does.

    strptime rolls some impossible values over ("2024-02-30" -> 2024-03-01, second 60 -> the next minute); such
    results fall on day 1-3 of a month or come from a ":60"/":61", and only those rows (about a tenth) pay for
    printing the value back (strftime is slow) and comparing it with the text.
    """
    result = pa.nulls(len(text), pa.timestamp("s"))
    remaining = text
    for fmt in formats:
        parsed = pc.strptime(remaining, format=fmt, unit="s", error_is_null=True)
        in_range = pc.and_(pc.greater_equal(pc.year(parsed), 1), pc.less_equal(pc.year(parsed), 9999))
        parsed = pc.if_else(in_range, parsed, pa.scalar(None, parsed.type))
        suspicious = pc.fill_null(pc.or_(pc.less_equal(pc.day(parsed), 3),
                                         pc.match_substring_regex(remaining, r":6[01](?:\D|$)")), False)
        suspicious = pc.and_(suspicious, pc.is_valid(parsed))
        if pc.any(suspicious).as_py():
            positions = pc.indices_nonzero(suspicious)
            printed = pc.strftime(pc.take(parsed, positions), format=fmt)
            exact = pc.equal(_canonical(printed), _canonical(pc.take(remaining, positions)))
            wrong = pc.filter(positions, pc.invert(exact)).to_numpy()
            if len(wrong):
                mask = np.zeros(len(text), dtype=bool)
                mask[wrong] = True
                parsed = pc.replace_with_mask(parsed, pa.array(mask), pa.nulls(len(wrong), parsed.type))
        result = pc.coalesce(result, parsed)
        if result.null_count == 0:
            break
        remaining = pc.if_else(pc.is_valid(result), pa.scalar(None, pa.string()), text)
    return result


def _parse_date(text, options):
    parsed = _strptime_any(text, options.date_formats)
    return pc.cast(parsed, pa.date32()), pc.is_valid(parsed)


def _parse_datetime(text, options):
    parts = pc.extract_regex(text, _SPLIT_TIME)
    base = pc.coalesce(pc.struct_field(parts, "base"), text)
    frac = pc.fill_null(pc.struct_field(parts, "frac"), "")
    zone = pc.fill_null(pc.struct_field(parts, "tz"), "")
    formats = [fmt + suffix for fmt in options.date_formats for suffix in _TIME_SUFFIXES]
    local = pc.cast(_strptime_any(base, formats), pa.timestamp("us"))
    micros = pc.cast(pc.utf8_slice_codeunits(pc.utf8_rpad(frac, 6, "0"), 0, 6), pa.int64())
    local = pc.add(local, pc.cast(micros, pa.duration("us")))
    offset = pc.extract_regex(zone, r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$")
    hours = pc.cast(pc.fill_null(pc.struct_field(offset, "h"), "0"), pa.int64())
    minutes = pc.cast(pc.if_else(pc.equal(pc.fill_null(pc.struct_field(offset, "m"), ""), ""), "0",
                                 pc.struct_field(offset, "m")), pa.int64())
    seconds = pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60))
    seconds = pc.if_else(pc.equal(pc.struct_field(offset, "sign"), "-"), pc.negate(seconds), seconds)
    utc = pc.subtract(local, pc.cast(pc.multiply(pc.fill_null(seconds, 0), 1_000_000), pa.duration("us")))
    zone_ok = pc.or_(pc.equal(zone, ""), pc.or_(pc.is_in(zone, value_set=pa.array(["Z", "z", "UTC"])),
                                                pc.and_(pc.less_equal(hours, 14), pc.less_equal(minutes, 59))))
    ok = pc.and_(pc.is_valid(utc), zone_ok)
    return pc.cast(utc, ARROW_TYPES["datetime"]), ok


_PARSERS = {"integer": _parse_integer, "float": _parse_float, "decimal": _parse_decimal, "boolean": _parse_boolean,
            "date": _parse_date, "datetime": _parse_datetime}
