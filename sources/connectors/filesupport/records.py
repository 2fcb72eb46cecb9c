"""JSON (an array of objects, or an array found by record_path) and JSON Lines, every value as text.

Columns are the keys of all records in order of first appearance, so the schema is known before the first
batch: a first pass collects the keys, a second reads the rows. A top-level array is parsed incrementally
(memory bounded by the largest record); with record_path the document is loaded whole.
"""

from __future__ import annotations

import decimal
import io
import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

import pyarrow as pa
from django.utils.translation import gettext as _

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError
from sources.connectors.filesupport import FileReader
from sources.connectors.filesupport.batching import rows_to_batch, string_schema, to_text
from sources.connectors.filesupport.delimited import file_is_empty
from sources.connectors.filesupport.detection import (
    ENCODING_SAMPLE_BYTES,
    decode_sample,
    guess_encoding,
    python_encoding,
)
from sources.connectors.filesupport.opening import ByteBudget, ReadErrors, refuse_broken_utf8

_CHUNK_CHARS = 1 << 20
_WHITESPACE = re.compile(r"[ \t\r\n]*")


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python's json module accepts them, JSON (RFC 8259) does not."""

    def __init__(self, constant: str):
        super().__init__(constant)
        self.constant = constant


def _refuse_constant(constant: str) -> Any:
    raise _NotJson(constant)


def _not_json_reason(constant: str) -> str:
    return _("%(value)s is not a JSON value; write null, or the number as a string") % {"value": constant}


def _loads(text: str) -> Any:
    # Decimal keeps a number's text as written ("1.10" stays "1.10", no float rounding).
    return json.loads(text, parse_float=decimal.Decimal, parse_constant=_refuse_constant)


class _RecordsReader(FileReader):
    def _prepare(self) -> None:
        if "encoding" in self.detected:
            return
        sample = self.member.head(ENCODING_SAMPLE_BYTES + 1)
        complete = len(sample) <= ENCODING_SAMPLE_BYTES
        sample = sample[:ENCODING_SAMPLE_BYTES]
        if self.settings.encoding:
            encoding, how, confident = self.settings.encoding, "configured", True
        else:
            guess = guess_encoding(sample)
            refuse_broken_utf8(self.member.name, guess)
            # JSON is UTF-8 by its RFC; a wrong guess fails with a clear message
            encoding, how, confident = guess.encoding or "utf-8", guess.how, guess.confident
        with ReadErrors(self.member.name, encoding):
            text = decode_sample(sample, encoding, complete=complete)
        if not text.strip():
            raise file_is_empty(self.member.name)
        self._head = text if complete else None
        self.detected.update(encoding=encoding, encoding_detection=how, encoding_confident=confident)

    def _text(self, budget: ByteBudget | None) -> TextIO:
        return io.TextIOWrapper(self.member.open(budget), encoding=python_encoding(self.detected["encoding"]))

    def _records(self, budget: ByteBudget | None) -> Iterator[dict]:
        raise NotImplementedError

    def _errors(self) -> ReadErrors:
        return ReadErrors(self.member.name, self.detected.get("encoding"))

    def read_schema(self) -> pa.Schema:
        self._prepare()
        keys: dict[str, None] = {}
        with self._errors():
            for record in self._records(self.settings.budget()):
                keys.update(dict.fromkeys(record))
        self.detected["columns"] = len(keys)
        return string_schema(list(keys))

    def batches(self, budget: ByteBudget, batch_rows: int) -> Iterator[pa.RecordBatch]:
        schema = self.schema
        position = {name: index for index, name in enumerate(schema.names)}
        width, rows, count = len(position), [], 0
        with self._errors():
            for record in self._records(budget):
                row: list[Any] = [None] * width
                for key, value in record.items():
                    if key not in position:
                        raise ConnectorError(_msg("%(name)s changed while it was being read.")
                                             % {"name": self.member.name}, permanent=False)
                    row[position[key]] = to_text(value)
                rows.append(row)
                if len(rows) == batch_rows:
                    count += len(rows)
                    yield rows_to_batch(schema, rows)
                    rows = []
        if rows:
            count += len(rows)
            yield rows_to_batch(schema, rows)
        self.detected["rows"] = count

    def _not_an_object(self, where: str) -> ConnectorError:
        return ConnectorError(_("%(name)s: %(where)s is not a JSON object ({...}); each record must be one.")
                              % {"name": self.member.name, "where": where}, permanent=True)

    def _invalid(self, line: int, reason: str) -> ConnectorError:
        return ConnectorError(_("%(name)s, line %(line)d: invalid JSON (%(reason)s).")
                              % {"name": self.member.name, "line": line, "reason": reason}, permanent=True)


class JsonLinesReader(_RecordsReader):
    def _records(self, budget: ByteBudget | None) -> Iterator[dict]:
        with self._text(budget) as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = _loads(line)
                except json.JSONDecodeError as error:
                    raise self._invalid(number, error.msg) from None
                except _NotJson as error:
                    raise self._invalid(number, _not_json_reason(error.constant)) from None
                if not isinstance(record, dict):
                    raise self._not_an_object(_("line %(line)d") % {"line": number})
                yield record


class JsonReader(_RecordsReader):
    def _prepare(self) -> None:
        super()._prepare()
        if self.settings.record_path:
            self.detected["record_path"] = ".".join(self.settings.record_path)

    def _records(self, budget: ByteBudget | None) -> Iterator[dict]:
        records = self._nested(budget) if self.settings.record_path else self._array(budget)
        for index, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise self._not_an_object(_("record %(number)d") % {"number": index})
            yield record

    def _nested(self, budget: ByteBudget | None) -> list:
        with self._text(budget) as stream:
            try:
                text = stream.read()
                node = json.loads(text, parse_float=decimal.Decimal, parse_constant=_refuse_constant)
            except json.JSONDecodeError as error:
                raise self._invalid(error.lineno, error.msg) from None
            except _NotJson as error:
                line = text.count("\n", 0, max(text.find(error.constant), 0)) + 1
                raise self._invalid(line, _not_json_reason(error.constant)) from None
        path = self.settings.record_path
        for depth, key in enumerate(path):
            if not isinstance(node, dict) or key not in node:
                keys = ", ".join(map(str, node)) if isinstance(node, dict) else _("none: it is not an object")
                raise ConnectorError(
                    _msg("%(name)s: record_path %(path)s: there is no key %(key)s at %(where)s (keys there: %(keys)s).")
                    % {"name": self.member.name, "path": ".".join(path), "key": key,
                       "where": ".".join(path[:depth]) or _("the top level"), "keys": keys}, permanent=True)
            node = node[key]
        if not isinstance(node, list):
            raise ConnectorError(_msg("%(name)s: record_path %(path)s points to a %(kind)s, not to an array of "
                                      "records.")
                                 % {"name": self.member.name, "path": ".".join(path),
                                    "kind": type(node).__name__}, permanent=True)
        return node

    def _array(self, budget: ByteBudget | None) -> Iterator[Any]:
        with self._text(budget) as stream:
            yield from _ArrayParser(stream, self).values()

    def top_level_object(self) -> ConnectorError:
        hint = ""
        if self._head is not None:  # the whole file was sampled: name the keys that hold arrays
            try:
                document = _loads(self._head)
            except (json.JSONDecodeError, _NotJson):
                document = None
            if isinstance(document, dict):
                arrays = [key for key, value in document.items() if isinstance(value, list)]
                if arrays:
                    hint = " " + _("Keys holding arrays: %(keys)s.") % {"keys": ", ".join(arrays)}
        return ConnectorError(_("%(name)s holds a JSON object, not an array of records; set record_path to the key "
                                "that holds the records.") % {"name": self.member.name} + hint, permanent=True)


class _ArrayParser:
    """The elements of a top-level JSON array, read a chunk at a time."""

    def __init__(self, stream: TextIO, reader: JsonReader):
        self.stream, self.reader = stream, reader
        self.decoder = json.JSONDecoder(parse_float=decimal.Decimal, parse_constant=_refuse_constant)
        self.buffer, self.pos, self.eof, self.lines_before = "", 0, False, 0

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(max(_CHUNK_CHARS, len(self.buffer) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.lines_before += self.buffer.count("\n", 0, self.pos)
        self.buffer, self.pos = self.buffer[self.pos:] + chunk, 0
        return True

    def _peek(self) -> str:
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def _line(self, pos: int) -> int:
        return self.lines_before + self.buffer.count("\n", 0, pos) + 1

    def _expected(self, what: str) -> ConnectorError:
        # Where, not what: the text found there is the file's content (it may be a key).
        if self.pos >= len(self.buffer):
            return self.reader._invalid(self._line(self.pos), _("expected %(what)s, found the end of the file")
                                        % {"what": what})
        column = self.pos - self.buffer.rfind("\n", 0, self.pos)
        return self.reader._invalid(self._line(self.pos), _("expected %(what)s at column %(column)d")
                                    % {"what": what, "column": column})

    def _value(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if self._more():
                    continue
                raise self.reader._invalid(self._line(error.pos), error.msg) from None
            except _NotJson as error:
                where = self.buffer.find(error.constant, self.pos)
                raise self.reader._invalid(self._line(max(where, self.pos)), _not_json_reason(error.constant)) from None
            if end == len(self.buffer) and not isinstance(value, (dict, list, str)) and self._more():
                continue  # a number or literal cut at the end of the buffer: read on
            self.pos = end
            return value

    def values(self) -> Iterator[Any]:
        first = self._peek()
        if first == "{":
            raise self.reader.top_level_object()
        if first != "[":
            raise self._expected(_("an array of records ([...])"))
        self.pos += 1
        if self._peek() == "]":
            self.pos += 1
        else:
            while True:
                self._peek()  # raw_decode does not skip leading whitespace
                yield self._value()
                separator = self._peek()
                self.pos += 1
                if separator == "]":
                    break
                if separator != ",":
                    self.pos -= 1
                    raise self._expected(_("\",\" or \"]\""))
        if self._peek():
            raise self._expected(_("the end of the file"))
