"""Work handed to one thread of its own, item by item, in order: a run's staging COPYs, its ClickHouse inserts.

At most `depth` items wait, so memory stays bounded; the caller's `put` waits in bounded steps, so a dead
thread cannot hang it. An error in the thread is kept and raised in the caller's thread at its next `put`,
`wait` or `close`; the items after it are dropped (the caller is about to fail).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable

_DONE = object()


def queue_drain(waiting: queue.Queue, *, task_done: bool = False) -> None:
    """Take every item waiting in `waiting` (a thread blocked putting one is released); `task_done` marks
    each taken item done, for a queue whose `join()` someone may wait on."""
    with contextlib.suppress(queue.Empty):
        while True:
            waiting.get_nowait()
            if task_done:
                waiting.task_done()


class HandOff:
    def __init__(self, work: Callable[[object], object], *, name: str, depth: int = 2,
                 on_exit: Callable[[], None] | None = None):
        """`work(item)` runs in the thread for each item; `on_exit()` once when the thread ends (its own
        connections are closed there)."""
        self._work_one = work
        self._on_exit = on_exit
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self.seconds = 0.0  # the thread's own time at work
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def put(self, item) -> None:
        self._raise_error()
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                self._raise_error()

    def wait(self) -> None:
        """Until every item put so far is done (the thread goes on)."""
        self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Every item done, the thread ended; the first error raised."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        self._raise_error()

    def stop(self) -> None:
        """End the thread without doing the items that wait (the caller abandons the work)."""
        self._stopped.set()
        queue_drain(self._queue, task_done=True)
        self._queue.put(_DONE)
        self._thread.join(timeout=60)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not _DONE:
                try:
                    if self._stopped.is_set() or self._error is not None:
                        continue  # dropped: the caller sees the error at its next step
                    started = time.perf_counter()
                    self._work_one(item)
                    self.seconds += time.perf_counter() - started
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc
                finally:
                    self._queue.task_done()
        finally:
            if self._on_exit is not None:
                self._on_exit()
