"""Staging that runs beside the rest of the run: a thread and a bounded queue.

The staging database does its own work (PostgreSQL parses COPY in its server process), so while it
stages batch n the engine validates, transforms and loads batch n-1.
The queue holds at most QUEUE_BATCHES batches, so memory stays bounded whatever the file's size.

The thread has its own database connection (Django's connections are per thread). Inside an atomic block
(a test's transaction) that connection could not see the staging table the block created, so there the
batches are staged in the calling thread, one after the other, as before.
"""

from __future__ import annotations

import queue
import threading
import time

import pyarrow as pa
from django.db import connections

from staging.writer import STAGING_ALIAS, StagingWriter

QUEUE_BATCHES = 2
_DONE = object()


def can_overlap() -> bool:
    return not any(connections[alias].in_atomic_block for alias in ("default", STAGING_ALIAS))


class StagingSink:
    """`put(batch)` stages a batch (now, or soon in the thread); `close()` waits for every batch and
    re-raises the first staging error; `abort()` stops without waiting for the rest."""

    def __init__(self, writer: StagingWriter, *, threaded: bool | None = None):
        self.writer = writer
        self.threaded = can_overlap() if threaded is None else threaded
        self.seconds = 0.0
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.threaded:
            self._thread = threading.Thread(target=self._work, name="staging-sink", daemon=True)
            self._thread.start()

    def put(self, batch: pa.RecordBatch) -> None:
        self._raise_error()
        if not self.threaded:
            self.writer.append(batch)
            return
        while True:  # a bounded wait, so a dead thread cannot hang the run
            try:
                self._queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                self._raise_error()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_DONE)
            self._thread.join()
            self._thread = None
        self._raise_error()

    def abort(self) -> None:
        if self._thread is not None:
            self._stop.set()
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put(_DONE)
            self._thread.join(timeout=60)
            self._thread = None

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        try:
            while True:
                batch = self._queue.get()
                if batch is _DONE:
                    return
                if self._stop.is_set() or self._error is not None:
                    continue  # drain: the caller stops putting once it sees the error
                started = time.perf_counter()
                try:
                    self.writer.append(batch)
                except BaseException as exc:  # handed to the engine's thread, which reports it
                    self._error = exc
                self.seconds += time.perf_counter() - started
        finally:
            connections[STAGING_ALIAS].close()
