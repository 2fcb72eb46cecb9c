"""Cells of every download and export (CSV, tab-separated, text tables), neutralised against formula injection.

A spreadsheet opening an export runs a cell that starts with = + - @ (or a tab or carriage return, which some
programs skip before looking) as a formula: `=HYPERLINK(...)` leaks data, `=cmd|...` runs programs. Following
the OWASP "CSV Injection" guidance, such text cells get a leading single quote, which spreadsheets show as
text. Numbers are not text and stay as they are, so -5 is still a number.

"Whatever the separator": the program that opens a file may split it on a separator the file did not mean
(a comma file read with semicolons, a text file imported as CSV), so a trigger after any such separator inside
a value is quoted the same way. Files without quoting (tab-separated, text tables) cannot let a value split
its cell or row at all: `text_cell` writes tabs, line breaks and other control characters as visible escapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A trigger at the start of a value, or after a character some program may split a cell on.
_SPLIT_THEN_TRIGGER = re.compile(r"(^|[,;|\t\r\n\x0b\x0c]\s*)(?=[=+\-@\t\r])")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def csv_safe(value: Any) -> Any:
    """`value` as it may go into a cell of a quoted format (CSV through the csv module)."""
    if not isinstance(value, str) or not value:
        return value
    return _SPLIT_THEN_TRIGGER.sub(lambda match: match.group(1) + "'", value)


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe(value) for value in values]


def _visible(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _unsplittable(text: str) -> str:
    # Cc: C0/C1 controls (tab, line feed, NEL...); Zl/Zp: the Unicode line and paragraph separators.
    return "".join(_visible(c) if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def text_cell(value: Any) -> str:
    """`value` as a cell of an unquoted format (tab-separated, a text table): one cell, one line, no formula."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return csv_safe(_unsplittable(str(value)))


def text_row(values: Iterable[Any], separator: str = "\t") -> str:
    """One line of a tab-separated (or other unquoted) download."""
    return separator.join(text_cell(value) for value in values)
