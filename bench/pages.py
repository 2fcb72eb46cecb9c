"""Pages over a lot of data: the dashboards over 10 M `data_quality_metrics` rows and a 3.37 M-row target
table, and the admin's run list over 100,000 runs; server time (inside Django's test client), p95 of ~20
requests after one warm-up request.

The harness calls `pages_section`; the seeding and timing run in a Django process of the PostgreSQL mode
(`python -m bench.pages`). ClickHouse rows are made by ClickHouse itself (`INSERT ... SELECT FROM numbers()`
and `FROM file()`), not in Python.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

from bench.measure import ContenderFailed, failure_summary, report_inner

DASHBOARDS = ("/dashboards/quality/", "/dashboards/business/", "/dashboards/runs/", "/dashboards/health/")
ADMIN_RUNS = "/admin/pipelines/pipelinerun/"
GOAL_MS = {**dict.fromkeys(DASHBOARDS, 150.0), ADMIN_RUNS: 250.0}
BENCH_TABLES = ("bench_flights", "sales_processing", "orders", "customers")
METRICS = ("null_rate", "distinct_count", "min", "max", "mean", "invalid_rate", "row_count", "freshness_seconds")
COLUMNS = ("year", "month", "dep_delay", "arr_delay", "carrier", "tailnum", "origin", "dest", "distance", "")


def pages_section(bench, mode: str = "pg", *, under_load: bool = False) -> dict:
    """The pages in `mode` (its ClickHouse process, reached over HTTP as deployed); `under_load`: then the
    dashboards again while a run of the 10x pipeline loads beside them."""
    from bench.config import PYTHON, ROOT
    from bench.measure import run_once
    from bench.modes import mode_env

    cfg = bench.cfg
    quick = cfg.quick
    sizes = {"metrics_rows": 200_000 if quick else 10_000_000, "target_rows": bench.files["10x"].rows,
             "runs": 5_000 if quick else 100_000, "requests": 5 if quick else 20}
    argv = [PYTHON, "-m", "bench.pages", "--file", str(bench.files["10x"].path.resolve()),
            *(f"--{k.replace('_', '-')}={v}" for k, v in sizes.items())]
    if under_load:
        from bench.contenders.registry import pipeline_name

        argv += ["--under-load", pipeline_name(bench.files["10x"])]
    try:
        sample = run_once(argv, env=mode_env(cfg, mode), cwd=ROOT, timeout=3600, log=bench.log)
    except ContenderFailed as exc:
        return {**sizes, "status": f"failed: {failure_summary(str(exc))}"}
    return {**sizes, "mode": mode, "status": "measured", **sample.inner}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# --- inside Django ---------------------------------------------------------------------------------------

def seed_metrics(target, rows: int) -> dict:
    have = int(target.command("SELECT count() FROM data_quality_metrics"))
    started = time.perf_counter()
    if have < rows:
        tables = "[" + ", ".join(f"'{t}'" for t in BENCH_TABLES) + "]"
        columns = "[" + ", ".join(f"'{c}'" for c in COLUMNS) + "]"
        metrics = "[" + ", ".join(f"'{m}'" for m in METRICS) + "]"
        # 100 metrics per run, spread over the last 90 days; one check in 17 fails.
        target.command(
            "INSERT INTO data_quality_metrics (table_name, column_name, metric_name, metric_value, threshold_min, "
            "threshold_max, is_passed, pipeline_run_id, created_at, updated_at) "
            f"SELECT {tables}[number % 4 + 1], {columns}[intDiv(number, 4) % 10 + 1], "
            f"{metrics}[intDiv(number, 40) % 8 + 1], (number % 1000) / 1000, 0, 1, number % 17 != 0, "
            "1000000 + intDiv(number, 100), now64(3) - toIntervalSecond(number % 7776000), "
            "now64(3) - toIntervalSecond(number % 7776000) "
            f"FROM numbers({int(rows - have)})")
    return {"metrics_rows": int(target.command("SELECT count() FROM data_quality_metrics")),
            "metrics_seed_seconds": time.perf_counter() - started}


def seed_target(target, rows: int, csv_path: str) -> dict:
    from analytics.loading import LOADED_AT_COLUMN, ROW_NUMBER_COLUMN, RUN_ID_COLUMN, table_columns
    from bench.data import FLIGHTS_COLUMNS
    from bench.flights_pipeline import TARGET_TABLE

    columns = table_columns(target, TARGET_TABLE)
    if not columns:
        return {"target_rows": 0, "target_note": f"{TARGET_TABLE} does not exist (no run succeeded)"}
    started = time.perf_counter()
    have = int(target.command(f"SELECT count() FROM {TARGET_TABLE}"))
    if have < rows:
        data = [c for c in FLIGHTS_COLUMNS if c in columns]
        names = ", ".join([ROW_NUMBER_COLUMN, *data, RUN_ID_COLUMN, LOADED_AT_COLUMN])
        quoted_path = csv_path.replace("\\", "\\\\").replace("'", "\\'")
        target.command(
            f"INSERT INTO {TARGET_TABLE} ({names}) SELECT rowNumberInAllBlocks() + 1, {', '.join(data)}, 0, "
            f"now64(3) FROM file('{quoted_path}', 'CSVWithNames') LIMIT {int(rows - have)} "
            "SETTINGS date_time_input_format = 'best_effort'")
    return {"target_rows": int(target.command(f"SELECT count() FROM {TARGET_TABLE}")),
            "target_seed_seconds": time.perf_counter() - started}


def seed_runs(count: int) -> dict:
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from pipelines.models import Pipeline, PipelineRun, RunStatus

    started = time.perf_counter()
    pipelines = list(Pipeline.objects.order_by("pk")[:5])
    have = PipelineRun.objects.count()
    now = timezone.now()
    statuses = [RunStatus.SUCCESS] * 8 + [RunStatus.FAILED, RunStatus.CANCELLED]
    batch = []
    for number in range(max(0, count - have)):
        begun = now - timedelta(minutes=number * 2 + 5)
        status = statuses[number % len(statuses)]
        batch.append(PipelineRun(
            pipeline=pipelines[number % len(pipelines)], status=status, started_at=begun,
            finished_at=begun + timedelta(seconds=60 + number % 300), duration_seconds=60 + number % 300,
            records_processed=336_776, records_failed=number % 50, triggered_by="scheduler",
            error_message="Counts do not reconcile" if status == RunStatus.FAILED else "",
            execution_context={"rows_read": 336_776, "rows_loaded": 336_776 - number % 50}))
        if len(batch) == 5000:
            PipelineRun.objects.bulk_create(batch)
            batch = []
    PipelineRun.objects.bulk_create(batch)
    with connections["default"].cursor() as cursor:
        if count > have:
            # Runs are listed newest first by created_at, which bulk_create sets to now: spread it like
            # started_at (once: every UPDATE of all rows would leave as many dead rows for the pages to scan).
            cursor.execute("UPDATE pipeline_runs SET created_at = started_at WHERE started_at IS NOT NULL")
        # What autovacuum does after such a bulk write, before the pages are timed.
        cursor.execute("VACUUM ANALYZE pipeline_runs")
    return {"runs": PipelineRun.objects.count(), "runs_seed_seconds": time.perf_counter() - started}


def background_settle(target, timeout: float = 120) -> float:
    """Wait until ClickHouse merges nothing (the seeding's or an earlier run's parts), so that the pages are
    timed on a quiet server as the figures claim; returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if not int(target.command("SELECT count() FROM system.merges")):
            break
        time.sleep(1)
    return time.perf_counter() - started


def time_page(client, url: str, requests: int) -> dict:
    from django.urls import Resolver404, resolve

    try:
        resolve(url)
    except Resolver404:
        return {"status": "not measured: page not present"}
    try:
        first = client.get(url)
    except Exception as exc:  # the test client re-raises a view's exception: that is a finding, not a crash
        return {"status": f"failed: {exc!r}"[:400]}
    if first.status_code == 404:
        return {"status": "not measured: page not present"}
    if first.status_code != 200:
        return {"status": f"failed: HTTP {first.status_code}"}
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            return {"status": f"failed: HTTP {response.status_code} on a repeat"}
    return {"status": "measured", "requests": requests, "p50_ms": statistics.median(times), "p95_ms": p95(times),
            "max_ms": max(times), "bytes": len(first.content), "goal_ms": GOAL_MS.get(url)}


def time_pages_while_loading(client, pipeline_name: str) -> dict:
    """Start `run_pipeline NAME --sync --load-again` beside this process and request the dashboards round by
    round until the run ends; only answers that came back while the run was still going count."""
    import subprocess
    import sys

    from django.urls import Resolver404, resolve

    urls = []
    for url in DASHBOARDS:
        try:
            resolve(url)
        except Resolver404:
            continue
        urls.append(url)
    times: dict[str, list[float]] = {url: [] for url in urls}
    run = subprocess.Popen([sys.executable, "manage.py", "run_pipeline", pipeline_name, "--sync", "--load-again"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.perf_counter()
    # The run process's first second is Django's start-up: wait until its run is underway, then request.
    from pipelines.models import PipelineRun, RunStatus

    known = set(PipelineRun.objects.filter(pipeline__name=pipeline_name).values_list("pk", flat=True))
    while run.poll() is None and not PipelineRun.objects.filter(
            pipeline__name=pipeline_name, status=RunStatus.RUNNING).exclude(pk__in=known).exists():
        time.sleep(0.1)
    while run.poll() is None:
        for url in urls:
            begun = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - begun) * 1000
            if run.poll() is not None:
                break
            if response.status_code != 200:
                run.kill()
                return {"status": f"failed: HTTP {response.status_code} on {url} during the run"}
            times[url].append(elapsed)
    output = run.communicate()[0]
    run_seconds = time.perf_counter() - started
    if run.returncode != 0:
        return {"status": f"failed: the run beside the pages exited with {run.returncode}: "
                          f"{output.strip().splitlines()[-1:] or ''}"[:400]}
    pages = {url: ({"requests": len(v), "p50_ms": statistics.median(v), "p95_ms": p95(v), "max_ms": max(v)}
                   if v else {"requests": 0}) for url, v in times.items()}
    return {"status": "measured", "run_seconds": run_seconds, "pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True, help="the 10x CSV, to fill the target table")
    parser.add_argument("--metrics-rows", type=int, default=10_000_000)
    parser.add_argument("--target-rows", type=int, default=3_367_760)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--under-load", metavar="PIPELINE", help="then the dashboards while this pipeline runs")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from analytics.clickhouse import get_target

    call_command("collectstatic", "--noinput", verbosity=0)
    target = get_target()
    seeded = {**seed_metrics(target, args.metrics_rows), **seed_target(target, args.target_rows, args.file),
              **seed_runs(args.runs)}
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first() or user_model.objects.create_superuser(
        "bench", "bench@localhost", None)
    client = Client()
    client.force_login(user)
    seeded["settle_seconds"] = background_settle(target)
    pages = {url: time_page(client, url, args.requests) for url in (*DASHBOARDS, ADMIN_RUNS)}
    busy = time_pages_while_loading(client, args.under_load) if args.under_load else None
    report_inner(seeded=seeded, pages=pages, **({"under_load": busy} if busy else {}))


if __name__ == "__main__":
    main()
