"""StagingSink: a run's batches COPYed by several threads side by side, each over a connection (a server
process) of its own, against the real staging database; every row lands once, whatever order the COPYs end in."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest
from django.db import connections

from pipelines.engine.overlap import StagingSink
from staging.writer import ROW_NUMBER_COLUMN, STAGING_ALIAS, StagingWriter

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

SCHEMA = pa.schema([(ROW_NUMBER_COLUMN, pa.int64()), ("name", pa.string()), ("amount", pa.int64())])


def _batch(first: int, rows: int) -> pa.RecordBatch:
    numbers = list(range(first, first + rows))
    return pa.RecordBatch.from_pydict({ROW_NUMBER_COLUMN: numbers, "name": [f"row-{n}" for n in numbers],
                                       "amount": [None if n % 7 == 0 else n * 3 for n in numbers]}, schema=SCHEMA)


def test_two_copy_streams_stage_every_row_once_over_two_server_processes(make_writer, monkeypatch):
    writer = make_writer(SCHEMA)
    backends, lock = set(), threading.Lock()
    write = StagingWriter.write

    def write_noting_the_server_process(self, encoded):
        with lock:
            backends.add(connections[STAGING_ALIAS].cursor().connection.get_backend_pid())
        return write(self, encoded)

    monkeypatch.setattr(StagingWriter, "write", write_noting_the_server_process)
    sink = StagingSink(writer, threaded=True, streams=2)
    for start in range(1, 40_001, 1_000):
        sink.put(_batch(start, 1_000))
    sink.close()

    assert writer.rows_written == 40_000
    staged = pa.Table.from_batches(list(writer.read_batches(7_000)))
    assert staged.column(ROW_NUMBER_COLUMN).to_pylist() == list(range(1, 40_001))
    assert staged.column("name").to_pylist()[::9_999] == ["row-1", "row-10000", "row-19999", "row-29998", "row-39997"]
    assert staged.column("amount").null_count == 40_000 // 7
    assert len(backends) == 2


def test_a_batch_without_row_numbers_is_numbered_after_the_batches_in_flight(make_writer):
    writer = make_writer(SCHEMA)
    sink = StagingSink(writer, threaded=True, streams=2)
    for start in range(1, 5_001, 500):
        sink.put(_batch(start, 500))
    sink.put(_batch(0, 3).drop_columns([ROW_NUMBER_COLUMN]))
    sink.close()
    numbers = [n for batch in writer.read_batches() for n in batch.column(ROW_NUMBER_COLUMN).to_pylist()]
    assert numbers == list(range(1, 5_004))
