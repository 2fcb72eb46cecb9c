"""Rows to Arrow batches: values as text, and batches cut to exactly `batch_rows` rows."""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def to_text(value: Any) -> str | None:
    """A value from JSON or Excel as the text a CSV file would hold; None stays None (a NULL)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date().isoformat()  # Excel keeps dates as midnight datetimes
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return str(value)


def rows_to_batch(schema: pa.Schema, rows: list[list[Any]]) -> pa.RecordBatch:
    """Rows of text (already as wide as the schema) as one batch."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.RecordBatch.from_arrays([pa.array(column, type=pa.string()) for column in columns], schema=schema)


def string_schema(names: list[str]) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in names])


class Rebatcher:
    """Gathers batches of any size and hands them out `batch_rows` rows at a time (the last one may be shorter)."""

    def __init__(self, batch_rows: int):
        self.batch_rows = batch_rows
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        if batch.num_rows == 0:
            return
        if not self._pending and batch.num_rows == self.batch_rows:
            yield batch
            return
        self._pending.append(batch)
        self._rows += batch.num_rows
        if self._rows < self.batch_rows:
            return
        combined = self._combined()
        offset = 0
        while combined.num_rows - offset >= self.batch_rows:
            yield combined.slice(offset, self.batch_rows)
            offset += self.batch_rows
        rest = combined.num_rows - offset
        self._pending = [combined.slice(offset)] if rest else []
        self._rows = rest

    def flush(self) -> Iterator[pa.RecordBatch]:
        if self._rows:
            yield self._combined()
        self._pending, self._rows = [], 0

    def _combined(self) -> pa.RecordBatch:
        return self._pending[0] if len(self._pending) == 1 else pa.concat_batches(self._pending)
