"""Dashboard query timings: kept by the process, added to the shared list (Django's cache) at most once a
second and whenever the list is read, so that a page's queries do not each rewrite the list."""

from analytics.queries import timing


class _CountingCache:
    """Django's cache, counting its writes."""

    def __init__(self, real):
        self.real, self.writes = real, []

    def get(self, *args, **kwargs):
        return self.real.get(*args, **kwargs)

    def set(self, key, *args, **kwargs):
        self.writes.append(key)
        return self.real.set(key, *args, **kwargs)


def _writes(monkeypatch) -> list:
    counting = _CountingCache(timing.cache)
    monkeypatch.setattr(timing, "cache", counting)
    return counting.writes


def _empty() -> None:
    """No timings: none waiting in this process (earlier tests' pages), none in the shared list. Just
    flushed, so the next second's records wait in the process."""
    timing.timings_flush()
    timing.cache.delete(timing.CACHE_KEY)


def test_a_pages_queries_are_written_once_and_read_back_at_once(monkeypatch):
    _empty()
    writes = _writes(monkeypatch)
    for number in range(5):
        timing.timing_record(f"page.query_{number}", 10.0 + number, rows=number)
    assert writes == []

    recent = timing.timings_recent()  # reading flushes this process's own first
    assert [t["name"] for t in recent] == [f"page.query_{n}" for n in range(5)]
    assert [t["ms"] for t in recent] == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert writes == [timing.CACHE_KEY]


def test_a_record_after_the_flush_interval_is_written_at_once_and_the_list_keeps_the_newest(monkeypatch):
    _empty()
    monkeypatch.setattr(timing, "FLUSH_SECONDS", 0.0)
    monkeypatch.setattr(timing, "KEEP", 3)
    writes = _writes(monkeypatch)
    for number in range(4):
        timing.timing_record(f"q{number}", 1.0, rows=0)
    assert len(writes) == 4
    assert [t["name"] for t in timing.timings_recent()] == ["q1", "q2", "q3"]
