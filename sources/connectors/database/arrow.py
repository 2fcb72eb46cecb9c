"""Values read from a database as Arrow: each engine's column types, and rows turned into a record batch."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from etlsite.messages import _msg
from sources.connectors.api.values import json_text
from sources.connectors.base import ConnectorError


def as_text(value: Any) -> str | None:
    """A value that has no Arrow type of its own here, as text; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):  # MySQL TIME, PostgreSQL interval: [-]H:MM:SS[.ffffff]
        sign, value = ("-", -value) if value < datetime.timedelta(0) else ("", value)
        minutes, seconds = divmod(value.days * 86400 + value.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        fraction = f".{value.microseconds:06d}" if value.microseconds else ""
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"
    return str(value)


def _texts(values: list) -> list:
    return [value if value is None or type(value) is str else as_text(value) for value in values]


def _only(kind: type) -> Callable[[list], list]:
    """Values of `kind` kept, anything else (MySQL's zero dates come as text) made NULL."""
    return lambda values: [value if isinstance(value, kind) else None for value in values]


def _bit_ints(values: list) -> list:
    return [None if value is None else int.from_bytes(value, "big") for value in values]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    convert: Callable[[list], list] | None = None


TEXT = (pa.string(), _texts)
TIMESTAMP = pa.timestamp("us", tz="UTC")


def decimal_type(precision: int | None, scale: int | None) -> tuple[pa.DataType, Callable | None]:
    if precision is None or scale is None or not 0 < precision <= 76 or not 0 <= scale <= precision:
        return TEXT  # unconstrained NUMERIC: exact text rather than a guessed scale
    return (pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)), None


_PG_TYPES: dict[int, tuple[pa.DataType, Callable | None]] = {
    16: (pa.bool_(), None), 20: (pa.int64(), None), 21: (pa.int16(), None), 23: (pa.int32(), None),
    26: (pa.int64(), None), 700: (pa.float64(), None), 701: (pa.float64(), None), 1082: (pa.date32(), None),
    1114: (TIMESTAMP, None), 1184: (TIMESTAMP, None),
}


def pg_columns(description) -> list[Column]:
    columns = []
    for item in description:
        if item.type_code == 1700:
            arrow_type, convert = decimal_type(item.precision, item.scale)
        else:
            arrow_type, convert = _PG_TYPES.get(item.type_code, TEXT)
        columns.append(Column(item.name, arrow_type, convert))
    return columns


def mysql_columns(fields) -> list[Column]:
    from pymysql.constants import FIELD_TYPE, FLAG

    columns = []
    for field in fields:
        code, unsigned = field.type_code, bool(field.flags & FLAG.UNSIGNED)
        convert = None
        if code in (FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.INT24, FIELD_TYPE.LONG):
            arrow_type = pa.int64()
        elif code == FIELD_TYPE.LONGLONG:
            arrow_type = pa.uint64() if unsigned else pa.int64()
        elif code == FIELD_TYPE.YEAR:
            arrow_type = pa.int16()
        elif code in (FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE):
            arrow_type = pa.float64()
        elif code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
            # The field length counts the sign and the decimal point besides the digits.
            digits = field.length - (1 if field.scale else 0) - (0 if unsigned else 1)
            arrow_type, convert = decimal_type(digits, field.scale)
        elif code in (FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE):
            arrow_type, convert = pa.date32(), _only(datetime.date)
        elif code in (FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP):
            arrow_type, convert = TIMESTAMP, _only(datetime.datetime)
        elif code == FIELD_TYPE.BIT:
            arrow_type, convert = pa.int64(), _bit_ints
        else:
            arrow_type, convert = TEXT
        columns.append(Column(field.name, arrow_type, convert))
    return columns


def sqlite_type(declared: str | None, values: list) -> tuple[pa.DataType, Callable | None]:
    """SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1), then the values."""
    declared = (declared or "").upper()
    if "INT" in declared:
        return pa.int64(), None
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return TEXT
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64(), None
    kinds = {type(value) for value in values if value is not None}
    if kinds == {int}:
        return pa.int64(), None
    if kinds and kinds <= {int, float}:
        return pa.float64(), None
    return TEXT


def to_batch(columns: list[Column], rows: list[tuple]) -> pa.RecordBatch:
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        if column.convert is not None:
            values = column.convert(values)
        try:
            arrays.append(pa.array(values, type=column.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as error:
            raise ConnectorError(
                _msg("Column %(column)s has a value that cannot be read as %(type)s (%(reason)s); in a query, CAST the "
                     "column to one type.") % {"column": column.name, "type": column.type, "reason": error},
                permanent=True) from None
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(c.name, c.type) for c in columns]))
