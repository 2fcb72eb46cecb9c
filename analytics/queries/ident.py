"""The check on names formatted into SQL text (values are bound, never formatted)."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """`name` unchanged when it is a plain identifier (letters, digits, underscores); ValueError otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name
