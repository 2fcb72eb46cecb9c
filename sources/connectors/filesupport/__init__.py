"""Readers of one file each, by format, behind one small interface; used by sources.connectors.file.

Each reader yields batches of any size (the connector re-cuts them), every column as pa.string() except Parquet,
which keeps its own types.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from django.utils.module_loading import import_string

from sources.connectors.filesupport.opening import ByteBudget, Member

_READERS = {  # imported on first use: openpyxl alone takes longer to import than a small CSV takes to read
    "csv": "sources.connectors.filesupport.delimited.DelimitedReader",
    "tsv": "sources.connectors.filesupport.delimited.DelimitedReader",
    "json": "sources.connectors.filesupport.records.JsonReader",
    "jsonl": "sources.connectors.filesupport.records.JsonLinesReader",
    "parquet": "sources.connectors.filesupport.parquet.ParquetReader",
    "xlsx": "sources.connectors.filesupport.excel.ExcelReader",
}


@dataclass(frozen=True)
class ReadSettings:
    """What the connection configuration says about reading (None: detect it)."""

    encoding: str | None = None
    delimiter: str | None = None
    quote_char: str | None = None
    escape_char: str | None = None
    has_header: bool = True
    record_path: tuple[str, ...] = ()
    sheet: str | None = None
    max_bytes: int = 2 * 1024**3
    # Most times its compressed size one compressed member may inflate to (None: only max_bytes counts).
    max_ratio: int | None = None

    def budget(self) -> ByteBudget:
        return ByteBudget(self.max_bytes, ratio=self.max_ratio)


@dataclass
class FileReader(abc.ABC):
    member: Member
    settings: ReadSettings
    detected: dict[str, Any] = field(default_factory=dict)
    _schema: pa.Schema | None = None

    @abc.abstractmethod
    def read_schema(self) -> pa.Schema:
        """The columns, reading as little as the format allows."""

    @abc.abstractmethod
    def batches(self, budget: ByteBudget, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Every row in order; sets `_schema` even when there is no row."""

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            self._schema = self.read_schema()
        return self._schema

    def details(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.member.name, "format": self.member.format}
        if self.member.compression:
            info["compression"] = self.member.compression
        info.update(self.detected)
        return info


def make_reader(member: Member, settings: ReadSettings) -> FileReader:
    return import_string(_READERS[member.format])(member, settings)
