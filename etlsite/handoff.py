"""Work handed to threads of its own, item by item: a run's staging COPYs, its ClickHouse inserts.

One thread (the default) does the items in order; several take them from one queue as each is free (the
staging COPYs, which need no order: each batch carries its row numbers). At most `depth` items wait, so
memory stays bounded; the caller's `put` waits in bounded steps, so a dead thread cannot hang it. An error in
a thread is kept and raised in the caller's thread at its next `put`, `wait` or `close`; the items after it
are dropped (the caller is about to fail).
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
    def __init__(self, work: Callable[[object], object], *, name: str, depth: int = 2, threads: int = 1,
                 on_exit: Callable[[], None] | None = None):
        """`work(item)` runs in a thread for each item; `on_exit()` once in each thread as it ends (its own
        connections are closed there)."""
        self._work_one = work
        self._on_exit = on_exit
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._seconds = [0.0] * threads
        self._threads = [threading.Thread(target=self._work, args=(index,), daemon=True,
                                          name=name if threads == 1 else f"{name}-{index + 1}")
                         for index in range(threads)]
        for thread in self._threads:
            thread.start()

    @property
    def seconds(self) -> float:
        """The busiest thread's own time at work (the threads work side by side)."""
        return max(self._seconds)

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
        """Every item done, the threads ended; the first error raised."""
        self._end()
        self._raise_error()

    def stop(self) -> None:
        """End the threads without doing the items that wait (the caller abandons the work)."""
        self._stopped.set()
        queue_drain(self._queue, task_done=True)
        self._end(timeout=60)

    def _end(self, timeout: float | None = None) -> None:
        """An end marker for each live thread (each takes one and ends), then wait for them."""
        alive = [thread for thread in self._threads if thread.is_alive()]
        for _thread in alive:
            try:
                self._queue.put(_DONE, timeout=timeout)
            except queue.Full:  # every thread stuck in its work: the joins wait for them at most `timeout`
                break
        for thread in alive:
            thread.join(timeout)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self, index: int) -> None:
        try:
            while (item := self._queue.get()) is not _DONE:
                try:
                    if self._stopped.is_set() or self._error is not None:
                        continue  # dropped: the caller sees the error at its next step
                    started = time.perf_counter()
                    self._work_one(item)
                    self._seconds[index] += time.perf_counter() - started
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc
                finally:
                    self._queue.task_done()
        finally:
            if self._on_exit is not None:
                self._on_exit()
