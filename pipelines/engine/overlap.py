"""The threads that work beside the engine's own in a run: reading ahead and staging.

The staging database does its own work (PostgreSQL parses COPY in its server processes), so while it
stages batches n and n-1 (two COPYs side by side, `StagingSink`) the engine validates, transforms and
loads the next; a file's next batch is read and parsed meanwhile (`ReadAhead`). At most STAGED_AHEAD
encoded batches are in the staging threads' hands or waiting for them, so memory stays bounded whatever the
file's size. (The ClickHouse inserts have their thread in analytics.loading; both hand-overs are
etlsite.handoff.HandOff.)

Each staging thread has its own database connection (Django's connections are per thread). Inside an
atomic block (a test's transaction) those could not see the staging table the block created, so there the
batches are staged in the calling thread, one after the other.
"""

from __future__ import annotations

import queue
import threading

import pyarrow as pa
from django.conf import settings
from django.db import connections

from etlsite.handoff import HandOff, queue_drain
from etlsite.worker_priority import session_priority_lower
from staging.writer import ROW_NUMBER_COLUMN, STAGING_ALIAS, StagingWriter

# Encoded batches being COPYed or waiting for a COPY thread: each is a batch of memory (the worker's peak RSS
# has a goal: docs/BENCHMARKS.md).
STAGED_AHEAD = 3
_DONE = object()


def can_overlap() -> bool:
    return not any(connections[alias].in_atomic_block for alias in ("default", STAGING_ALIAS))


class ReadAhead:
    """The batches of `source`, each passed through `prepare`, produced by a thread one batch ahead
    of the caller: reading and parsing the next batch (Arrow's CSV reader and compute release the GIL) goes
    on while the caller validates, transforms and loads this one. Iterate it once; `close()` (always, also
    when the caller stops early) stops the thread and closes the source. The source's errors are raised to
    the caller as they are, at the batch where they happened.

    Only for sources that need no database connection of Django's and no thread affinity (files)."""

    def __init__(self, source, *, prepare, name: str = "read-ahead"):
        self._source = source
        self._prepare = prepare
        # One batch waiting is enough to keep the engine busy; each more is a batch of memory (the worker's
        # peak RSS has a goal: docs/BENCHMARKS.md).
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        self._stop.set()
        queue_drain(self._queue)  # unblocks a thread waiting to put
        self._thread.join(timeout=60)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        iterator = iter(self._source)
        try:
            for batch in iterator:
                if not self._put(self._prepare(batch)):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the caller's thread, raised at this batch
            self._put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _written_at_worker_priority(writer: StagingWriter):
    """`writer.write`, whose first call in each thread gives that thread's staging session's server process
    (on the embedded cluster) the worker's priority: its COPYs keep a core busy for the whole load
    (etlsite/worker_priority.py)."""
    lowered = threading.local()

    def write(encoded) -> None:
        if not getattr(lowered, "done", False):
            session_priority_lower(connections[STAGING_ALIAS])
            lowered.done = True
        writer.write(encoded)

    return write


def _staging_connection_close() -> None:
    """The calling thread's own staging connection (Django's connections are per thread)."""
    connections[STAGING_ALIAS].close()


def copy_streams() -> int:
    """How many COPYs stage a run's batches side by side (ETL_STAGING_COPY_STREAMS)."""
    return max(1, getattr(settings, "ETL_STAGING_COPY_STREAMS", 2))


class StagingSink:
    """`put(batch)` stages a batch (now, or soon in a thread); `close()` waits for every batch and
    re-raises the first staging error; `abort()` stops without waiting for the rest.

    The batches go to `copy_streams()` threads, each COPYing over a connection of its own: one COPY is one
    server process, which parses and stores a batch on one core, and it is what bounds a large run. Each
    batch carries its row numbers, so the order in which they land does not matter (readers order by
    `_row_number`)."""

    def __init__(self, writer: StagingWriter, *, threaded: bool | None = None, streams: int | None = None):
        self.writer = writer
        self.threaded = can_overlap() if threaded is None else threaded
        threads = streams or copy_streams()
        self._thread = (HandOff(_written_at_worker_priority(writer), name="staging-sink", threads=threads,
                                depth=max(1, STAGED_AHEAD - threads), on_exit=_staging_connection_close)
                        if self.threaded else None)

    @property
    def seconds(self) -> float:
        """The busiest staging thread's own time."""
        return self._thread.seconds if self._thread is not None else 0.0

    def put(self, batch: pa.RecordBatch) -> None:
        if self._thread is None:
            self.writer.append(batch)
            return
        if ROW_NUMBER_COLUMN not in batch.schema.names:
            # It is numbered from the rows written so far, which lag behind the batches in flight: written
            # here, after them.
            self._thread.wait()
            self.writer.append(batch)
            return
        # Encoded here, so the threads only COPY: the staging database then waits for no encoding between
        # two batches (its COPYs are what bounds a large run).
        self._thread.put(self.writer.encode(batch))

    def close(self) -> None:
        if self._thread is not None:
            self._thread.close()

    def abort(self) -> None:
        if self._thread is not None:
            self._thread.stop()
