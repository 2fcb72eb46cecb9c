"""What N workers on N machines would give, derived from what one 2-core machine can measure (issue 17).

On the bench machine the workers, PostgreSQL and the ClickHouse process share 2 cores, so adding a worker
cannot show the speed-up of adding a machine. What can be measured is the CPU each part of the system spends
per million rows read (the profiled 10x run: bench/profile.py) and which of it parallelises across the parts
of a split run. From those, with the assumptions below written into the report, a throughput for N workers:

- each worker runs on a machine of its own and its CPU is counted as if on one core (its staging thread and
  Arrow's reading threads would overlap on more; so this is the cautious side), so the worker side scales
  linearly: N / (worker CPU s per M rows);
- the staging PostgreSQL server has `pg_cores` cores and takes one COPY per part in its own backend: at most
  pg_cores / (PostgreSQL CPU s per M rows) million rows a second, disks assumed not to bound it;
- ClickHouse has `ch_shards` shards of `ch_cores` cores and inserts in parallel across them:
  ch_shards * ch_cores / (ClickHouse CPU s per M rows);
- the serial part of a run (start-up, the commit, the analysis) is paid once per run, whatever N (Amdahl).
"""

from __future__ import annotations

from dataclasses import dataclass

SERIAL_STAGES = ("commit", "analysis", "start-up (Python, Django)")
DEFAULT_ASSUMPTIONS = {"pg_cores": 8, "ch_shards": 2, "ch_cores": 8}


@dataclass(frozen=True)
class Projection:
    workers: int
    seconds: float  # a run of `rows` rows
    rows_per_second: float
    bound: str  # what limits the parallel part at this N


def cpu_per_million(profile: dict) -> dict[str, float]:
    """CPU seconds per million rows read: the worker's parallel part, its serial part, PostgreSQL, ClickHouse."""
    millions = profile["rows"] / 1e6
    stages = profile["worker_cpu_by_stage"]
    serial = sum(stages.get(stage, 0.0) for stage in SERIAL_STAGES)
    parallel = sum(stages.values()) - serial
    totals = profile["cpu_totals"]
    return {"worker_parallel": parallel / millions, "worker_serial": serial / millions,
            "postgresql": totals.get("PostgreSQL", 0.0) / millions,
            "clickhouse": totals.get("ClickHouse", 0.0) / millions}


def project(profile: dict, workers: tuple[int, ...] = (1, 2, 4, 8, 16), **assumptions) -> list[Projection]:
    """The run of the profiled file on N workers, one per machine (see the module's note for the model)."""
    a = {**DEFAULT_ASSUMPTIONS, **assumptions}
    per = cpu_per_million(profile)
    millions = profile["rows"] / 1e6
    serial_seconds = per["worker_serial"] * millions
    out = []
    for n in workers:
        # Million rows a second each side can take; the smallest bounds the parallel part.
        rates = {"the workers": n / per["worker_parallel"] if per["worker_parallel"] else float("inf"),
                 f"PostgreSQL ({a['pg_cores']} cores)": (a["pg_cores"] / per["postgresql"]
                                                          if per["postgresql"] else float("inf")),
                 f"ClickHouse ({a['ch_shards']} x {a['ch_cores']} cores)": (
                     a["ch_shards"] * a["ch_cores"] / per["clickhouse"] if per["clickhouse"] else float("inf"))}
        bound = min(rates, key=rates.get)
        seconds = serial_seconds + millions / rates[bound]
        out.append(Projection(n, round(seconds, 2), round(profile["rows"] / seconds), bound))
    return out
