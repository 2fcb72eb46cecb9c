"""Cells for CSV (and tab-separated) exports, neutralised against formula injection.

A spreadsheet opening an export runs a cell that starts with = + - @ (or a tab or carriage return, which some
programs skip before looking) as a formula: `=HYPERLINK(...)` leaks data, `=cmd|...` runs programs. Following
the OWASP "CSV Injection" guidance, such text cells get a leading single quote, which spreadsheets show as
text. Numbers are not text and stay as they are, so -5 is still a number. Every export of data uses these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """`value` as it may go into an exported cell."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe(value) for value in values]
