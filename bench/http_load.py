"""A bounded HTTP load against the web app on 127.0.0.1, as a logged-in user: zero errors expected.

    python -m bench.http_load [--seconds 20] [--concurrency 8] [--gunicorn-workers 2]

Sets up a throw-away embedded installation in a temporary folder (its ClickHouse process, migrate_all, the
demo pipeline run once, a superuser), starts gunicorn on a free port of 127.0.0.1, logs in through the
admin's login form, then lets `--concurrency` threads (each with its own keep-alive connection and the
session cookie) request, in turn, the health check, the dashboards and the API lists for `--seconds`.
Prints one JSON line: requests, errors, requests/s, p50/p95/max latency overall and per URL; exits 1 on
any error (status >= 400 or a broken connection). Standard library only (http.client, threads):
nothing to install in CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import quantiles
from urllib.parse import urlencode

from bench.server import ClickHouseServer

ROOT = Path(__file__).resolve().parent.parent
URLS = ["/health/", "/dashboards/runs/", "/dashboards/quality/", "/dashboards/business/", "/upload/",
        "/api/v1/runs/", "/api/v1/pipelines/", "/api/v1/sources/", "/api/v1/files/"]
USER, PASSWORD = "loadtest", secrets.token_urlsafe(16)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str, timeout: int = 600) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL)


def prepare(var_dir: Path, clickhouse_env: dict) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("METADATA_POSTGRES", "STAGING_POSTGRES", "TARGET_CLICKHOUSE", "DJANGO_"))}
    env.update(ETL_VAR_DIR=str(var_dir), ETL_ENV_FILE=str(var_dir / "no.env"), DJANGO_DEBUG="false",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ADMIN_USERNAME=USER,
               DJANGO_ADMIN_PASSWORD=PASSWORD, CELERY_TASK_ALWAYS_EAGER="false", **clickhouse_env)
    _manage(env, "migrate_all", "--noinput")
    _manage(env, "collectstatic", "--noinput")
    _manage(env, "create_admin")
    _manage(env, "load_demo", "--rows", "2000", "--no-run", "--data-dir", str(var_dir / "demo"))
    _manage(env, "run_pipeline", "Sales processing", "--sync")
    return env


def serve(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "etlsite.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", "4", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"gunicorn did not answer on 127.0.0.1:{port}:\n{log.read_text()[-3000:]}")


def login(port: int) -> str:
    """The Cookie header of a logged-in session, through the admin's own login form (CSRF included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/admin/login/")
    page = conn.getresponse()
    body = page.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = urlencode({"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"})
    conn.request("POST", "/admin/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}",
        "Referer": f"http://127.0.0.1:{port}/admin/login/"})
    answer = conn.getresponse()
    answer.read()
    session = re.search(r"sessionid=([^;]+)", answer.getheader("Set-Cookie", "") or "")
    if answer.status != 302 or not session:
        raise SystemExit(f"login failed: HTTP {answer.status}")
    return f"csrftoken={csrf_cookie}; sessionid={session.group(1)}"


def hammer(port: int, cookie: str, seconds: float, concurrency: int) -> dict:
    samples: list[tuple[str, float, int]] = []  # (url, seconds, status or 0 for a broken connection)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, i = [], offset
        while time.monotonic() < stop_at:
            url = URLS[i % len(URLS)]
            i += 1
            started = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Cookie": cookie, "Accept": "text/html,application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((url, time.perf_counter() - started, status))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.perf_counter() - began
    return summarize(samples, elapsed, concurrency)


def _p95(values: list[float]) -> float:
    return quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else 0.0)


def summarize(samples, elapsed: float, concurrency: int) -> dict:
    times = [s[1] for s in samples]
    errors = [(url, status) for url, _, status in samples if status == 0 or status >= 400]
    per_url = {}
    for url in URLS:
        mine = [s[1] for s in samples if s[0] == url]
        per_url[url] = {"requests": len(mine), "p95_ms": round(_p95(mine) * 1000, 1)}
    return {"concurrency": concurrency, "seconds": round(elapsed, 1), "requests": len(samples),
            "errors": len(errors), "error_examples": errors[:5],
            "requests_per_second": round(len(samples) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(quantiles(times, n=2)[0] * 1000, 1) if len(times) >= 2 else None,
            "p95_ms": round(_p95(times) * 1000, 1), "max_ms": round(max(times, default=0) * 1000, 1),
            "per_url": per_url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="etl-http-load-") as tmp:
        var_dir = Path(tmp) / "var"
        clickhouse = ClickHouseServer(var_dir / "clickhouse", Path(tmp) / "clickhouse.log")
        try:
            env = prepare(var_dir, clickhouse.env())
            port = _free_port()
            server = serve(env, port, args.gunicorn_workers, Path(tmp) / "gunicorn.log")
            try:
                result = hammer(port, login(port), args.seconds, args.concurrency)
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            clickhouse.stop()
    result["gunicorn_workers"] = args.gunicorn_workers
    print(json.dumps(result))
    return 1 if result["errors"] or not result["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
