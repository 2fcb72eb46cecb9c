"""Stage one run's raw rows in a table of its own (`stg_run_<run id>`) in the staging database.

The table has `_row_number BIGINT` first, then one column per column of the Arrow schema (see `_storage_type`
and `_sql_type`); every identifier is quoted, every value is bound or streamed, never formatted into SQL.

One transaction per batch (a failed batch leaves none of its rows), streamed with `COPY ... FROM STDIN` to
PostgreSQL (a server, or the embedded cluster). As CSV when the batch is text (every column a file source
delivers): pyarrow writes it into memory, quoting every non-null string (style "needed"), so '' goes out as
`""` and NULL as an empty unquoted field, which is what COPY's CSV format reads as NULL. In PostgreSQL's
binary format when the batch has typed columns and pgpq has an encoding for each (numbers, booleans, dates,
timestamps, text): the server reads binary numbers and dates cheaper than it parses their text; a text value
costs it the same either way, while pgpq holds the GIL as it encodes and Arrow's CSV writer does not (the 10x
file: the same 4.8 CPU seconds in PostgreSQL, half a CPU second less in the worker). CSV also for a column
pgpq cannot encode (NUMERIC). Either way NULL and '' stay distinct, and PostgreSQL refuses NUL characters in
text: such a batch fails as a whole, with a StagingError.

The row-number index is built when the table is first read by row number (a page of staged rows, a
quarantined row in its whole row, a replay), not by the run: kept up to date during the COPYs it cost the
server a third more than the COPYs themselves, in the one backend that bounds the run, and built at the end
it still held every run up for a sorted pass over all its rows (a second, for 3.4 million), while most
staging tables are never read by row number before they expire. Built on first read, it costs that pass
once, to the first reader, and two readers at once build it once (an advisory lock).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pgpq
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from etlsite.identifiers import quote_identifier_pg as _quote
from etlsite.messages import _msg
from sources.secrets import mask_config
from staging.models import StagingSourceType, StagingTable

logger = logging.getLogger(__name__)

STAGING_ALIAS = "staging"
ROW_NUMBER_COLUMN = "_row_number"
# Only tables with this prefix are ever created or dropped here: a registry row cannot make us drop
# `staging_tables` or any other table of the database.
TABLE_PREFIX = "stg_"
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL silently truncates longer names, which could merge two columns
COPY_CHUNK_BYTES = 1 << 20
# Sort memory of the row-number index's build: 3.4 million rows sort in memory (a larger table spills, as before)
INDEX_SORT_MEMORY = "256MB"

_DECIMAL_TYPE = re.compile(r"numeric\s*\(\s*(\d+)\s*,\s*(-?\d+)\s*\)")


class StagingError(ValueError):
    """Staging cannot go on; the message is fit for the user (the run engine shows ValueErrors as they are)."""


def _identifier_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name or "\x00" in name:
        return "invalid"
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return "long"
    return None


# --- types ---------------------------------------------------------------------------------------------

def _storage_type(arrow_type: pa.DataType) -> pa.DataType:
    """The Arrow type a column is stored and read back as."""
    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_integer(t):
        return pa.decimal128(20, 0) if t == pa.uint64() else pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_boolean(t):
        return pa.bool_()
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_timestamp(t):
        # PostgreSQL keeps microseconds; an aware timestamp is stored as an instant and read back in UTC.
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_decimal(t):
        return pa.decimal128(t.precision, t.scale) if t.precision <= 38 else pa.decimal256(t.precision, t.scale)
    return pa.string()


def _sql_type(storage: pa.DataType) -> str:
    if storage == pa.int64():
        return "BIGINT"
    if storage == pa.float64():
        return "DOUBLE PRECISION"
    if storage == pa.bool_():
        return "BOOLEAN"
    if storage == pa.date32():
        return "DATE"
    if pa.types.is_timestamp(storage):
        return "TIMESTAMP WITH TIME ZONE" if storage.tz else "TIMESTAMP"
    if pa.types.is_decimal(storage):
        return f"NUMERIC({storage.precision}, {storage.scale})"
    return "TEXT"


def _type_from_sql(declared: str) -> pa.DataType:
    """The storage type of a column as PostgreSQL's format_type describes it."""
    d = " ".join(declared.lower().split())
    simple = {
        "bigint": pa.int64(),
        "double precision": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamp without time zone": pa.timestamp("us"),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    }
    if d in simple:
        return simple[d]
    match = _DECIMAL_TYPE.fullmatch(d)
    if match:
        precision, scale = int(match[1]), int(match[2])
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    return pa.string()


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return json.dumps(value, default=str, ensure_ascii=False)


def _to_storage(array: pa.Array, storage: pa.DataType, name: str) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.type == storage:
        return array
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type) or \
            pa.types.is_fixed_size_binary(array.type):
        # Always hex (as PostgreSQL shows bytea), not text in one batch and hex in the next.
        return pa.array([_text(value) for value in array.to_pylist()], pa.string())
    try:
        # Timestamps may lose nanoseconds (PostgreSQL keeps microseconds); anything else must fit exactly.
        return pc.cast(array, storage, safe=not pa.types.is_timestamp(storage))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if storage == pa.string():  # lists, structs, maps: kept as JSON text
            return pa.array([_text(value) for value in array.to_pylist()], pa.string())
        raise StagingError(_msg("The column %(column)s cannot be stored as %(type)s: %(error)s")
                           % {"column": name, "type": storage, "error": exc}) from exc


# --- the writer ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EncodedBatch:
    """A batch as the bytes of one `COPY ... FROM STDIN WITH (options)`."""

    rows: int
    data: bytes | bytearray
    options: str


@dataclass(frozen=True)
class StagedColumn:
    name: str
    arrow_type: pa.DataType  # the storage type (what read_batches returns)


class StagingWriter:
    """Writes (and reads back) the rows of one staging table. Build it with `create` or `open`."""

    def __init__(self, *, record: StagingTable, columns: list[StagedColumn], expires_in: timedelta | None,
                 wrote_all: bool = False):
        self.record = record
        self.columns = columns
        self.expires_in = expires_in
        self.rows_written = 0
        self._count_lock = threading.Lock()
        # Every row of the table went through this writer (it created the table): the count is known
        # without a scan. A writer from `open` may share the table with other processes (a split run's parts).
        self.wrote_all = wrote_all

    # construction

    @classmethod
    def create(cls, *, table_name: str, schema: pa.Schema, pipeline_run_id: int | None, source_type: str,
               source_config: dict, expires_in: timedelta) -> StagingWriter:
        """Create the table (replacing one of the same name: a retried run stages from scratch) and register it."""
        _check_table_name(table_name)
        if source_type not in StagingSourceType.values:
            raise StagingError(_msg("Unknown staging source type %(type)r; expected one of: %(types)s.")
                               % {"type": source_type, "types": ", ".join(StagingSourceType.values)})
        columns = _columns_of(schema)
        connection = connections[STAGING_ALIAS]
        definitions = [f"{_quote(ROW_NUMBER_COLUMN)} BIGINT"] + [
            f"{_quote(c.name)} {_sql_type(c.arrow_type)}" for c in columns]
        with transaction.atomic(using=STAGING_ALIAS), connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            schema_name = cursor.fetchone()[0]
            qualified = f"{_quote(schema_name)}.{_quote(table_name)}"
            cursor.execute(f"DROP TABLE IF EXISTS {qualified}")
            cursor.execute(f"CREATE TABLE {qualified} ({', '.join(definitions)})")
            record, _created = StagingTable.objects.using(STAGING_ALIAS).update_or_create(
                schema_name=schema_name, table_name=table_name,
                defaults={
                    "source_type": source_type,
                    "source_config": mask_config(source_config or {}),
                    "row_count": 0,
                    "column_count": len(columns),
                    "file_size_bytes": 0,
                    "is_active": True,
                    "expires_at": timezone.now() + expires_in,
                    "pipeline_run_id": pipeline_run_id,
                },
            )
        return cls(record=record, columns=columns, expires_in=expires_in, wrote_all=True)

    @classmethod
    def open(cls, *, table_name: str) -> StagingWriter:
        """The writer of an existing, active staging table (to read it back, or to append more rows)."""
        record = (StagingTable.objects.using(STAGING_ALIAS)
                  .filter(table_name=table_name, is_active=True).order_by("-created_at").first())
        if record is None:
            raise StagingError(_msg("There is no active staging table %(table)s.") % {"table": table_name})
        connection = connections[STAGING_ALIAS]
        with connection.cursor() as cursor:
            described = _describe(cursor, record.schema_name, record.table_name)
        if not described:
            raise StagingError(_msg("The staging table %(table)s no longer exists.") % {"table": table_name})
        columns = [StagedColumn(name, _type_from_sql(declared)) for name, declared in described
                   if name != ROW_NUMBER_COLUMN]
        writer = cls(record=record, columns=columns, expires_in=None)
        writer.rows_written = record.row_count
        return writer

    # properties

    @property
    def table_name(self) -> str:
        return self.record.table_name

    @property
    def schema(self) -> pa.Schema:
        """The schema of the batches read_batches yields: _row_number first, then the staged columns."""
        return pa.schema([pa.field(ROW_NUMBER_COLUMN, pa.int64())]
                         + [pa.field(c.name, c.arrow_type) for c in self.columns])

    @property
    def _qualified(self) -> str:
        return f"{_quote(self.record.schema_name)}.{_quote(self.record.table_name)}"

    @property
    def _column_list(self) -> str:
        return ", ".join(_quote(name) for name in self.schema.names)

    # writing

    def add_columns(self, schema: pa.Schema) -> list[str]:
        """Add the columns of `schema` the table lacks (a source whose schema grows, e.g. an API's new key).

        Existing rows get NULL there; returns the names added.
        """
        known = {c.name.lower() for c in self.columns} | {ROW_NUMBER_COLUMN}
        new = [c for c in _columns_of(schema) if c.name.lower() not in known]
        if not new:
            return []
        connection = connections[STAGING_ALIAS]
        with transaction.atomic(using=STAGING_ALIAS), connection.cursor() as cursor:
            for column in new:
                cursor.execute(f"ALTER TABLE {self._qualified} ADD COLUMN {_quote(column.name)} "
                               f"{_sql_type(column.arrow_type)}")
        self.columns = [*self.columns, *new]
        return [c.name for c in new]

    def append(self, batch: pa.RecordBatch) -> int:
        """Stage one batch in one transaction; returns the number of rows written.

        The batch has the table's columns (in any order); `_row_number` is taken from it when present and
        numbered on from the rows written so far otherwise.
        """
        return self.write(self.encode(batch))

    def encode(self, batch: pa.RecordBatch) -> EncodedBatch:
        """The batch as its COPY stream, without touching the database: the run engine encodes a batch in its
        own thread while the staging thread writes the one before (`write`). A batch without `_row_number`
        is numbered from the rows written so far, so it must be written before the next is encoded."""
        arrays = self._arrays_of(batch)
        if batch.num_rows == 0:
            return EncodedBatch(0, b"", "")
        table = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        if _binary_pays([array.type for array in arrays[1:]]):  # the row numbers aside
            return EncodedBatch(batch.num_rows, _binary_bytes(table), "FORMAT binary")
        return EncodedBatch(batch.num_rows, _csv_bytes(table), "FORMAT csv, NULL '', ENCODING 'UTF8'")

    def write(self, encoded: EncodedBatch) -> int:
        """COPY one encoded batch in one transaction (a failed batch leaves none of its rows)."""
        if not encoded.rows:
            return 0
        connection = connections[STAGING_ALIAS]
        sql = f"COPY {self._qualified} ({self._column_list}) FROM STDIN WITH ({encoded.options})"
        try:
            with transaction.atomic(using=STAGING_ALIAS), connection.cursor() as cursor, \
                    connection.wrap_database_errors:
                cursor.cursor.copy_expert(sql, _Chunks(encoded.data), size=COPY_CHUNK_BYTES)
        except DatabaseError as exc:
            error = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise StagingError(_msg("A batch of %(rows)d rows could not be staged in %(table)s: %(error)s")
                               % {"rows": encoded.rows, "table": self.table_name, "error": error}) from exc
        with self._count_lock:  # the run's COPY threads write side by side
            self.rows_written += encoded.rows
        return encoded.rows

    def _arrays_of(self, batch: pa.RecordBatch) -> list[pa.Array]:
        names = batch.schema.names
        expected = [c.name for c in self.columns]
        given = [name for name in names if name != ROW_NUMBER_COLUMN]
        if sorted(given) != sorted(expected) or len(set(names)) != len(names):
            raise StagingError(
                _msg("The batch's columns (%(given)s) do not match those of the staging table %(table)s "
                     "(%(expected)s).")
                % {"given": ", ".join(given), "expected": ", ".join(expected), "table": self.table_name})
        if ROW_NUMBER_COLUMN in names:
            numbers = _to_storage(batch.column(ROW_NUMBER_COLUMN), pa.int64(), ROW_NUMBER_COLUMN)
        else:
            first = self.rows_written + 1
            numbers = pa.array(range(first, first + batch.num_rows), pa.int64())
        return [numbers] + [_to_storage(batch.column(c.name), c.arrow_type, c.name) for c in self.columns]

    def finish(self) -> StagingTable:
        """Record the table's row count, column count and size once every row is in (the row-number index
        waits for the first reader: see the module's note)."""
        connection = connections[STAGING_ALIAS]
        with connection.cursor() as cursor:
            if self.wrote_all:
                row_count = self.rows_written  # each COPY's rows, committed one by one: no scan needed
            else:
                cursor.execute(f"SELECT COUNT(*) FROM {self._qualified}")
                row_count = cursor.fetchone()[0]
        record = self.record
        record.row_count = row_count
        record.column_count = len(self.columns)
        record.file_size_bytes = self._size()
        fields = ["row_count", "column_count", "file_size_bytes", "updated_at"]
        if self.expires_in is not None:
            record.expires_at = timezone.now() + self.expires_in
            fields.append("expires_at")
        record.save(using=STAGING_ALIAS, update_fields=fields)
        self.rows_written = row_count
        return record

    def _size(self) -> int:
        """Bytes on disk: PostgreSQL's pg_total_relation_size (table, TOAST and indexes)."""
        with connections[STAGING_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [self._qualified])
            return int(cursor.fetchone()[0] or 0)

    def drop(self) -> None:
        """Drop the table and mark its registry row inactive."""
        staging_table_drop(staging_table=self.record)

    # reading

    def _row_index_ensure(self) -> None:
        """Index `_row_number` unless it is: every read below orders or picks rows by it."""
        index = _index_name(self.table_name)
        qualified_index = f"{_quote(self.record.schema_name)}.{_quote(index)}"
        connection = connections[STAGING_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [qualified_index])
            if cursor.fetchone()[0]:
                return
        with transaction.atomic(using=STAGING_ALIAS), connection.cursor() as cursor:
            # Of two readers at once, the second waits here and then finds the index built.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [qualified_index])
            # The rows lie in row-number order, so the sort is one pass when it fits in memory (PostgreSQL's
            # default of 64 MB spills to disk beyond about a million rows, and then takes twice as long).
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_SORT_MEMORY}'")
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {_quote(index)} ON {self._qualified} "
                           f"({_quote(ROW_NUMBER_COLUMN)})")

    def read_batches(self, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The staged rows in _row_number order, at most `batch_rows` at a time (a server-side cursor, so
        memory holds one batch)."""
        self._row_index_ensure()
        connection = connections[STAGING_ALIAS]
        schema = self.schema
        sql = f"SELECT {self._column_list} FROM {self._qualified} ORDER BY {_quote(ROW_NUMBER_COLUMN)}"
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch_rows):
                columns = _columns(rows)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(values, field.type) for values, field in zip(columns, schema, strict=True)],
                    schema=schema)

    def preview(self, limit: int = 100, offset: int = 0) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of one page of staged rows, _row_number first."""
        self._row_index_ensure()
        return self._rows(f"ORDER BY {_quote(ROW_NUMBER_COLUMN)} LIMIT %s OFFSET %s", [int(limit), int(offset)])

    def sample(self, limit: int) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of up to `limit` staged rows as they lie in the table (the first ones staged,
        in practice): what a look at the values needs, without ordering the whole table or its index."""
        return self._rows("LIMIT %s", [int(limit)])

    def _rows(self, tail: str, params: list) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of `SELECT <every column> FROM <the table> <tail>`."""
        with connections[STAGING_ALIAS].cursor() as cursor:
            cursor.execute(f"SELECT {self._column_list} FROM {self._qualified} {tail}", params)
            rows = cursor.fetchall()
        return self.schema.names, [tuple(row) for row in rows]

    def rows_numbered(self, numbers: list[int]) -> tuple[list[str], dict[int, tuple]]:
        """(column names without _row_number, {row number: its values}) of the staged rows asked for: the
        quarantine page shows a failing value in its whole row."""
        wanted = sorted({int(n) for n in numbers})
        names = [c.name for c in self.columns]
        if not wanted:
            return names, {}
        self._row_index_ensure()
        with connections[STAGING_ALIAS].cursor() as cursor:
            cursor.execute(f"SELECT {self._column_list} FROM {self._qualified} "
                           f"WHERE {_quote(ROW_NUMBER_COLUMN)} = ANY(%s)", [wanted])
            rows = cursor.fetchall()
        return names, {int(row[0]): tuple(row[1:]) for row in rows}


def staging_table_drop(*, staging_table: StagingTable) -> bool:
    """Drop a staging table and mark it inactive; False when another process had already done so."""
    connection = connections[STAGING_ALIAS]
    with transaction.atomic(using=STAGING_ALIAS):
        # Claim the row first: of two workers cleaning up at once, one drops and counts it.
        claimed = (StagingTable.objects.using(STAGING_ALIAS)
                   .filter(pk=staging_table.pk, is_active=True)
                   .update(is_active=False, updated_at=timezone.now()))
        if staging_table.table_name.startswith(TABLE_PREFIX):
            qualified = _quote(staging_table.table_name)
            if staging_table.schema_name:
                qualified = f"{_quote(staging_table.schema_name)}.{qualified}"
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {qualified}")
        else:
            logger.warning("staging table %s was marked inactive but not dropped: its name lacks the %r prefix",
                           staging_table, TABLE_PREFIX)
    staging_table.is_active = False
    return bool(claimed)


# --- helpers -------------------------------------------------------------------------------------------

def _check_table_name(table_name: str) -> None:
    problem = _identifier_problem(table_name)
    if problem == "invalid":
        raise StagingError(_msg("The table name %(name)r is not valid.") % {"name": table_name})
    if problem == "long":
        raise StagingError(_msg("The table name %(name)s is longer than %(max)d bytes.")
                           % {"name": table_name, "max": MAX_IDENTIFIER_BYTES})
    if not table_name.startswith(TABLE_PREFIX):
        raise StagingError(_msg("A staging table's name must start with %(prefix)s (got %(name)s).")
                           % {"prefix": TABLE_PREFIX, "name": table_name})


def _check_column_name(name: str) -> str:
    problem = _identifier_problem(name)
    if problem == "invalid":
        raise StagingError(_msg("The column name %(name)r is not valid.") % {"name": name})
    if problem == "long":
        raise StagingError(_msg("The column name %(name)s is longer than %(max)d bytes.")
                           % {"name": name, "max": MAX_IDENTIFIER_BYTES})
    return name


def _columns_of(schema: pa.Schema) -> list[StagedColumn]:
    columns, seen = [], set()
    for field in schema:
        name = _check_column_name(field.name)
        # Names equal but for case are refused: target and catalog compare them without regard to case.
        if name.lower() in seen:
            raise StagingError(_msg("The column %(name)s appears twice.") % {"name": name})
        seen.add(name.lower())
        if name == ROW_NUMBER_COLUMN:
            if not pa.types.is_integer(field.type):
                raise StagingError(_msg("The column %(name)s is reserved for row numbers.") % {"name": name})
            continue
        columns.append(StagedColumn(name, _storage_type(field.type)))
    return columns


def _describe(cursor, schema_name: str, table_name: str) -> list[tuple[str, str]]:
    """(column name, declared type) of a table in column order; empty when there is no such table."""
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [schema_name, table_name])
    return [(name, declared) for name, declared in cursor.fetchall()]


def _index_name(table_name: str) -> str:
    return f"stg_ix_{hashlib.sha1(table_name.encode('utf-8')).hexdigest()[:24]}"


class _Chunks:
    """A file-like reader over the encoded batch for copy_expert: chunks are sliced off as they go out, never a
    copy of the whole (io.BytesIO copies a bytearray)."""

    def __init__(self, data: bytes | bytearray):
        self._view = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._at + size
        chunk = self._view[self._at:end].tobytes()
        self._at += len(chunk)
        return chunk


def _binary_encodable(storage: pa.DataType) -> bool:
    """Storage types pgpq writes in PostgreSQL's binary format (NUMERIC is not among them)."""
    return (storage in (pa.int64(), pa.float64(), pa.bool_(), pa.date32(), pa.string())
            or (pa.types.is_timestamp(storage) and storage.unit == "us"))


def _binary_pays(storage: list[pa.DataType]) -> bool:
    """Binary COPY for typed columns pgpq can all encode; text alone goes as CSV (see the module's note)."""
    return (all(_binary_encodable(t) for t in storage)
            and not all(pa.types.is_string(t) for t in storage))


def _binary_bytes(batch: pa.RecordBatch) -> bytes:
    """The batch as one whole `COPY ... (FORMAT binary)` stream: header, rows, trailer. A timestamp goes out as
    microseconds since 2000-01-01 UTC, which is how both timestamp and timestamptz read it."""
    encoder = pgpq.ArrowToPostgresBinaryEncoder(batch.schema)
    stream = bytearray(encoder.write_header())
    stream += encoder.write_batch(batch)  # appended in place: no second copy of the batch's bytes
    stream += encoder.finish()
    return stream


def _csv_bytes(batch: pa.RecordBatch) -> bytes:
    """The batch as headerless CSV: non-null strings quoted ('' is `""`), NULL an empty unquoted field."""
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()


def _columns(rows: list[tuple]) -> list[list]:
    """Rows fetched from the database, as one list of values per column."""
    return [list(values) for values in zip(*rows, strict=True)]
