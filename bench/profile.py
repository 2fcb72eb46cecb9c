"""Stage by stage: where the 10x run's time goes, in the worker and in each database process.

One run of the 10x file in PostgreSQL mode (`manage.py run_pipeline --sync`, as the side-by-side rounds run it),
watched three ways at once:

- the worker's CPU by stage: py-spy samples the run's process 100 times a second without pausing it
  (`--nonblocking`; idle threads are left out); each sample goes to the stage of the innermost product frame
  that names one (STAGES below), and the worker's CPU seconds as /proc counts them are split by those shares;
- every process's CPU over time: the worker, the PostgreSQL server (its postmaster, the backends alive now and
  the ones it reaped) and the ClickHouse process, read from /proc every 100 ms, drawn as a stacked area;
- the engine's own timers: wall seconds per operation as the run wrote them to processing_logs (the stages
  overlap — staging runs in a thread beside validation and loading — so they add up to more than the run).

The profiled run is not one of the timed rounds (py-spy costs a little); its wall time is reported beside the
rounds' median for comparison.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench.measure import ContenderFailed, failure_summary

SAMPLE_RATE = 100
POLL_SECONDS = 0.1
_TICKS = os.sysconf("SC_CLK_TCK")

# (stage, file fragment, function names or None for any). The innermost product frame that matches decides.
STAGES = (
    ("commit", "analytics/loading.py", {"commit", "_attach", "_scope", "committed_count", "_delete_committed",
                                        "repeats_remove"}),
    ("commit", "analytics/write_modes.py", None),
    ("ClickHouse insert", "analytics/loading.py", None),
    ("staging COPY", "staging/writer.py", None),
    ("staging COPY", "pipelines/engine/overlap.py", None),
    ("validation", "pipelines/validation.py", None),
    ("transformations", "pipelines/transformations/", None),
    ("read and parse", "sources/connectors/", None),
    ("analysis", "pipelines/engine/analyze.py", None),
    ("analysis", "analytics/quality.py", None),
    ("analysis", "analytics/business.py", None),
    ("analysis", "analytics/lineage.py", None),
    ("analysis", "analytics/catalog.py", None),
    ("start-up (Python, Django)", "<frozen importlib", None),
    ("start-up (Python, Django)", "django/__init__.py", None),
)
ORDER = ("read and parse", "staging COPY", "validation", "transformations", "ClickHouse insert", "commit",
         "analysis", "start-up (Python, Django)", "other (run bookkeeping, logs, Django)")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def stage_of(stack: list[str]) -> str:
    """`stack`: frames root first, as py-spy writes them ("function (file:line)")."""
    for frame in reversed(stack):
        found = _FRAME.match(frame.strip())
        function, file = (found["function"], found["file"]) if found else (frame, frame)
        for stage, fragment, functions in STAGES:
            if fragment in file and (functions is None or function in functions):
                return stage
    return ORDER[-1]


def stages_from_raw(text: str, rate: int = SAMPLE_RATE) -> dict[str, float]:
    """CPU seconds per stage from py-spy's raw (collapsed) output: `frame;frame;... count` per line."""
    seconds: dict[str, float] = dict.fromkeys(ORDER, 0.0)
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        seconds[stage_of(frames)] += int(count) / rate
    return {stage: round(value, 2) for stage, value in seconds.items()}


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of `pid` (and of its children it has waited for, when `reaped`), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / _TICKS


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class CpuSampler:
    """Cumulative CPU seconds of named process groups, read every POLL_SECONDS in a thread."""

    def __init__(self, groups: dict[str, callable]):
        self.groups = groups
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _work(self) -> None:
        started = time.perf_counter()
        while not self._stop.is_set():
            row = {}
            for name, read in self.groups.items():
                try:
                    row[name] = read()
                except (OSError, ValueError, IndexError):
                    row[name] = None
            self.samples.append((time.perf_counter() - started, row))
            self._stop.wait(POLL_SECONDS)

    def totals(self) -> dict[str, float]:
        """CPU seconds each group used while sampled (a group's first and last readable values)."""
        totals = {}
        for name in self.groups:
            values = [row[name] for _, row in self.samples if row.get(name) is not None]
            totals[name] = round(values[-1] - values[0], 2) if len(values) > 1 else 0.0
        return totals

    def timeline(self) -> list[dict]:
        """Cores used by each group over each interval (a value that went down — a process gone — counts 0)."""
        points = []
        for (t0, a), (t1, b) in zip(self.samples, self.samples[1:], strict=False):
            width = t1 - t0
            if width <= 0:
                continue
            points.append({"t": round(t1, 2), **{
                name: round(max((b[name] or 0) - (a[name] or 0), 0) / width, 3) if a[name] is not None
                and b[name] is not None else 0.0 for name in self.groups}})
        return points


def postgres_cpu(postmaster: int) -> float:
    """The whole server: the postmaster with the backends it reaped, plus the processes alive now."""
    total = cpu_seconds(postmaster, reaped=True)
    for child in children(postmaster):
        try:
            total += cpu_seconds(child)
        except OSError:
            continue
    return total


def postmaster_pid(cfg) -> int:
    from bench import postgres

    connection = postgres.connect(cfg, postgres.METADATA_DB)
    try:  # read while the connection is open: its backend exits with it
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    finally:
        connection.close()
    return int(fields[1])  # the backend's parent


def python_child(pid: int, deadline: float) -> int | None:
    """The run's own process: py-spy's child running manage.py."""
    while time.monotonic() < deadline:
        for child in children(pid):
            try:
                if "manage.py" in Path(f"/proc/{child}/cmdline").read_text():
                    return child
            except OSError:
                continue
        time.sleep(0.02)
    return None


def profile_section(bench) -> dict:
    from bench.config import PYTHON, ROOT
    from bench.contenders.registry import pipeline_name
    from bench.modes import mode_env, staging_tables_drop, var_dir
    from bench.server import server_for

    cfg, mode = bench.cfg, "pg"
    data = bench.files["10x"]
    spy = shutil.which("py-spy") or str(Path(PYTHON).with_name("py-spy"))
    if not Path(spy).exists():
        return {"status": "not measured: py-spy is not installed (pip install -r requirements-bench.txt)"}
    env = mode_env(cfg, mode)
    staging_tables_drop(cfg, mode)
    clickhouse = server_for(var_dir(cfg, mode))
    clickhouse.start()
    out = cfg.var_dir / "profile"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "worker.raw.txt"
    log = out / "run.log"
    try:
        postmaster = postmaster_pid(cfg)
    except (OSError, IndexError, ValueError) as exc:
        return {"status": f"not measured: the PostgreSQL server's processes are not readable here ({exc})"}
    argv = [spy, "record", "--format", "raw", "--rate", str(SAMPLE_RATE), "--nonblocking", "--output", str(raw),
            "--", PYTHON, "manage.py", "run_pipeline", pipeline_name(data), "--sync", "--load-again"]
    started = time.perf_counter()
    with log.open("w") as handle:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    worker = python_child(process.pid, time.monotonic() + 30)
    if worker is None:
        process.kill()
        return {"status": f"failed: the run did not start under py-spy ({failure_summary(log.read_text())})"}
    sampler = CpuSampler({"worker": lambda: cpu_seconds(worker), "PostgreSQL": lambda: postgres_cpu(postmaster),
                          "ClickHouse": lambda: cpu_seconds(clickhouse.process.pid)})
    sampler.start()
    try:
        status = process.wait(timeout=3600)
    finally:
        sampler.stop()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if status != 0:
        return {"status": f"failed: exit {status}: {failure_summary(text)}"}
    try:
        operations = _operations(bench, env, text)
    except ContenderFailed as exc:
        operations = {"error": failure_summary(str(exc))}
    samples = stages_from_raw(raw.read_text(errors="replace"))
    totals = sampler.totals()
    worker_stages = scaled(samples, totals.get("worker", 0.0))
    rounds = bench.results.measurement("etl_pg", data.label)
    return {"status": "measured", "file": data.label, "rows": data.rows, "wall_seconds": round(wall, 2),
            "rounds_median_seconds": round(rounds.seconds, 2) if rounds else None,
            "worker_cpu_by_stage": worker_stages, "worker_samples_seconds": samples, "cpu_totals": totals,
            "timeline": sampler.timeline(), "operations": operations, "bound_by": bound_by(totals, worker_stages),
            "remedy": remedy(totals, worker_stages)}


def scaled(samples: dict[str, float], worker_cpu: float) -> dict[str, float]:
    """The worker's CPU seconds (from /proc, exact) split by the shares of py-spy's samples. The samples alone
    over-count on a busy machine: a thread that is runnable but waiting for a core is not idle to py-spy."""
    total = sum(samples.values())
    return {stage: round(worker_cpu * value / total, 2) if total else 0.0 for stage, value in samples.items()}


def bound_by(totals: dict[str, float], stages: dict[str, float]) -> str:
    """The process that used the most CPU, and the worker's costliest stage of the run itself (start-up is
    named apart: it is the same for every run, whatever its size)."""
    if not totals:
        return ""
    process = max(totals, key=totals.get)
    own = {stage: seconds for stage, seconds in stages.items() if not stage.startswith("start-up")}
    stage = max(own, key=own.get) if own else ""
    startup = next((seconds for name, seconds in stages.items() if name.startswith("start-up")), 0.0)
    return (f"{process} ({totals[process]:.1f} CPU s); the worker's costliest stage: {stage} "
            f"({own.get(stage, 0):.1f} CPU s; start-up apart: {startup:.1f} CPU s)")


# What would move each bound (the report names it beside the stage that bounds the run).
REMEDIES = {
    "PostgreSQL": "the staging COPYs bound the run: PostgreSQL parses every row the file has (two COPY streams and "
                  "the index built on first read already cut its wait); next, an UNLOGGED staging table (no WAL; "
                  "not done: a crash would empty the tables quarantine replays read) or a staging server with "
                  "cores to spare for more streams (ETL_STAGING_COPY_STREAMS)",
    "ClickHouse": "the inserts bound the run: fewer, larger INSERTs (INSERT_ROWS) or a ClickHouse with more cores",
    "read and parse": "Arrow's reader parses every value as text, then casts: typed parsing inside the reader (types "
                      "and NULL markers applied by its C++ parser) would read each value once",
    "validation": "the declared types' casts: typed parsing in the reader would leave validation only the rules",
    "transformations": "clean_duplicates hashes every column of every row: a key of a few columns, or hashing in "
                       "the reader's threads, would cut it",
    "staging COPY": "the worker's share of staging is writing each batch as CSV (Arrow's writer): staging the "
                    "file's own bytes, which are CSV already, would save it",
    "ClickHouse insert": "the worker's share of the inserts is Arrow IPC serialisation: larger INSERTs",
    "commit": "the commit is one ATTACH PARTITION per partition: fewer partitions",
    "analysis": "the analysis reads the loaded table: sampling it on large runs",
}


def remedy(totals: dict[str, float], stages: dict[str, float]) -> str:
    """What would move the bound: the busiest database when it used more CPU than the worker, else the worker's
    costliest stage."""
    if not totals:
        return ""
    process = max(totals, key=totals.get)
    if process != "worker":
        return REMEDIES.get(process, "")
    own = {stage: seconds for stage, seconds in stages.items() if not stage.startswith(("start-up", "other"))}
    return REMEDIES.get(max(own, key=own.get), "") if own else ""


_RUN = re.compile(r"[Rr]un (\d+)")


def _operations(bench, env: dict, output: str) -> dict:
    """Wall seconds per operation of the profiled run, from processing_logs (the engine's own timers)."""
    from bench.config import PYTHON, ROOT
    from bench.measure import run_once

    found = _RUN.findall(output)
    if not found:
        raise ContenderFailed("run_pipeline did not name its run")
    return run_once([PYTHON, "-m", "bench.run_operations", found[-1]], env=env, cwd=ROOT, timeout=120,
                    log=bench.log).inner
