"""Kafka messages as rows: a message spooled to a file and read back, and its value decoded by value_format."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError
from sources.connectors.filesupport.batching import to_text
from sources.connectors.kafka.config import METADATA_COLUMNS

# Spool record: partition, offset, timestamp (ms), key length (-1: none), value length (-1: tombstone).
SPOOL_HEADER = struct.Struct(">iqqii")


@dataclass
class Message:
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None

    @property
    def where(self) -> str:
        return _("partition %(partition)d, offset %(offset)d") % {"partition": self.partition,
                                                                  "offset": self.offset}


class MessageFormat:
    """How the messages' values become rows (value_format, encoding, delimiter, columns, include_metadata)."""

    def __init__(self, config: dict):
        self.config = config
        self.value_format: str = config.get("value_format", "json")
        self.encoding: str = config.get("encoding") or "utf-8"
        self.include_metadata: bool = config.get("include_metadata", False)

    def value_text(self, record: Message) -> str:
        try:
            return record.value.decode(self.encoding)
        except UnicodeDecodeError:
            raise ConnectorError(_msg("The message at %(where)s cannot be decoded as %(encoding)s; set encoding.")
                                 % {"where": record.where, "encoding": self.encoding}, permanent=True) from None

    def value_json(self, record: Message) -> dict:
        try:
            value = json.loads(self.value_text(record), parse_float=decimal.Decimal)
        except json.JSONDecodeError as error:
            raise ConnectorError(_msg("The message at %(where)s is not valid JSON (%(reason)s).")
                                 % {"where": record.where, "reason": error.msg}, permanent=True) from None
        if not isinstance(value, dict):
            raise ConnectorError(_msg("The message at %(where)s is not a JSON object ({...}); with value_format json "
                                      "each message must be one.") % {"where": record.where}, permanent=True)
        return value

    def value_csv(self, record: Message) -> list[list[str]]:
        delimiter = self.config.get("delimiter") or ","
        try:
            rows = [row for row in csv.reader(io.StringIO(self.value_text(record)), delimiter=delimiter) if row]
        except csv.Error as error:
            raise ConnectorError(_msg("The message at %(where)s is not valid CSV (%(reason)s).")
                                 % {"where": record.where, "reason": error}, permanent=True) from None
        columns = self.config.get("columns")
        if columns and any(len(row) > len(columns) for row in rows):
            raise ConnectorError(_msg("The message at %(where)s has more fields than columns lists (%(count)d).")
                                 % {"where": record.where, "count": len(columns)}, permanent=True)
        return rows

    def columns_of(self, record: Message) -> list[str] | int:
        """The JSON keys of a message, or the width of its widest CSV record (checks the message on the way)."""
        if self.value_format == "json":
            return list(self.value_json(record))
        if self.value_format == "csv":
            return max((len(row) for row in self.value_csv(record)), default=0)
        self.value_text(record)
        return 0

    def column_names(self, keys: dict[str, None], width: int) -> list[str]:
        if self.value_format == "json":
            names = list(keys)
        elif self.value_format == "csv":
            names = list(self.config.get("columns") or [f"column_{i}" for i in range(1, width + 1)])
        else:
            names = ["value"]
        return names + list(METADATA_COLUMNS) if self.include_metadata else names

    def rows(self, record: Message, position: dict[str, int], columns: list[str]) -> list[list[Any]]:
        if self.value_format == "json":
            value = self.value_json(record)
            row: list[Any] = [None] * len(position)
            for key, item in value.items():
                row[position[key]] = to_text(item)
            rows = [row]
        elif self.value_format == "csv":
            width = len(columns) - (len(METADATA_COLUMNS) if self.include_metadata else 0)
            rows = [[field if field != "" else None for field in row] + [None] * (width - len(row))
                    for row in self.value_csv(record)]
        else:
            rows = [[self.value_text(record)]]
        if self.include_metadata:
            stamp = (datetime.datetime.fromtimestamp(record.timestamp / 1000, tz=datetime.timezone.utc)
                     .isoformat(sep=" ") if record.timestamp > 0 else None)
            key = record.key.decode(self.encoding, errors="replace") if record.key is not None else None
            extra = [str(record.partition), str(record.offset), stamp, key]
            rows = [row + extra for row in rows]
        return rows


def spool_write(spool: BinaryIO, record: Message) -> None:
    key, value = record.key, record.value
    spool.write(SPOOL_HEADER.pack(record.partition, record.offset, record.timestamp,
                             -1 if key is None else len(key), -1 if value is None else len(value)))
    if key:
        spool.write(key)
    if value:
        spool.write(value)


def spool_read(spool: BinaryIO) -> Message:
    partition, offset, timestamp, key_size, value_size = SPOOL_HEADER.unpack(spool.read(SPOOL_HEADER.size))
    key = spool.read(key_size) if key_size > 0 else (b"" if key_size == 0 else None)
    value = spool.read(value_size) if value_size > 0 else (b"" if value_size == 0 else None)
    return Message(partition, offset, timestamp, key, value)
