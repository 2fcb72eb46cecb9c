"""Incremental loads: the greatest cursor_column value read, as the JSON state a run remembers, and back."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from typing import Any

CURSOR_TYPES = ("int", "float", "decimal", "text", "date", "datetime")


def encode_cursor(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "float", value
    if isinstance(value, decimal.Decimal):
        return "decimal", str(value)
    if isinstance(value, datetime.datetime):
        return "datetime", value.isoformat()
    if isinstance(value, datetime.date):
        return "date", value.isoformat()
    if isinstance(value, str):
        return "text", value
    return None


def decode_cursor(kind: str, value: Any) -> Any:
    decoders: dict[str, Callable[[Any], Any]] = {
        "int": int, "float": float, "decimal": decimal.Decimal, "text": str,
        "date": datetime.date.fromisoformat, "datetime": datetime.datetime.fromisoformat,
    }
    return decoders[kind](value)
