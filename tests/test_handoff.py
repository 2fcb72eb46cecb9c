"""HandOff: items done in order in one thread, its error raised in the caller's thread, nothing left running."""

import threading

import pytest

from etlsite.handoff import HandOff


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def test_items_are_done_in_order_and_wait_sees_them_all():
    done, exited = [], []
    worker = HandOff(done.append, name="handoff-order", on_exit=lambda: exited.append(True))
    for i in range(50):
        worker.put(i)
    worker.wait()
    assert done == list(range(50)) and _alive("handoff-order")
    worker.close()
    assert exited == [True] and not _alive("handoff-order")


def test_the_threads_error_is_raised_in_the_callers_thread_and_later_items_are_dropped():
    done = []

    def work(item):
        if item == 3:
            raise ValueError("item 3 is broken")
        done.append(item)

    worker = HandOff(work, name="handoff-error")
    with pytest.raises(ValueError, match="item 3 is broken"):
        for i in range(100):
            worker.put(i)
        worker.close()
    worker.stop()
    assert done == [0, 1, 2] and not _alive("handoff-error")


def test_stop_ends_the_thread_without_doing_what_waits():
    done, started = [], threading.Event()

    def work(item):
        done.append(item)
        started.set()
        threading.Event().wait(0.5)  # holds the thread: the other items still wait when stop() comes

    worker = HandOff(work, name="handoff-stop", depth=5)
    for i in range(5):
        worker.put(i)
    assert started.wait(5)
    worker.stop()
    assert done == [0] and not _alive("handoff-stop")


def test_several_threads_take_items_side_by_side_each_once():
    done, exited, lock = [], [], threading.Lock()
    # Each of the first two items waits for the other one: with one thread at work this would time out.
    together = threading.Barrier(2, timeout=10)

    def work(item):
        if item < 2:
            together.wait()
        with lock:
            done.append((item, threading.current_thread().name))

    worker = HandOff(work, name="handoff-pair", depth=2, threads=2, on_exit=lambda: exited.append(True))
    for i in range(40):
        worker.put(i)
    worker.close()
    assert sorted(item for item, _name in done) == list(range(40))
    assert {name for item, name in done if item < 2} == {"handoff-pair-1", "handoff-pair-2"}
    assert exited == [True, True] and not _alive("handoff-pair-1") and not _alive("handoff-pair-2")


def test_an_error_in_one_of_several_threads_is_raised_and_stop_ends_them_all():
    def work(item):
        if item == 5:
            raise ValueError("item 5 is broken")

    worker = HandOff(work, name="handoff-pair-error", threads=2)
    with pytest.raises(ValueError, match="item 5 is broken"):
        for i in range(100):
            worker.put(i)
        worker.close()
    worker.stop()
    assert not _alive("handoff-pair-error-1") and not _alive("handoff-pair-error-2")
