"""Scale-out: one large file split into parts (`"parallelism": {"parts": N}`) processed by 1, then 2 Celery
worker processes on the Redis broker, committed once. Timed from the user's `run_pipeline NAME` (queued) to
the run's end as the metadata database records it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from bench import postgres
from bench.config import PYTHON, ROOT
from bench.measure import ContenderFailed, failure_summary, run_once
from bench.modes import mode_env, staging_tables_drop

FINISHED = ("success", "failed", "cancelled")
_QUEUED = re.compile(r"Run (\d+) ")


def parallelism_present(root: Path = ROOT) -> bool:
    """Whether this tree's engine knows the `parallelism` configuration key (branch enginefast adds it)."""
    for path in (root / "pipelines").rglob("*.py"):
        if "tests" not in path.parts and "parallelism" in path.read_text(encoding="utf-8"):
            return True
    return False


def redis_reachable(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except Exception:
        return False


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def workers_start(count: int, env: dict, log_dir: Path) -> list[subprocess.Popen]:
    processes = []
    for number in range(count):
        log = open(log_dir / f"worker-{count}-{number}.log", "w")  # noqa: SIM115 -- closed with the process
        processes.append(subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "etlsite", "worker", "--concurrency=1", "--loglevel=info",
             "-n", f"bench{count}-{number}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return processes


def workers_wait_ready(processes, log_dir: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for number, process in enumerate(processes):
        log = log_dir / f"worker-{count}-{number}.log"
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ContenderFailed(f"worker {number} did not start:\n{log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.2)


def workers_stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def peak_rss_mib(processes) -> float:
    """The largest VmHWM among the workers and their pool processes (read while they are alive)."""
    peak = 0
    for process in processes:
        pids = [process.pid]
        try:
            pids += [int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        except OSError:
            pass
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
    return peak / 1024


def run_wait(cfg, run_id: int, timeout: float) -> tuple[str, float | None, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = postgres.query(cfg, postgres.METADATA_DB,
                              "SELECT status, duration_seconds, error_message FROM pipeline_runs WHERE id = %s",
                              [run_id])
        if rows and rows[0][0] in FINISHED:
            return rows[0]
        time.sleep(0.2)
    return "timeout", None, f"not finished after {timeout:.0f} s"


def _queued_run(output: str) -> dict:
    found = _QUEUED.search(output)
    return {"run": int(found.group(1))} if found else {}


def split_run_measure(bench, *, data, name: str, workers: int, timeout: float) -> dict:
    cfg = bench.cfg
    env = mode_env(cfg, "pg", CELERY_BROKER_URL=cfg.redis_url, CELERY_RESULT_BACKEND=cfg.redis_url)
    staging_tables_drop(cfg, "pg")
    _redis_flush(cfg.redis_url)
    log_dir = cfg.var_dir / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = workers_start(workers, env, log_dir)
    try:
        workers_wait_ready(processes, log_dir, workers)
        started = time.perf_counter()
        queued = run_once([PYTHON, "manage.py", "run_pipeline", name, "--load-again"], env=env, cwd=ROOT, timeout=300,
                          log=bench.log, parse=_queued_run).inner
        if "run" not in queued:
            raise ContenderFailed("run_pipeline did not say which run it queued")
        status, duration, error = run_wait(cfg, queued["run"], timeout)
        seconds = time.perf_counter() - started
        rss = peak_rss_mib(processes)
    finally:
        workers_stop(processes)
    return {"workers": workers, "run_id": queued["run"], "status": status, "seconds": seconds,
            "run_duration_seconds": duration, "error": (error or "")[:500], "peak_rss_mib": rss}


def workers_section(bench) -> dict:
    cfg = bench.cfg
    data = bench.files["10x"]
    parts = int(os.environ.get("BENCH_SPLIT_PARTS", "2"))
    section = {"file": data.label, "parts": parts, "broker": cfg.redis_url}
    if not parallelism_present():
        return {**section, "status": "not measured: feature not present (no `parallelism` key in this tree's "
                                     "engine)"}
    if not redis_reachable(cfg.redis_url):
        return {**section, "status": f"not measured: Redis not reachable at {cfg.redis_url}"}
    name = f"Flights {data.label} split"
    try:
        bench.pipeline_setup("pg", data, parts=parts, name=name)
    except ContenderFailed as exc:
        return {**section, "status": f"not measured: the pipeline with parallelism was refused: "
                                     f"{failure_summary(str(exc))}"}
    single = bench.results.measurement("etl_pg", data.label)
    timeout = max(1800.0, 4 * single.seconds) if single else 1800.0
    runs = []
    for workers in (1, 2):
        try:
            runs.append(split_run_measure(bench, data=data, name=name, workers=workers, timeout=timeout))
        except (ContenderFailed, OSError) as exc:
            runs.append({"workers": workers, "status": "failed", "error": failure_summary(str(exc))})
        bench.say(f"split run, {workers} worker(s): {runs[-1]}")
    return {**section, "status": "measured", "runs": runs}
