"""CSV and TSV through pyarrow.csv's streaming reader: every column as text, an empty unquoted field as NULL."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError
from sources.connectors.filesupport import FileReader
from sources.connectors.filesupport.detection import (
    ENCODING_SAMPLE_BYTES,
    arrow_encoding,
    ascii_compatible,
    decimal_comma_columns,
    decode_sample,
    guess_encoding,
    python_encoding,
    sniff_dialect,
)
from sources.connectors.filesupport.opening import ByteBudget, ReadErrors, content_free, refuse_broken_utf8

BLOCK_SIZE = 2 << 20  # bytes pyarrow parses at a time: bounds memory (it reads ~40 blocks ahead), and the longest row
QUOTE_SCAN_MAX_BYTES = 1 << 30  # an odd quote count is confirmed by a scan of the file held in memory


def file_is_empty(name: str) -> ConnectorError:
    return ConnectorError(_("%(name)s: the file is empty.") % {"name": name}, permanent=True)


def binary_data(name: str, offset: int) -> ConnectorError:
    return ConnectorError(_("%(name)s contains NUL bytes (the first at byte %(offset)d): it is binary data, not CSV "
                            "text. If it is UTF-16 text without a byte order mark, set encoding to \"utf-16-le\".")
                          % {"name": name, "offset": offset}, permanent=True)


def unclosed_quote(name: str, quote_char: str) -> ConnectorError:
    return ConnectorError(_("%(name)s has a quote (%(quote)s) that is never closed: everything after it would be "
                            "one value. Close the quote, or set quote_char if the file uses another one.")
                          % {"name": name, "quote": quote_char}, permanent=True)


class _Census:
    """The byte stream pyarrow parses, counting on the way what pyarrow would take silently: NUL bytes (binary
    data) and quote characters (an odd number in all means one was never closed, and pyarrow would run the
    value to the end of the file). Only meaningful in an ASCII-compatible encoding without an escape char."""

    def __init__(self, raw, quote: bytes | None):
        self._raw, self._quote = raw, quote
        self.quotes, self.offset, self.nul_at = 0, 0, -1

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self.nul_at < 0 and (found := data.find(b"\x00")) >= 0:
            self.nul_at = self.offset + found
        if self._quote:
            self.quotes += data.count(self._quote)
        self.offset += len(data)
        return data

    # Only these: pyarrow prefers other methods of a stream (read_buffer, readinto) when it finds them.
    @property
    def closed(self) -> bool:
        return self._raw.closed

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._raw.close()


class DelimitedReader(FileReader):
    def _prepare(self) -> None:
        """Encoding, delimiter, quote char (configured or detected) from the first MiB, once."""
        if "encoding" in self.detected:
            return
        sample = self.member.head(ENCODING_SAMPLE_BYTES + 1)
        complete = len(sample) <= ENCODING_SAMPLE_BYTES
        sample = sample[:ENCODING_SAMPLE_BYTES]
        settings = self.settings
        if settings.encoding:
            encoding, how, confident = settings.encoding, "configured", True
        else:
            guess = guess_encoding(sample)
            refuse_broken_utf8(self.member.name, guess)
            encoding, how, confident = guess.encoding, guess.how, guess.confident
        nul = sample.find(b"\x00")
        if nul >= 0 and (encoding is None or ascii_compatible(encoding)):
            raise binary_data(self.member.name, nul)
        if encoding is None:
            raise ConnectorError(_msg("%(name)s: its encoding could not be detected; set encoding in the connection "
                                      "configuration (e.g. \"utf-8\" or \"cp1251\").") % {"name": self.member.name},
                                 permanent=True)
        with _CsvErrors(self.member.name, encoding):
            text = decode_sample(sample, encoding, complete=complete)
        if not text.strip():
            raise file_is_empty(self.member.name)
        default_delimiter = "\t" if self.member.format == "tsv" else None
        delimiter, quote_char, delimiter_how = sniff_dialect(
            text, delimiter=settings.delimiter or default_delimiter, quote_char=settings.quote_char)
        if settings.delimiter is None and default_delimiter:
            delimiter_how = "format"
        self.detected.update(encoding=encoding, encoding_detection=how, encoding_confident=confident,
                             delimiter=delimiter,
                             delimiter_detection=delimiter_how, quote_char=quote_char,
                             has_header=settings.has_header)
        self._sample_text = text

    def _options(self, column_names: list[str] | None = None, handler=None):
        settings = self.settings
        read = pacsv.ReadOptions(
            encoding=arrow_encoding(self.detected["encoding"]), block_size=BLOCK_SIZE,
            column_names=column_names, autogenerate_column_names=not settings.has_header and not column_names)
        parse = pacsv.ParseOptions(
            delimiter=self.detected["delimiter"], quote_char=self.detected["quote_char"], double_quote=True,
            escape_char=settings.escape_char or False, newlines_in_values=True, ignore_empty_lines=True,
            invalid_row_handler=handler)
        return read, parse

    def _source(self, budget: ByteBudget | None):
        if self.member.local_path:
            # compression=None: pyarrow would otherwise decompress by extension, around our byte budget
            return pa.input_stream(self.member.local_path, compression=None)
        return self.member.open(budget)

    def read_schema(self) -> pa.Schema:
        self._prepare()
        read, parse = self._options(handler=lambda row: "skip")  # ragged rows are reported by batches()
        with self._guard(), self._source(None) as source:
            names = pacsv.open_csv(source, read_options=read, parse_options=parse).schema.names
        if not self.settings.has_header:
            names = [f"column_{index}" for index in range(1, len(names) + 1)]
        schema = pa.schema([pa.field(name, pa.string()) for name in names])
        self.detected["columns"] = len(names)
        self.detected["decimal_comma_columns"] = decimal_comma_columns(
            self._sample_text, delimiter=self.detected["delimiter"], quote_char=self.detected["quote_char"],
            escape_char=self.settings.escape_char, header=names if self.settings.has_header else None)
        return schema

    def batches(self, budget: ByteBudget, batch_rows: int) -> Iterator[pa.RecordBatch]:
        schema = self.schema
        bad_rows: list[Any] = []
        lock = threading.Lock()  # pyarrow may parse blocks on several threads

        def on_bad_row(row) -> str:
            with lock:
                if not bad_rows:
                    bad_rows.append(row)
                self._bad_count += 1
            return "skip"  # counted here, reported once the whole file has been counted

        self._bad_count = 0
        read, parse = self._options(None if self.settings.has_header else schema.names, on_bad_row)
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in schema.names},
            # Only an empty unquoted field is NULL: pyarrow's default list also nulls "NA", "null", "NaN"...
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False)
        rows = 0
        with self._guard(), self._census(self._source(budget)) as source:
            reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
            for batch in reader:
                self._check_census(source)
                if batch.num_rows:
                    rows += batch.num_rows
                    yield batch
            self._check_census(source, complete=True)
        self.detected["rows"] = rows
        if self._bad_count:
            raise self._ragged_error(len(schema.names), bad_rows[0])

    def _census(self, source) -> _Census:
        quote = self.detected["quote_char"]
        counted = (ascii_compatible(self.detected["encoding"]) and not self.settings.escape_char
                   and quote and quote.isascii())
        return _Census(source, quote.encode("ascii") if counted else None)

    def _check_census(self, census: _Census, *, complete: bool = False) -> None:
        if census.nul_at >= 0 and ascii_compatible(self.detected["encoding"]):
            raise binary_data(self.member.name, census.nul_at)
        if complete and census.quotes % 2 and self._ends_inside_quotes():
            raise unclosed_quote(self.member.name, self.detected["quote_char"])

    def _ends_inside_quotes(self) -> bool:
        """Whether the file ends inside a quoted value, read as pyarrow reads it: a quote opens a value only at
        the value's start (5" pipe is five inches, not a quote), and a doubled quote inside it is a quote.
        Only run for an odd quote count, which literal quotes such as 5" also give."""
        delimiter, quote = self.detected["delimiter"], self.detected["quote_char"]
        if not (delimiter.isascii() and quote.isascii()):
            return False
        with self.member.open() as stream:
            data = stream.read(QUOTE_SCAN_MAX_BYTES + 1)
        if len(data) > QUOTE_SCAN_MAX_BYTES:
            return False  # too big to confirm in memory: pyarrow's reading stands
        d, q = re.escape(delimiter.encode("ascii")), re.escape(quote.encode("ascii"))
        # A quote at the start of a value (after a delimiter, a line end or nothing), then the value to its
        # closing quote, or to the end of the file when there is none.
        quoted = re.compile(rb"(?<![^" + d + rb"\r\n])" + q + rb"(?:[^" + q + rb"]+|" + q + q + rb")*(" + q
                            + rb"|\Z)")
        ends = [match.group(1) for match in quoted.finditer(data)]
        return bool(ends) and ends[-1] == b""

    def part_batches(self, part) -> Iterator[pa.RecordBatch]:
        """The rows of one byte range of the file (a `splitting.Part`); only part 0 holds the header."""
        from sources.connectors.filesupport.splitting import RangeFile

        schema = self.schema
        names = None if part.index == 0 and self.settings.has_header else schema.names
        read, parse = self._options(names, lambda row: "error")
        convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in schema.names},
                                       null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False)
        with self._guard(), RangeFile(self.member.local_path, part.start, part.end) as source:
            reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
            for batch in reader:
                if batch.num_rows:
                    if names is not None and batch.schema.names != schema.names:
                        batch = batch.rename_columns(schema.names)
                    yield batch

    def _guard(self) -> _CsvErrors:
        return _CsvErrors(self.member.name, self.detected.get("encoding"))

    def _ragged_error(self, expected: int, first) -> ConnectorError:
        found = self._first_bad_line(expected)
        count = self._bad_count
        total = ngettext("%(count)d row in the file does not match the header.",
                         "%(count)d rows in the file do not match the header.", count) % {"count": count}
        if found is not None:
            line, fields = found
            where = _("%(name)s, line %(line)d: %(fields)d fields where the header has %(expected)d.") % {
                "name": self.member.name, "line": line, "fields": fields, "expected": expected}
        else:  # never the row's text: the file's content stays out of messages
            where = _("%(name)s: a row with %(fields)d fields where the header has %(expected)d.") % {
                "name": self.member.name, "fields": first.actual_columns, "expected": expected}
        return ConnectorError(f"{where} {total}", permanent=True)

    def _first_bad_line(self, expected: int) -> tuple[int, int] | None:
        """(physical line number, field count) of the first row pyarrow skipped, found again with Python's csv
        module: pyarrow does not know line numbers once values may hold newlines."""
        stream = io.TextIOWrapper(self.member.open(), encoding=python_encoding(self.detected["encoding"]),
                                  errors="replace", newline="")
        with stream:
            reader = csv.reader(stream, delimiter=self.detected["delimiter"], quotechar=self.detected["quote_char"],
                                escapechar=self.settings.escape_char, doublequote=True)
            line_before = 0
            try:
                for row in reader:
                    if row and len(row) != expected:
                        return line_before + 1, len(row)
                    line_before = reader.line_num
            except csv.Error:
                return None
        return None


class _CsvErrors(ReadErrors):
    def translate(self, error: BaseException) -> ConnectorError | None:
        if not isinstance(error, pa.ArrowInvalid):
            return super().translate(error)
        message = str(error)
        if "invalid UTF8" in message:
            return super().translate(UnicodeError(message))
        if "Empty CSV file" in message:
            return file_is_empty(self.name)
        if "straddling" in message:
            return ConnectorError(_("%(name)s has a value longer than %(size)d MiB, or a quote that is never closed.")
                                  % {"name": self.name, "size": BLOCK_SIZE >> 20}, permanent=True)
        return ConnectorError(_("%(name)s could not be read as CSV: %(reason)s")
                              % {"name": self.name, "reason": content_free(message)}, permanent=True)
