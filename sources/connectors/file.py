"""The file connector: CSV, TSV, JSON, JSON Lines, Parquet and Excel files, plain, gzipped or in a zip archive.

connection_config (the specification's example is {"file_path": "/data/sales_2024.csv", "delimiter": ",",
"encoding": "utf-8"}):
- file_path: a path, or a glob ("/data/sales_*.csv"); several files are read in sorted order. Only the
  upload folder and the folders in ETL_FILE_ROOTS may be read (sources/fileroots.py). Without file_path the
  source is upload-only: each run reads the file it was started on (upload page, API, run_pipeline --file)
- format: csv, tsv, json, jsonl (ndjson), parquet, xlsx; by default told by the extension (.gz and .zip looked into)
- encoding: by default detected on the first MiB (filesupport/detection.py): a BOM, UTF-8 (a UTF-8 file
  with a broken byte is an error naming its offset), cp1251/KOI8-R for Cyrillic, cp1252 for Latin text unless
  it reads as Central European (cp1250) words; a guess the bytes cannot settle is marked as one
- delimiter, quote_char: by default sniffed ("\\t" for TSV); escape_char: none by default (quotes are doubled)
- has_header (default true): false names the columns column_1, column_2, ...
- record_path: for JSON, the key (or dotted path, or list of keys) of the array of records
- sheet: for Excel, the sheet's name (default: the first)
- max_bytes (default ETL_FILE_MAX_BYTES, 2 GiB): most decompressed bytes one read may take from .gz/.zip;
  without it a compressed member may also inflate to at most ETL_FILE_MAX_RATIO (100) times its own size
  (archive bombs)

A file with more columns than ETL_FILE_MAX_COLUMNS (default 1,000) is refused before a row is read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.filesupport import FileReader, ReadSettings, make_reader
from sources.connectors.filesupport.batching import Rebatcher, to_text
from sources.connectors.filesupport.detection import is_text_encoding, normalize_encoding
from sources.connectors.filesupport.opening import (
    FORMAT_ALIASES,
    FORMATS,
    Member,
    check_declared_sizes,
    content_free,
    resolve_members,
)

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
_TAB_NAMES = ("\\t", "tab")


def _single_character(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 1 and value not in "\r\n"


class FileConnector(Connector):
    kind = "file"
    KEYS = ("file_path", "format", "encoding", "delimiter", "quote_char", "escape_char", "has_header",
            "record_path", "sheet", "max_bytes")

    def __init__(self, config: dict, *, max_bytes: int | None = None, confined: bool = True):
        super().__init__(config)
        # Unconfined only for files this application wrote itself (S3 and HDFS downloads): fileroots.
        self.confined = confined
        record_path = config.get("record_path") or ()
        delimiter = config.get("delimiter")
        self.max_bytes = max_bytes or config.get("max_bytes") or settings.ETL_FILE_MAX_BYTES
        # A limit given for this source is the person's word for its files; otherwise a compressed member may
        # not inflate beyond ETL_FILE_MAX_RATIO times its size either (bombs are refused within seconds).
        explicit = bool(max_bytes or config.get("max_bytes"))
        self.format = FORMAT_ALIASES.get(config.get("format"), config.get("format"))
        self.settings = ReadSettings(
            encoding=normalize_encoding(config["encoding"]) if config.get("encoding") else None,
            delimiter="\t" if delimiter in _TAB_NAMES else delimiter,
            quote_char=config.get("quote_char"), escape_char=config.get("escape_char"),
            has_header=config.get("has_header", True),
            record_path=tuple(record_path.split(".") if isinstance(record_path, str) else record_path),
            sheet=config.get("sheet"), max_bytes=self.max_bytes,
            max_ratio=None if explicit else settings.ETL_FILE_MAX_RATIO or None,
        )
        self._schema: pa.Schema | None = None
        self._readers: list[FileReader] = []  # those of the last read, for describe()

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, cls.KEYS, "file")
        path = config.get("file_path")
        if path is not None and not isinstance(path, str):
            errors.append(_("file_path must be a text: a path or a glob pattern."))
        elif isinstance(path, str) and not path.strip():
            errors.append(_("file_path is empty: give a path or a glob pattern, or leave file_path out for a "
                            "source that reads uploaded files only."))
        fmt = config.get("format")
        if fmt is not None and FORMAT_ALIASES.get(fmt, fmt) not in FORMATS:
            errors.append(_("format %(format)s is not supported; use one of: %(formats)s.")
                          % {"format": repr(fmt), "formats": ", ".join(FORMATS)})
        encoding = config.get("encoding")
        if encoding is not None and not (isinstance(encoding, str) and is_text_encoding(encoding)):
            errors.append(_("encoding '%(encoding)s' is not known.") % {"encoding": encoding})
        delimiter = config.get("delimiter")
        if delimiter is not None and not (_single_character(delimiter) or delimiter in _TAB_NAMES):
            errors.append(_("delimiter must be a single character (for a tab: \"\\t\" or \"tab\")."))
        for key in ("quote_char", "escape_char"):
            value = config.get(key)
            if value is not None and not _single_character(value):
                errors.append(_("%(key)s must be a single character.") % {"key": key})
        if delimiter is not None and delimiter == config.get("quote_char"):
            errors.append(_("delimiter and quote_char must differ."))
        if not isinstance(config.get("has_header", True), bool):
            errors.append(_("has_header must be true or false."))
        record_path = config.get("record_path")
        if record_path is not None and not (
                (isinstance(record_path, str) and record_path.strip())
                or (isinstance(record_path, list) and record_path
                    and all(isinstance(key, str) and key for key in record_path))):
            errors.append(_("record_path must be a key, a dotted path (\"data.items\") or a list of keys."))
        sheet = config.get("sheet")
        if sheet is not None and not (isinstance(sheet, str) and sheet):
            errors.append(_("sheet must be the name of a sheet."))
        max_bytes = config.get("max_bytes")
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                      or max_bytes <= 0):
            errors.append(_("max_bytes must be a positive whole number of bytes."))
        return errors

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        path = config.get("file_path") if isinstance(config, dict) else None
        return {"file_path": path} if isinstance(path, str) and path.strip() else {}

    # -- reading ---------------------------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """The files to read now (a glob is matched anew on every call)."""
        path = self.config.get("file_path")
        if not isinstance(path, str) or not path.strip():
            raise ConnectorError(_msg("This source reads uploaded files only: start its run on an uploaded file "
                                      "(the upload page, the API's file or file_id, run_pipeline --file)."),
                                 permanent=True)
        return resolve_members(path, self.format, confined=self.confined)

    def read_schema(self) -> pa.Schema:
        """The columns, from the first file (reading only its header where the format allows)."""
        reader = make_reader(self.members()[0], self.settings)
        self._schema = _width_checked(reader)
        self._readers = [reader]
        return self._schema

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            self.read_schema()
        return self._schema

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, not {batch_rows!r}")
        members = self.members()
        check_declared_sizes(members, self.max_bytes)
        budget = self.settings.budget()
        rebatcher = Rebatcher(batch_rows)
        self._readers = []
        first: FileReader | None = None
        for member in members:
            reader = make_reader(member, self.settings)
            self._readers.append(reader)
            _width_checked(reader)
            for batch in reader.batches(budget, batch_rows):
                if first is None:
                    self._schema = reader.schema  # known once a batch is out: a preview may stop here
                else:
                    batch = self._aligned(batch, first, reader)
                yield from rebatcher.add(batch)
            if first is None:
                first, self._schema = reader, reader.schema
            else:
                self._aligned(_empty(reader.schema), first, reader)  # a file with a header and no rows
        yield from rebatcher.flush()

    def _aligned(self, batch: pa.RecordBatch, first: FileReader, reader: FileReader) -> pa.RecordBatch:
        """`batch` with the first file's columns in the first file's order; files read together must agree."""
        target = first.schema
        if batch.schema.equals(target, check_metadata=False):
            return batch
        if sorted(batch.schema.names) != sorted(target.names) or len(set(target.names)) != len(target.names):
            raise ConnectorError(
                _msg("%(name)s has the columns %(found)s, but %(first)s has %(expected)s; files read together must "
                     "have the same columns.") % {"name": reader.member.name, "found": ", ".join(batch.schema.names),
                                               "first": first.member.name, "expected": ", ".join(target.names)},
                permanent=True)
        batch = batch.select(target.names)
        try:
            return batch.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ConnectorError(
                _msg("%(name)s has column types that differ from %(first)s's: %(reason)s")
                % {"name": reader.member.name, "first": first.member.name, "reason": error}, permanent=True) from None

    # -- one large file in parts (pipelines' "parallelism") -------------------------------------------------

    def split_plan(self, parts: int):
        """Byte ranges for reading the file in `parts` parallel parts, or a one-part plan with the reason."""
        from sources.connectors.filesupport.splitting import one_part, split_plan

        members = self.members()
        if len(members) != 1:
            return one_part(_("the path names several files"))
        member = members[0]
        if member.format not in ("csv", "tsv"):
            return one_part(_("only CSV and TSV files are read in parts"))
        reader = make_reader(member, self.settings)
        self._schema, self._readers = reader.schema, [reader]
        return split_plan(member, parts=parts, encoding=reader.detected["encoding"],
                          quote_char=reader.detected["quote_char"], escape_char=self.settings.escape_char,
                          has_header=self.settings.has_header)

    def read_part(self, part, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The rows of one part of a split plan, `batch_rows` at a time."""
        member = self.members()[0]
        reader = make_reader(member, self.settings)
        self._readers = [reader]
        self._schema = _width_checked(reader)
        rebatcher = Rebatcher(batch_rows)
        for batch in reader.part_batches(part):
            yield from rebatcher.add(batch)
        yield from rebatcher.flush()

    # -- the contract's other two ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        if not self._readers:
            self.read_schema()
        files = [reader.details() for reader in self._readers]
        first = files[0]
        description: dict[str, Any] = {"kind": self.kind, "file_path": self.config.get("file_path"),
                                       "format": first["format"]}
        for key in ("encoding", "delimiter", "quote_char", "has_header", "sheet", "record_path"):
            if key in first:
                description[key] = first[key]
        decimal_comma = sorted({name for info in files for name in info.get("decimal_comma_columns", ())})
        if first["format"] in ("csv", "tsv"):
            description["decimal_comma"] = bool(decimal_comma)
            description["decimal_comma_columns"] = decimal_comma
        description["columns"] = self._schema.names if self._schema is not None else []
        description["files"] = files
        return description

    def test_connection(self) -> ConnectionCheck:
        try:
            members = self.members()
            check_declared_sizes(members, self.max_bytes)
            readers = [make_reader(member, self.settings) for member in members]
            for reader in readers:
                _width_checked(reader)
            first = readers[0]
            for reader in readers:
                if reader is not first:
                    self._aligned(_empty(reader.schema), first, reader)
            self._schema, self._readers = first.schema, readers
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        except Exception as error:  # a damaged file can upset a parser in ways nobody listed; report, don't crash
            logger.exception("test_connection failed unexpectedly for %s", self.config.get("file_path"))
            return ConnectionCheck(ok=False, message=_("%(path)s could not be read: %(reason)s")
                                   % {"path": self.config.get("file_path"), "reason": content_free(error)},
                                   details={"permanent": True})
        columns = self._schema.names
        message = ngettext("%(count)d file can be read; columns: %(columns)s.",
                           "%(count)d files can be read; columns: %(columns)s.", len(readers)) % {
            "count": len(readers), "columns": ", ".join(columns) or _("(none)")}
        return ConnectionCheck(ok=True, message=message, details=self.describe())


def _width_checked(reader: FileReader) -> pa.Schema:
    """The reader's columns, refused when there are more than a staging table can hold."""
    schema, limit = reader.schema, settings.ETL_FILE_MAX_COLUMNS
    if len(schema) > limit:
        raise ConnectorError(_msg("%(name)s has %(count)d columns; at most %(limit)d are loaded "
                                  "(ETL_FILE_MAX_COLUMNS). "
                                  "Split the file, or check its delimiter.")
                             % {"name": reader.member.name, "count": len(schema), "limit": limit}, permanent=True)
    return schema


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def sha256_of(path: str) -> str:
    """The SHA-256 of a file's bytes, as hex (file_metadata.file_hash)."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def sniff(path: str, **options: Any) -> dict[str, Any]:
    """What a file looks like, for an upload preview: format, encoding, delimiter, header and the first rows
    (as lists of text). `options` are connection_config keys (format, encoding, delimiter...)."""
    connector = FileConnector({"file_path": path, **options})
    rows: list[list[str | None]] = []
    batches = connector.read_batches(batch_rows=PREVIEW_ROWS)
    try:
        for batch in batches:
            columns = [column.to_pylist() for column in batch.columns]
            rows.extend([to_text(value) for value in row] for row in zip(*columns, strict=True))
            if len(rows) >= PREVIEW_ROWS:
                break
    finally:
        batches.close()
    description = connector.describe()
    return {
        "format": description["format"], "encoding": description.get("encoding"),
        "delimiter": description.get("delimiter"), "quote_char": description.get("quote_char"),
        "has_header": description.get("has_header", True), "header": connector.schema.names,
        "rows": rows[:PREVIEW_ROWS], "decimal_comma_columns": description.get("decimal_comma_columns", []),
        "description": description,
    }
