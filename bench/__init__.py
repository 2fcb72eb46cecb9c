"""`make bench`: the side-by-side benchmark of issue 5; results land in docs/BENCHMARKS.md (see docs/BENCH.md)."""
