"""StagingWriter against the real staging database (the embedded PostgreSQL, or the server
STAGING_POSTGRES_HOST names): what goes in comes back out, value for value, NULL apart from '', in _row_number order."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from django.db import connections
from django.utils import timezone as dj_timezone

from etlsite.identifiers import quote_identifier_pg
from sources.secrets import PLACEHOLDER
from staging import writer as writer_module
from staging.models import StagingTable
from staging.writer import ROW_NUMBER_COLUMN, STAGING_ALIAS, StagingError, StagingWriter
from tests.staging.conftest import staging_tables

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

# Names a file header could carry; the writer must quote them, whatever the engine's sanitizer does first.
HOSTILE_COLUMNS = ['"a"b', "select", "x; drop table y", "имя", "Mixed Case", "back\\slash"]
TRICKY = [
    None, "", " ", "plain", 'with "quotes"', "comma,inside", "new\nline", "crlf\r\nline", "cr\ronly", "tab\tinside",
    "back\\slash", "\\.", "\\N", "NULL", "null", "Ünïcödé — 漢字 — 🎉", "Кириллица", "'single'", "--", ";",
    "trailing space ", "\u2028line separator", '"', '""', ",", "\n",
]
LONG_TEXT = "long-" + "абв,\"\n\\" * 40_000  # 200,005 characters


def _column_values(index: int, rows: int) -> list[str | None]:
    if index == 0:  # row-specific values: a wrong order or a lost row shows here
        return [None if r % 13 == 0 else f"row-{r}" for r in range(rows)]
    values = [TRICKY[(r * 7 + index) % len(TRICKY)] for r in range(rows)]
    if index == 1:
        for r in range(0, rows, 9_973):
            values[r] = LONG_TEXT
    return values


def _batches(data: dict[str, list], sizes: list[int]):
    start = 0
    for size in sizes:
        numbers = pa.array(range(start + 1, start + size + 1), pa.int64())
        arrays = [pa.array(values[start:start + size], pa.string()) for values in data.values()]
        yield pa.RecordBatch.from_arrays([numbers, *arrays], names=[ROW_NUMBER_COLUMN, *data])
        start += size


def _read_all(writer: StagingWriter, batch_rows: int = 65_536) -> pa.Table:
    return pa.Table.from_batches(list(writer.read_batches(batch_rows)), schema=writer.schema)


def _count(writer: StagingWriter, where: str = "") -> int:
    with connections[STAGING_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {quote_identifier_pg(writer.table_name)} {where}")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("stream", ["csv", "binary"])
def test_100k_rows_of_hostile_text_round_trip_in_several_batches(make_writer, monkeypatch, stream):
    """Text goes as CSV; the same text in a batch with typed columns goes in the binary format."""
    if stream == "binary":
        monkeypatch.setattr(writer_module, "_binary_pays", lambda storage: True)
    unused = "_csv_bytes" if stream == "binary" else "_binary_bytes"
    monkeypatch.setattr(writer_module, unused, lambda batch: pytest.fail(f"{unused} was used for a {stream} batch"))
    rows = 100_000
    data = {name: _column_values(i, rows) for i, name in enumerate(HOSTILE_COLUMNS)}
    schema = pa.schema([(ROW_NUMBER_COLUMN, pa.int64())] + [(name, pa.string()) for name in data])
    writer = make_writer(schema, table_name='stg_run_"; drop table x; --')

    started = time.perf_counter()
    written = sum(writer.append(batch) for batch in _batches(data, [30_000, 30_000, 0, 30_000, 10_000]))
    seconds = time.perf_counter() - started
    print(f"\nPostgreSQL: staged {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)")

    assert written == rows
    started = time.perf_counter()
    table = _read_all(writer, batch_rows=25_000)
    print(f"PostgreSQL: read back in {time.perf_counter() - started:.2f} s")
    assert table.column_names == [ROW_NUMBER_COLUMN, *HOSTILE_COLUMNS]
    assert table.column(ROW_NUMBER_COLUMN).to_pylist() == list(range(1, rows + 1))
    for name, values in data.items():
        assert table.column(name).to_pylist() == values, name
    # In the database itself, NULL and '' are different values.
    nulls = sum(v is None for v in data["select"])
    empties = sum(v == "" for v in data["select"])
    assert nulls and empties
    assert _count(writer, 'WHERE "select" IS NULL') == nulls
    assert _count(writer, "WHERE \"select\" = ''") == empties


@pytest.mark.parametrize("stream", ["binary", "csv"])
def test_typed_columns_round_trip(make_writer, monkeypatch, stream):
    """Binary COPY when every column has a binary encoding; a NUMERIC column sends the batch as CSV."""
    moscow = ZoneInfo("Europe/Moscow")
    columns = {
        "i": pa.array([0, -(2**63), 2**63 - 1, None, 42], pa.int64()),
        "f": pa.array([0.1, -1e300, float("inf"), float("-inf"), None], pa.float64()),
        "b": pa.array([True, False, None, True, False], pa.bool_()),
        "d": pa.array([date(2024, 2, 29), date(1, 1, 1), date(9999, 12, 31), None, date(1970, 1, 1)], pa.date32()),
        "t": pa.array([datetime(2024, 1, 1, 10, 30, 0, 123456), datetime(1900, 1, 1), None,
                       datetime(2038, 1, 19, 3, 14, 8), datetime(2024, 6, 30, 23, 59, 59, 999999)],
                      pa.timestamp("us")),
        "tz": pa.array([datetime(2024, 1, 1, 13, 30, tzinfo=moscow), None,
                        datetime(2024, 7, 1, 0, 0, 0, 1, tzinfo=timezone.utc),
                        datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(1999, 12, 31, 23, 0, tzinfo=moscow)],
                       pa.timestamp("us", tz="Europe/Moscow")),
        "n": pa.array([Decimal("1234567890123456789012345678.0123456789"), Decimal("-0.0000000001"), None,
                       Decimal("0E-10"), Decimal("-9999999999999999999999999999.9999999999")],
                      pa.decimal128(38, 10)),
        "money": pa.array([Decimal("1.10"), Decimal("-2.05"), None, Decimal("0.00"), Decimal("999.99")],
                          pa.decimal128(5, 2)),
        "s": pa.array(["", None, "x", "\\.", "ё"], pa.string()),
    }
    unused = "_csv_bytes" if stream == "binary" else "_binary_bytes"
    if stream == "binary":
        del columns["n"], columns["money"]
    monkeypatch.setattr(writer_module, unused, lambda batch: pytest.fail(f"{unused} was used for a {stream} batch"))
    batch = pa.RecordBatch.from_arrays([pa.array(range(1, 6), pa.int64()), *columns.values()],
                                       names=[ROW_NUMBER_COLUMN, *columns])
    writer = make_writer(batch.schema)
    writer.append(batch)

    for reader in (writer, StagingWriter.open(table_name=writer.table_name)):
        table = _read_all(reader)
        assert table.schema.field("tz").type == pa.timestamp("us", tz="UTC")
        for name, array in columns.items():
            expected = array.cast(pa.timestamp("us", tz="UTC")) if name == "tz" else array
            assert table.schema.field(name).type == expected.type, name
            assert table.column(name).to_pylist() == expected.to_pylist(), name


def test_other_arrow_types_are_stored_in_the_nearest_column_type(make_writer):
    columns = {
        "small": pa.array([1, None, -5], pa.int32()),
        "big_unsigned": pa.array([2**64 - 1, 0, None], pa.uint64()),
        "half": pa.array([1.5, None, -2.0], pa.float32()),
        "category": pa.array(["a", None, "b"]).dictionary_encode(),
        "nested": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
        "raw": pa.array([b"text", b"\xff\x00", None], pa.binary()),
        "nanos": pa.array([1_700_000_000_123_456_789, None, 0], pa.timestamp("ns")),
    }
    batch = pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
    writer = make_writer(batch.schema)
    writer.append(batch)
    table = _read_all(writer)
    assert table.column(ROW_NUMBER_COLUMN).to_pylist() == [1, 2, 3]
    assert table.column("small").to_pylist() == [1, None, -5]
    assert table.column("big_unsigned").to_pylist() == [Decimal(2**64 - 1), Decimal(0), None]
    assert table.column("half").to_pylist() == [1.5, None, -2.0]
    assert table.column("category").to_pylist() == ["a", None, "b"]
    assert table.column("nested").to_pylist() == ["[1, 2]", None, "[]"]
    assert table.column("raw").to_pylist() == ["\\x74657874", "\\xff00", None]
    assert table.column("nanos").to_pylist() == [datetime(2023, 11, 14, 22, 13, 20, 123456), None,
                                                 datetime(1970, 1, 1)]


def test_nan_is_kept(make_writer):
    batch = pa.RecordBatch.from_pydict({"f": pa.array([float("nan"), 1.0], pa.float64())})
    writer = make_writer(batch.schema)
    writer.append(batch)
    first = _read_all(writer).column("f").to_pylist()[0]
    assert first != first  # NaN


def test_rows_are_numbered_on_when_the_batch_has_no_row_numbers_and_columns_match_by_name(make_writer):
    schema = pa.schema([("a", pa.string()), ("b", pa.int64())])
    writer = make_writer(schema)
    writer.append(pa.RecordBatch.from_pydict({"a": ["x", "y"], "b": [1, 2]}, schema=schema))
    writer.append(pa.RecordBatch.from_pydict({"b": [3], "a": ["z"]}))  # another column order
    assert _read_all(writer).to_pydict() == {ROW_NUMBER_COLUMN: [1, 2, 3], "a": ["x", "y", "z"], "b": [1, 2, 3]}


def test_finish_registers_the_table_with_its_counts_and_masked_config(make_writer):
    schema = pa.schema([(ROW_NUMBER_COLUMN, pa.int64()), ("a", pa.string()), ("b", pa.int64())])
    config = {"file_path": "/data/x.csv", "password": "s3cret", "dsn": "postgresql://u:s3cret@db/x"}
    writer = make_writer(schema, table_name="stg_run_7", pipeline_run_id=7, source_type="database",
                         source_config=config, expires_in=timedelta(hours=2))
    registered = StagingTable.objects.get(table_name="stg_run_7")
    assert registered.is_active and registered.row_count == 0  # registered at once: clean-up finds a crashed run

    for start in (1, 1001, 2001):
        writer.append(pa.RecordBatch.from_pydict(
            {ROW_NUMBER_COLUMN: pa.array(range(start, start + 1000), pa.int64()),
             "a": [f"value {i}" for i in range(1000)], "b": list(range(1000))}, schema=schema))
    before = dj_timezone.now()
    staged = writer.finish()

    stored = StagingTable.objects.get(pk=staged.pk)
    assert stored.table_name == "stg_run_7"
    assert stored.schema_name == "public"
    assert (stored.row_count, stored.column_count) == (3000, 2)
    assert stored.file_size_bytes > 3000 * 10
    assert stored.source_type == "database" and stored.pipeline_run_id == 7 and stored.is_active
    assert stored.source_config["password"] == PLACEHOLDER and "s3cret" not in str(stored.source_config)
    assert stored.source_config["file_path"] == "/data/x.csv"
    assert before + timedelta(hours=2) <= stored.expires_at <= dj_timezone.now() + timedelta(hours=2)
    assert StagingTable.objects.count() == 1

    # Writers that opened the table (a split run's parts, in other processes) count what it holds.
    first, second = (StagingWriter.open(table_name="stg_run_7") for _ in range(2))
    for part, start in ((first, 3001), (second, 3101)):
        part.append(pa.RecordBatch.from_pydict(
            {ROW_NUMBER_COLUMN: pa.array(range(start, start + 100), pa.int64()),
             "a": ["x"] * 100, "b": list(range(100))}, schema=schema))
    assert first.finish().row_count == 3200


def test_create_again_replaces_the_table_and_its_registration(make_writer):
    schema = pa.schema([("a", pa.string())])
    first = make_writer(schema)
    first.append(pa.RecordBatch.from_pydict({"a": ["old"]}, schema=schema))
    first.finish()
    second = make_writer(pa.schema([("b", pa.int64())]))
    assert _read_all(second).num_rows == 0
    assert second.finish().row_count == 0
    assert StagingTable.objects.count() == 1


def test_drop_removes_the_physical_table_and_marks_it_inactive(make_writer):
    writer = make_writer(pa.schema([("a", pa.string())]), table_name="stg_run_drop_me")
    writer.append(pa.RecordBatch.from_pydict({"a": ["x"]}))
    writer.finish()
    assert "stg_run_drop_me" in staging_tables()
    writer.drop()
    assert "stg_run_drop_me" not in staging_tables()
    assert StagingTable.objects.get(table_name="stg_run_drop_me").is_active is False
    writer.drop()  # twice is harmless


def test_preview_pages_through_the_rows(make_writer):
    schema = pa.schema([("name", pa.string()), ("n", pa.int64())])
    writer = make_writer(schema)
    writer.append(pa.RecordBatch.from_pydict({"name": ["", None, "c", "d", "e"], "n": [1, 2, 3, None, 5]}))
    writer.finish()
    columns, rows = writer.preview(limit=2, offset=0)
    assert columns == [ROW_NUMBER_COLUMN, "name", "n"]
    assert rows == [(1, "", 1), (2, None, 2)]
    assert writer.preview(limit=10, offset=3) == (columns, [(4, "d", None), (5, "e", 5)])
    assert writer.preview(limit=10, offset=50) == (columns, [])


def _row_number_indexes(writer: StagingWriter) -> list[str]:
    with connections[STAGING_ALIAS].cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [writer.table_name])
        return [d for (d,) in cursor.fetchall() if d.endswith(f"({ROW_NUMBER_COLUMN})")]


def test_the_row_number_index_is_built_by_the_first_read_once(make_writer):
    schema = pa.schema([("a", pa.string())])
    writer = make_writer(schema)
    for start in (0, 3):  # two COPYs: rows stay in their numbers' order whatever the index
        writer.append(pa.RecordBatch.from_pydict({"a": [f"r{n}" for n in range(start, start + 3)]}, schema=schema))
    writer.finish()
    assert _row_number_indexes(writer) == []  # the run never waits for it
    assert writer.rows_numbered([5, 2])[1] == {2: ("r1",), 5: ("r4",)}
    assert len(_row_number_indexes(writer)) == 1
    assert writer.preview(limit=2, offset=4)[1] == [(5, "r4"), (6, "r5")]
    assert _read_all(writer).column("a").to_pylist() == [f"r{n}" for n in range(6)]
    assert len(_row_number_indexes(writer)) == 1


def test_open_reads_a_table_staged_earlier_and_refuses_a_missing_one(make_writer):
    schema = pa.schema([("a", pa.string())])
    writer = make_writer(schema)
    writer.append(pa.RecordBatch.from_pydict({"a": ["x", None]}, schema=schema))
    writer.finish()
    reopened = StagingWriter.open(table_name=writer.table_name)
    assert reopened.schema == writer.schema
    assert reopened.preview()[1] == [(1, "x"), (2, None)]
    with pytest.raises(StagingError, match="no active staging table"):
        StagingWriter.open(table_name="stg_run_404")


def test_a_batch_with_other_columns_is_refused_and_writes_nothing(make_writer):
    schema = pa.schema([("a", pa.string()), ("b", pa.int64())])
    writer = make_writer(schema)
    writer.append(pa.RecordBatch.from_pydict({"a": ["1"], "b": [2]}, schema=schema))
    with pytest.raises(StagingError, match="do not match"):
        writer.append(pa.RecordBatch.from_pydict({"a": ["x"], "b": [1], "c": ["z"]}))
    with pytest.raises(StagingError, match="do not match"):
        writer.append(pa.RecordBatch.from_pydict({"a": ["x"]}))
    with pytest.raises(StagingError, match="cannot be stored"):
        writer.append(pa.RecordBatch.from_pydict({"a": ["x"], "b": ["not a number"]}))
    assert _count(writer) == 1


# The database itself rejects the last row, after it has taken the others of the batch: in the binary
# stream a row of three fields where the table has two, in CSV a line with an extra column.
BROKEN_TAIL = {
    "binary": ("_binary_bytes", pa.float64(), lambda data: data[:-2] + (3).to_bytes(2, "big") + b"\xff\xff"),
    "csv": ("_csv_bytes", pa.decimal128(10, 2), lambda data: data + b'1,"x","extra column"\n'),
}


@pytest.mark.parametrize("stream", sorted(BROKEN_TAIL))
def test_a_batch_failing_half_way_leaves_none_of_its_rows(make_writer, monkeypatch, stream):
    encoder, value_type, break_tail = BROKEN_TAIL[stream]
    schema = pa.schema([(ROW_NUMBER_COLUMN, pa.int64()), ("a", value_type)])

    def batch(start: int, size: int) -> pa.RecordBatch:
        values = [i / 4 if value_type == pa.float64() else Decimal(i) / 4 for i in range(start, start + size)]
        return pa.RecordBatch.from_pydict({ROW_NUMBER_COLUMN: pa.array(range(start, start + size), pa.int64()),
                                           "a": pa.array(values, value_type)}, schema=schema)

    writer = make_writer(schema)
    writer.append(batch(1, 1000))
    real = getattr(writer_module, encoder)
    monkeypatch.setattr(writer_module, encoder, lambda b: break_tail(real(b)))
    with pytest.raises(StagingError, match="could not be staged"):
        writer.append(batch(1001, 1000))
    assert _count(writer) == 1000

    monkeypatch.undo()
    writer.append(batch(1001, 10))  # the connection is usable afterwards
    assert _read_all(writer).column(ROW_NUMBER_COLUMN).to_pylist() == list(range(1, 1011))


def test_a_nul_character_fails_the_batch(make_writer):
    schema = pa.schema([("a", pa.string())])
    writer = make_writer(schema)
    good = pa.RecordBatch.from_pydict({"a": ["ok"] * 10 + ["nul\x00inside"]}, schema=schema)
    with pytest.raises(StagingError, match="could not be staged"):
        writer.append(good)
    assert _count(writer) == 0


@pytest.mark.parametrize("table_name,message", [
    ("staging_tables", "must start with"),
    ("", "not valid"),
    ("stg_" + "я" * 30, "longer than"),
])
def test_bad_table_names_are_refused(table_name, message):
    with pytest.raises(StagingError, match=message):
        StagingWriter.create(table_name=table_name, schema=pa.schema([("a", pa.string())]), pipeline_run_id=1,
                             source_type="csv", source_config={}, expires_in=timedelta(days=1))
    assert "staging_tables" in staging_tables()


@pytest.mark.parametrize("fields,message", [
    ([("a", pa.string()), ("A", pa.string())], "appears twice"),
    ([(ROW_NUMBER_COLUMN, pa.string())], "reserved"),
    ([("x" * 64, pa.string())], "longer than"),
    ([("", pa.string())], "not valid"),
])
def test_bad_column_names_are_refused(fields, message):
    with pytest.raises(StagingError, match=message):
        StagingWriter.create(table_name="stg_run_bad", schema=pa.schema(fields), pipeline_run_id=1,
                             source_type="csv", source_config={}, expires_in=timedelta(days=1))
    assert "stg_run_bad" not in staging_tables()


def test_unknown_source_type_is_refused():
    with pytest.raises(StagingError, match="Unknown staging source type"):
        StagingWriter.create(table_name="stg_run_1", schema=pa.schema([("a", pa.string())]), pipeline_run_id=1,
                             source_type="kafka", source_config={}, expires_in=timedelta(days=1))
