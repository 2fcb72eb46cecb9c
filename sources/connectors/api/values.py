"""JSON values of an API's responses: numbers kept as their exact text, values as cell texts, dotted paths."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any


class JsonNumber(str):
    """A number of a JSON document, kept as the exact text it has there ("2.50" stays "2.50")."""


def json_text(value: Any) -> str:
    """Compact JSON; numbers keep their digits (JsonNumber, Decimal), dates are ISO strings."""
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(key), ensure_ascii=False) + ":" + json_text(item)
                              for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if value is None or isinstance(value, (str, int, float)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime.date, datetime.time)):
        return json.dumps(value.isoformat())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return json.dumps("\\x" + bytes(value).hex())
    return json.dumps(str(value), ensure_ascii=False)


def cell_text(value: Any) -> str | None:
    """One JSON value as the text of a cell: strings as they are, numbers as their JSON text, null as None."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)  # a JsonNumber
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_text(value)


def parse_path(path: Any) -> tuple[str, ...]:
    if path is None:
        return ()
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def dig(document: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, value) at a dotted path; a numeric step indexes a list."""
    value = document
    for step in path:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return False, None
    return True, value
