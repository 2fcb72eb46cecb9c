import os

# Arrow's jemalloc pool hands a run's freed batches back to the operating system; with the default (mimalloc)
# a 10x run's worker kept ~80 MiB more resident (measured by `make bench`: 548-579 against 611-656 MiB; the
# goal is under 600). Set before pyarrow creates its pool; an operator's ARROW_DEFAULT_MEMORY_POOL wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

from etlsite.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
