"""Where the benchmark keeps its files, which databases it uses, and how much it repeats.

Everything comes from the environment so `make bench` runs unattended; `BENCH_QUICK=1` makes a short smoke
pass on a slice of the data (its report goes under var/bench/, never over docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    var_dir: Path
    report_path: Path
    charts_dir: Path
    base_rows: int | None  # None: the whole flights table; quick passes take a slice
    repeats: int  # runs per figure for the fast contenders (the median is reported)
    slow_repeats: int  # runs for dlt's documented path, bulk_create and to_sql (1x file only)
    pg_host: str
    pg_port: int
    pg_admin_user: str
    redis_url: str

    @property
    def data_dir(self) -> Path:
        return self.var_dir / "data"

    @property
    def results_path(self) -> Path:
        return self.var_dir / "results.json"

    def pg_url(self, database: str, user: str | None = None, password: str = "") -> str:
        auth = user or self.pg_admin_user
        if password:
            auth += f":{password}"
        return f"postgresql://{auth}@{self.pg_host}:{self.pg_port}/{database}"


def load_config() -> BenchConfig:
    quick = _flag("BENCH_QUICK")
    var_dir = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench")).resolve()
    default_report = var_dir / "BENCHMARKS-quick.md" if quick else ROOT / "docs" / "BENCHMARKS.md"
    report_path = Path(os.environ.get("BENCH_REPORT", default_report)).resolve()
    return BenchConfig(
        quick=quick,
        var_dir=var_dir,
        report_path=report_path,
        charts_dir=report_path.parent / "bench",
        base_rows=int(os.environ.get("BENCH_BASE_ROWS", "20000")) if quick else None,
        repeats=int(os.environ.get("BENCH_REPEATS", "1" if quick else "3")),
        slow_repeats=int(os.environ.get("BENCH_SLOW_REPEATS", "1")),
        pg_host=os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
        pg_port=int(os.environ.get("BENCH_PG_PORT", "5432")),
        pg_admin_user=os.environ.get("BENCH_PG_ADMIN_USER", "postgres"),
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    )
