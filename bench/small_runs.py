"""Small runs answer fast: a 10,000-row CSV uploaded through the REST API, timed from the upload request to the
run's success as the API reports it, on the embedded default with one worker (as `make run` serves it:
gunicorn, one Celery worker, beat); then scheduled runs, timed from beat's tick (the cron minute) to success.

Each upload is another slice of the 1x file, so that none is skipped as a file already loaded; the scheduled
pipeline's file is rewritten with a new slice before each tick for the same reason. Where the time goes comes
from the run's own timestamps: the request (until the upload's answer), the queue (run created -> a worker
started it), the run (started -> finished) and the rest (until the API said so; polled every 50 ms).

The harness calls `small_runs_section`; `python -m bench.small_runs --setup ...` creates the user, its API
token and the two pipelines inside Django.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.measure import ContenderFailed, failure_summary, report_inner

UPLOAD_PIPELINE, SCHEDULED_PIPELINE = "Small uploads", "Small scheduled"
FINISHED = ("success", "failed", "cancelled")


def small_runs_section(bench) -> dict:
    from bench.config import PYTHON, ROOT
    from bench.measure import run_once
    from bench.modes import mode_env
    from bench.workers import workers_start, workers_stop, workers_wait_ready

    cfg, mode = bench.cfg, "embedded"
    uploads = 5 if cfg.quick else int(os.environ.get("BENCH_SMALL_UPLOADS", "20"))
    ticks = 1 if cfg.quick else int(os.environ.get("BENCH_SCHEDULED_TICKS", "3"))
    rows = 2_000 if cfg.quick else 10_000
    folder = cfg.data_dir / "small"
    files = slices_write(bench.files["1x"].path, folder, rows=rows, count=uploads + ticks)
    scheduled_file = folder / "scheduled.csv"
    scheduled_file.write_bytes(files[uploads].read_bytes())
    # The polling below is a user's client; the upload throttle is a product default for people, not for this.
    env = mode_env(cfg, mode, API_THROTTLE_UPLOADS="100000/minute", DJANGO_DEBUG="false")
    figures = {"mode": mode, "rows_per_file": rows, "uploads_planned": uploads, "ticks_planned": ticks}
    try:
        # Pipelines of this section run's own: the slices are the same each time, and a pipeline that loaded a
        # file before skips it (pipelines.engine.repeats), which would time skips, not loads.
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        setup = run_once([PYTHON, "-m", "bench.small_runs", "--setup", "--scheduled-file", str(scheduled_file),
                          "--suffix", stamp],
                         env=env, cwd=ROOT, timeout=300, log=bench.log).inner
    except ContenderFailed as exc:
        return {**figures, "status": f"failed: {failure_summary(str(exc))}"}
    log_dir = cfg.var_dir / "small_runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    web = _start([PYTHON, "-m", "gunicorn", "etlsite.wsgi:application", "--bind", f"127.0.0.1:{port}",
                  "--workers", "2", "--timeout", "300"], env, log_dir / "web.log")
    beat = _start([PYTHON, "-m", "celery", "-A", "etlsite", "beat", "--loglevel=info", "--pidfile=",
                   "--schedule", str(log_dir / "beat-schedule")], env, log_dir / "beat.log")
    workers = workers_start(1, env, log_dir)
    api = Api(f"http://127.0.0.1:{port}/api/v1", setup["token"])
    try:
        workers_wait_ready(workers, log_dir, 1)
        api.wait_ready(web, log_dir / "web.log")
        bench.say(f"small runs: {uploads} uploads of {rows:,} rows through the API")
        samples = [api.upload_and_wait(path, setup["upload_pipeline"]) for path in files[:uploads]]
        figures["uploads"] = _summary(samples)
        done = figures["uploads"]
        bench.say(f"small runs: uploads p50 {done.get('p50_s')} s, p95 {done.get('p95_s')} s; then {ticks} "
                  "scheduled tick(s)")
        figures["scheduled"] = _summary(scheduled_runs(api, setup["scheduled_pipeline"], scheduled_file,
                                                       files[uploads:uploads + ticks]))
    except (ContenderFailed, OSError, RuntimeError) as exc:
        return {**figures, "status": f"failed: {failure_summary(str(exc))}"}
    finally:
        # Each was started in a session of its own: stopping the group stops the pool processes with it.
        workers_stop([*workers, beat, web])
    return {**figures, "status": "measured"}


def slices_write(source: Path, folder: Path, *, rows: int, count: int) -> list[Path]:
    """`count` CSV files of `rows` rows each, consecutive slices of `source` under its header."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with open(source, encoding="utf-8") as fh:
        header = fh.readline()
        for number in range(count):
            lines = list(itertools.islice(fh, rows))
            if len(lines) < rows:
                raise RuntimeError(f"{source} has too few rows for {count} slices of {rows}")
            path = folder / f"slice-{number:02d}.csv"
            path.write_text(header + "".join(lines), encoding="utf-8")
            paths.append(path)
    return paths


def scheduled_runs(api: Api, pipeline_id: int, path: Path, contents: list[Path]) -> list[dict]:
    """One run per cron minute: the file gets new rows before each tick; timed from the tick to success."""
    samples = []
    api.patch(f"/pipelines/{pipeline_id}/", {"schedule_cron": "* * * * *"})
    try:
        for content in contents:
            path.write_bytes(content.read_bytes())
            now = datetime.now(timezone.utc)
            tick = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
            if (tick - now).total_seconds() < 5:  # too close to be sure beat has seen the new schedule
                tick += timedelta(minutes=1)
            run = api.wait_for_run(pipeline_id, after=tick, timeout=(tick - now).total_seconds() + 120)
            finished_wall = api.wait_finished(run["id"])
            samples.append(_sample(run_final=api.get(f"/runs/{run['id']}/"), began=tick, answered=finished_wall,
                                   request_seconds=None))
    finally:
        api.patch(f"/pipelines/{pipeline_id}/", {"schedule_cron": ""})
    return samples


class Api:
    """The REST API as a client script would use it (token authentication, JSON)."""

    def __init__(self, base: str, token: str):
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path: str) -> dict:
        response = self.session.get(self.base + path, timeout=60)
        if response.status_code != 200:
            raise ContenderFailed(f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        response = self.session.patch(self.base + path, json=body, timeout=60)
        if response.status_code != 200:
            raise ContenderFailed(f"PATCH {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def wait_ready(self, web: subprocess.Popen, log: Path, timeout: float = 60) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise ContenderFailed(f"the web server exited:\n{log.read_text(errors='replace')[-1500:]}")
            try:
                if self.session.get(self.base + "/pipelines/", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise ContenderFailed(f"the web server did not answer in {timeout:.0f} s")

    def upload_and_wait(self, path: Path, pipeline_id: int) -> dict:
        began = datetime.now(timezone.utc)
        started = time.perf_counter()
        with open(path, "rb") as fh:
            response = self.session.post(self.base + "/files/", files={"file": (path.name, fh, "text/csv")},
                                         data={"pipeline": str(pipeline_id)}, timeout=120)
        request_seconds = time.perf_counter() - started
        if response.status_code != 201 or not (response.json().get("run") or {}).get("id"):
            raise ContenderFailed(f"upload of {path.name}: HTTP {response.status_code} {response.text[:300]}")
        run_id = response.json()["run"]["id"]
        answered = self.wait_finished(run_id)
        return _sample(run_final=self.get(f"/runs/{run_id}/"), began=began, answered=answered,
                       request_seconds=request_seconds)

    def wait_finished(self, run_id: int, timeout: float = 300) -> datetime:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get(f"/runs/{run_id}/")["status"] in FINISHED:
                return datetime.now(timezone.utc)
            time.sleep(0.05)
        raise ContenderFailed(f"run {run_id} did not finish in {timeout:.0f} s")

    def wait_for_run(self, pipeline_id: int, *, after: datetime, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.get(f"/runs/?pipeline={pipeline_id}&ordering=-created_at&page_size=1")["results"]
            if runs and _parse(runs[0]["created_at"]) >= after - timedelta(seconds=1):
                return runs[0]
            time.sleep(0.05)
        raise ContenderFailed(f"no scheduled run of pipeline {pipeline_id} after {after:%H:%M} (is beat running?)")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _sample(*, run_final: dict, began: datetime, answered: datetime, request_seconds: float | None) -> dict:
    created, started, finished = (_parse(run_final.get(k)) for k in ("created_at", "started_at", "finished_at"))
    sample = {"run": run_final["id"], "status": run_final["status"],
              "rows_loaded": (run_final.get("progress") or {}).get("rows_loaded"),
              "seconds": (answered - began).total_seconds()}
    if created and started and finished:
        sample.update(before_run_s=(created - began).total_seconds(), queue_s=(started - created).total_seconds(),
                      run_s=(finished - started).total_seconds(), after_s=(answered - finished).total_seconds())
    if request_seconds is not None:
        sample["request_s"] = request_seconds
    return sample


def _summary(samples: list[dict]) -> dict:
    if not samples:
        return {"samples": []}
    ok = [s for s in samples if s["status"] == "success"]
    seconds = sorted(s["seconds"] for s in ok)
    summary = {"samples": samples, "succeeded": len(ok), "count": len(samples)}
    if seconds:
        summary.update(p50_s=round(statistics.median(seconds), 3), p95_s=round(_p95(seconds), 3),
                       max_s=round(max(seconds), 3))
        for key in ("request_s", "before_run_s", "queue_s", "run_s", "after_s"):
            values = [s[key] for s in ok if key in s]
            if values:
                summary[f"median_{key}"] = round(statistics.median(values), 3)
    return summary


def _p95(ordered: list[float]) -> float:
    import math

    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    from bench.config import ROOT

    handle = open(log, "w")  # noqa: SIM115 -- closed with the process
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


# --- inside Django ---------------------------------------------------------------------------------------

def setup(scheduled_file: str, suffix: str) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from bench.flights_pipeline import flights_configuration
    from pipelines.models import Pipeline, PipelineStatus
    from sources.models import DataSource, SourceType

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-api").first() or user_model.objects.create_superuser(
        "bench-api", "bench-api@localhost", None)
    token, _ = Token.objects.get_or_create(user=user)
    configuration = flights_configuration()
    configuration["target"] = {"table": "bench_small_runs"}
    made = {}
    for kind, connection in ((UPLOAD_PIPELINE, {}),  # upload-only: each run reads the file it was given
                             (SCHEDULED_PIPELINE, {"file_path": scheduled_file})):
        name = f"{kind} {suffix}"
        source, _ = DataSource.objects.update_or_create(
            name=f"{name} file", defaults={"source_type": SourceType.FILE, "is_active": True,
                                           "connection_config": {"delimiter": ",", "encoding": "utf-8", **connection}})
        pipeline, _ = Pipeline.objects.update_or_create(
            name=name, defaults={"data_source": source, "status": PipelineStatus.ACTIVE, "schedule_cron": "",
                                 "configuration": configuration, "max_retries": 0, "tags": ["bench"]})
        made[kind] = pipeline.pk
    return {"token": token.key, "upload_pipeline": made[UPLOAD_PIPELINE],
            "scheduled_pipeline": made[SCHEDULED_PIPELINE]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setup", action="store_true", required=True)
    parser.add_argument("--scheduled-file", required=True)
    parser.add_argument("--suffix", required=True, help="names this section run's pipelines")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    report_inner(**setup(args.scheduled_file, args.suffix))


if __name__ == "__main__":
    main()
