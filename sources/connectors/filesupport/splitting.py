"""Cutting one large CSV/TSV file into byte ranges that separate workers read in parallel.

A file can be cut only where a line ends a row. That is every line end when no value holds a line break,
which `split_plan` checks exactly in one pass over the bytes (numpy, 16 MiB at a time): with RFC 4180
quoting (a quote inside a value is doubled, no escape character) a newline lies inside a quoted value if and
only if an odd number of quote characters precede it. The same pass counts the rows before each cut, so
every part numbers its rows (`_row_number`) exactly as a one-part read would.

A file is read as one part (the plan says why) when it is compressed or inside an archive, when a path
names several files, when the format is not CSV/TSV, when the encoding is not ASCII-compatible (UTF-16...),
when an escape character is configured, when a value holds a line break, or when the file has blank lines
(pyarrow skips them, which would shift the row numbers of later parts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from sources.connectors.filesupport.opening import Member

SCAN_BYTES = 16 << 20
_ASCII_COMPATIBLE = {"utf-8", "utf8", "ascii", "us-ascii", "latin-1", "latin1", "iso-8859-1", "cp1251",
                     "windows-1251", "cp1252", "windows-1252", "koi8-r", "iso-8859-5", "utf-8-sig"}


@dataclass(frozen=True)
class Part:
    index: int
    start: int  # byte offset of the part's first row (the header, for part 0)
    end: int  # byte offset just past its last row
    rows_before: int  # data rows in the parts before this one

    def as_dict(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end, "rows_before": self.rows_before}

    @classmethod
    def from_dict(cls, data: dict) -> Part:
        return cls(int(data["index"]), int(data["start"]), int(data["end"]), int(data["rows_before"]))


@dataclass(frozen=True)
class SplitPlan:
    parts: list[Part]
    reason: str = ""  # why the file is read as one part, when it is

    @property
    def split(self) -> bool:
        return len(self.parts) > 1


def one_part(reason: str) -> SplitPlan:
    return SplitPlan(parts=[], reason=reason)


def split_plan(member: Member, *, parts: int, encoding: str, quote_char: str | None, escape_char: str | None,
               has_header: bool) -> SplitPlan:
    """Cut points for `parts` parts of a local CSV/TSV file, or a one-part plan with the reason."""
    if parts < 2:
        return one_part(_("one part configured"))
    if member.local_path is None or member.compression:
        return one_part(_("the file is compressed or inside an archive"))
    if (encoding or "utf-8").lower() not in _ASCII_COMPATIBLE:
        return one_part(_("the encoding %(encoding)s is not ASCII-compatible") % {"encoding": encoding})
    if escape_char:
        return one_part(_("an escape character is configured"))
    quote = ord(quote_char) if quote_char else None
    newline_ends: list[np.ndarray] = []  # offsets just past each "\n", chunk by chunk
    inside = False  # an odd number of quotes seen so far
    size = 0
    previous_last = -1
    with open(member.local_path, "rb") as stream:
        while chunk := stream.read(SCAN_BYTES):
            data = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(data == 10)
            if quote is not None:
                quotes = np.flatnonzero(data == quote)
                # quotes before each newline in this chunk, plus the parity carried in
                before = np.searchsorted(quotes, newlines)
                if np.any((before + inside) % 2):
                    return one_part(_("a value holds a line break"))
                inside = bool((len(quotes) + inside) % 2)
            ends = newlines + (size + 1)
            if len(ends):
                gaps = np.diff(np.concatenate([[previous_last], ends])) if previous_last >= 0 else np.diff(ends)
                if np.any(gaps == 1) or b"\n\r\n" in chunk:
                    return one_part(_("the file has blank lines"))
                previous_last = int(ends[-1])
            newline_ends.append(ends)
            size += len(chunk)
    ends = np.concatenate(newline_ends) if newline_ends else np.zeros(0, np.int64)
    if len(ends) == 0 or ends[-1] != size:
        ends = np.append(ends, size)  # the last row without a final newline
    header_rows = 1 if has_header else 0
    rows = len(ends) - header_rows
    if rows < parts * 2:
        return one_part(_("the file has too few rows"))
    cuts = [0]
    for k in range(1, parts):
        # the first row end at or after the k-th share of the bytes
        at = int(np.searchsorted(ends, size * k // parts))
        at = max(at, header_rows)  # never inside the header
        cut = int(ends[min(at, len(ends) - 1)])
        if cut > cuts[-1] and cut < size:
            cuts.append(cut)
    cuts.append(size)
    plan, rows_before = [], 0
    for index, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False)):
        plan.append(Part(index, start, end, rows_before))
        lines = int(np.searchsorted(ends, end, side="right") - np.searchsorted(ends, start, side="right"))
        rows_before += lines - (header_rows if index == 0 else 0)
    if len(plan) < 2:
        return one_part(_("the file has too few rows"))
    return SplitPlan(parts=plan)


class RangeFile:
    """A binary file object reading only bytes [start, end) of a file (for pyarrow's CSV reader)."""

    def __init__(self, path: str, start: int, end: int):
        self._stream = open(path, "rb")  # noqa: SIM115  (closed by close(), like any file object)
        self._stream.seek(start)
        self._left = end - start
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._stream.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
