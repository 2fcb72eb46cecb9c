"""Many pipelines at once: `BENCH_MANY_PIPELINES` (50) pipelines, each reading a file of `BENCH_MANY_ROWS`
(100,000) rows into a ClickHouse table of its own, queued together in one transaction on the embedded default
with `BENCH_MANY_WORKERS` (2) Celery workers of concurrency 1.

Reported: whether every run succeeded and loaded its rows; rows/s and runs/min from the moment the runs were
queued to the last run's end; each worker's busy share; and the time runs sat queued while a worker was idle.
That last figure is what a run waiting on another pipeline's lock would show (claims lock only their own
pipeline's row, so it should be the workers' own step from one task to the next, nothing more).

The harness calls `many_pipelines_section`; `python -m bench.many_pipelines --setup|--queue|--status` does the
parts that live inside Django.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone

from bench.measure import ContenderFailed, failure_summary, report_inner

FINISHED = ("success", "failed", "cancelled")


def many_pipelines_section(bench) -> dict:
    from bench.config import PYTHON, ROOT
    from bench.data import flights_zip, write_base
    from bench.measure import run_once
    from bench.modes import mode_env, staging_tables_drop
    from bench.workers import peak_rss_mib, workers_start, workers_stop, workers_wait_ready

    cfg, mode = bench.cfg, "embedded"
    count = 5 if cfg.quick else int(os.environ.get("BENCH_MANY_PIPELINES", "50"))
    rows = 5_000 if cfg.quick else int(os.environ.get("BENCH_MANY_ROWS", "100000"))
    worker_count = int(os.environ.get("BENCH_MANY_WORKERS", "2"))
    data = write_base(flights_zip(), cfg.data_dir / f"flights_many_{rows}.csv", rows=rows)
    figures = {"mode": mode, "pipelines": count, "rows_per_run": data.rows, "workers": worker_count}
    env = mode_env(cfg, mode)

    def django_step(*args: str, timeout: float = 600) -> dict:
        return run_once([PYTHON, "-m", "bench.many_pipelines", *args], env=env, cwd=ROOT, timeout=timeout,
                        log=bench.log).inner

    try:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        names = django_step("--setup", "--count", str(count), "--file", str(data.path.resolve()),
                            "--suffix", stamp)["names"]
    except ContenderFailed as exc:
        return {**figures, "status": f"failed: {failure_summary(str(exc))}"}
    log_dir = cfg.var_dir / "many_pipelines"
    log_dir.mkdir(parents=True, exist_ok=True)
    workers = workers_start(worker_count, env, log_dir)
    try:
        workers_wait_ready(workers, log_dir, worker_count)
        bench.say(f"many pipelines: {count} runs of {data.rows:,} rows queued together on {worker_count} workers")
        queued = django_step("--queue", *names)
        deadline = time.monotonic() + max(1800.0, count * 60.0)
        while True:
            status = django_step("--status", *map(str, queued["runs"]))
            if all(run["status"] in FINISHED for run in status["runs"]):
                break
            if time.monotonic() > deadline:
                return {**figures, "status": "failed: runs unfinished at the deadline",
                        "left": [r for r in status["runs"] if r["status"] not in FINISHED][:10]}
            for number, process in enumerate(workers):
                if process.poll() is not None:
                    raise ContenderFailed(f"worker {number} exited with {process.returncode}")
            time.sleep(2)
        rss = peak_rss_mib(workers)
    except (ContenderFailed, OSError, RuntimeError) as exc:
        return {**figures, "status": f"failed: {failure_summary(str(exc))}"}
    finally:
        workers_stop(workers)
        staging_tables_drop(cfg, mode)
    result = {**figures, **schedule_figures(status["runs"], worker_count, expected_rows=data.rows,
                                            queued_at=queued["queued_at"]),
              "queue_seconds": queued["seconds"], "worker_peak_rss_mib": round(rss)}
    bench.say(f"many pipelines: {result['status']}; {result.get('rows_per_second')} rows/s, "
              f"{result.get('runs_per_minute')} runs/min, idle while queued {result.get('idle_while_queued_s')} s")
    return result


def schedule_figures(runs: list[dict], workers: int, *, expected_rows: int, queued_at: str) -> dict:
    """Throughput and how well the workers were kept busy, from the runs' own timestamps; `queued_at` is when
    the transaction that created the runs committed (no worker can see a run before that)."""
    bad = [r for r in runs if r["status"] != "success" or r["records_processed"] != expected_rows]
    parse = datetime.fromisoformat
    created = parse(queued_at)
    ended = max(parse(r["finished_at"]) for r in runs if r["finished_at"])
    wall = (ended - created).total_seconds()
    rows = sum(r["records_processed"] or 0 for r in runs)
    busy: dict[str, float] = {}
    for r in runs:
        if r["started_at"] and r["finished_at"]:
            seconds = (parse(r["finished_at"]) - parse(r["started_at"])).total_seconds()
            busy[r["worker"]] = busy.get(r["worker"], 0.0) + seconds
    idle = _idle_while_queued(runs, workers, created)
    queue_waits = sorted((parse(r["started_at"]) - created).total_seconds() for r in runs if r["started_at"])
    return {
        "status": "measured" if not bad else f"failed: {len(bad)} of {len(runs)} runs did not load their rows",
        "failures": [{k: r[k] for k in ("id", "status", "records_processed", "error")} for r in bad][:10],
        "wall_seconds": round(wall, 2), "rows_loaded": rows,
        "rows_per_second": round(rows / wall) if wall else None,
        "runs_per_minute": round(len(runs) / wall * 60, 1) if wall else None,
        "run_seconds_median": round(sorted(_durations(runs))[len(runs) // 2], 2) if runs else None,
        "worker_busy_share": {name: round(seconds / wall, 3) for name, seconds in sorted(busy.items())},
        "workers_seen": len(busy),
        "idle_while_queued_s": round(idle, 2),
        "idle_while_queued_share": round(idle / (wall * workers), 3) if wall else None,
        "queue_wait_max_s": round(queue_waits[-1], 2) if queue_waits else None,
    }


def _durations(runs: list[dict]) -> list[float]:
    return [float(r["duration_seconds"] or 0) for r in runs]


def _idle_while_queued(runs: list[dict], workers: int, committed: datetime) -> float:
    """Seconds × workers during which a worker had no run while some run was waiting to start."""
    parse = datetime.fromisoformat
    events = []
    for r in runs:
        if not (r["started_at"] and r["finished_at"]):
            continue
        events += [(max(parse(r["created_at"]), committed), "pending", 1), (parse(r["started_at"]), "pending", -1),
                   (parse(r["started_at"]), "busy", 1), (parse(r["finished_at"]), "busy", -1)]
    events.sort(key=lambda e: e[0])
    pending = busy = 0
    idle = 0.0
    previous = None
    for moment, kind, step in events:
        if previous is not None:
            idle += min(max(workers - busy, 0), pending) * (moment - previous).total_seconds()
        if kind == "pending":
            pending += step
        else:
            busy += step
        previous = moment
    return idle


# --- inside Django ---------------------------------------------------------------------------------------

def setup(count: int, file_path: str, suffix: str) -> dict:
    from bench.flights_pipeline import flights_configuration
    from pipelines.models import Pipeline, PipelineStatus
    from sources.models import DataSource, SourceType

    names = []
    for number in range(count):
        name = f"Many {suffix} {number:02d}"
        configuration = flights_configuration()
        configuration["target"] = {"table": f"bench_many_{number:02d}"}
        source, _ = DataSource.objects.update_or_create(
            name=f"{name} file", defaults={"source_type": SourceType.FILE, "is_active": True,
                                           "connection_config": {"file_path": file_path, "delimiter": ",",
                                                                 "encoding": "utf-8"}})
        Pipeline.objects.update_or_create(
            name=name, defaults={"data_source": source, "status": PipelineStatus.ACTIVE, "schedule_cron": "",
                                 "configuration": configuration, "max_retries": 0, "tags": ["bench"]})
        names.append(name)
    return {"names": names}


def queue(names: list[str]) -> dict:
    """All runs in one transaction: the workers receive them together once it commits."""
    from django.db import transaction

    from pipelines.models import Pipeline
    from pipelines.services import run_enqueue

    started = time.perf_counter()
    with transaction.atomic():
        runs = [run_enqueue(pipeline=Pipeline.objects.get(name=name), triggered_by="bench",
                            execution_context={"load_again": True}).pk for name in names]
    return {"runs": runs, "queued_at": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.perf_counter() - started, 3)}


def status(run_ids: list[int]) -> dict:
    from pipelines.models import PipelineRun

    def when(value):
        return value.isoformat() if value else None

    return {"runs": [
        {"id": run.pk, "status": run.status, "records_processed": run.records_processed,
         "created_at": when(run.created_at), "started_at": when(run.started_at),
         "finished_at": when(run.finished_at), "duration_seconds": run.duration_seconds,
         "worker": (run.execution_context or {}).get("worker", ""), "error": (run.error_message or "")[:300]}
        for run in PipelineRun.objects.filter(pk__in=run_ids).order_by("pk")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--setup", action="store_true")
    action.add_argument("--queue", nargs="+", metavar="PIPELINE")
    action.add_argument("--status", nargs="+", type=int, metavar="RUN")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--file")
    parser.add_argument("--suffix", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    if args.setup:
        report_inner(**setup(args.count, args.file, args.suffix))
    elif args.queue:
        report_inner(**queue(args.queue))
    else:
        report_inner(**status(args.status))


if __name__ == "__main__":
    main()

