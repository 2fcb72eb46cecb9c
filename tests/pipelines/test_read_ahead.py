"""ReadAhead: a source's batches read one step ahead in a thread, its errors raised where they happened."""

import threading

import pyarrow as pa
import pytest

from pipelines.engine.overlap import ReadAhead


def _batches(n: int, *, fail_at: int | None = None, closed: list | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"batch {i} is broken")
            yield pa.record_batch({"i": pa.array([i] * 3, pa.int64())})
    finally:
        if closed is not None:
            closed.append(True)


def _threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "read-ahead"]


def test_every_batch_arrives_prepared_and_in_order():
    closed: list = []
    ahead = ReadAhead(_batches(20, closed=closed), prepare=lambda b: b.append_column("j", pa.array([1, 2, 3])))
    got = [(b.column("i")[0].as_py(), b.column("j").to_pylist()) for b in ahead]
    ahead.close()
    assert got == [(i, [1, 2, 3]) for i in range(20)]
    assert closed == [True] and _threads() == []


def test_the_sources_error_is_raised_after_the_batches_before_it():
    ahead = ReadAhead(_batches(10, fail_at=4), prepare=lambda b: b)
    seen = []
    with pytest.raises(ValueError, match="batch 4 is broken"):
        for batch in ahead:
            seen.append(batch.column("i")[0].as_py())
    ahead.close()
    assert seen == [0, 1, 2, 3] and _threads() == []


def test_a_caller_that_stops_early_stops_the_thread_and_closes_the_source():
    closed: list = []
    ahead = ReadAhead(_batches(1000, closed=closed), prepare=lambda b: b)
    for batch in ahead:
        if batch.column("i")[0].as_py() == 2:
            break
    ahead.close()
    assert closed == [True] and _threads() == []
