"""The tests' ClickHouse: starting the embedded ClickHouse process, and pointing a subprocess at it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_clickhouse_process(home: Path, password: str = "", port: int = 0) -> tuple[subprocess.Popen, int]:
    """analytics.clickhouse.server in a subprocess under `home` (data/, password, server.log); returns the
    process and its port once it answers."""
    home.mkdir(parents=True, exist_ok=True)
    if password:
        (home / "password").write_text(password)
    with open(home / "server.log", "a") as log:  # a file, not a pipe: nobody reads it while the process runs
        process = subprocess.Popen(
            [sys.executable, "-m", "analytics.clickhouse.server", "--data-dir", str(home / "data"),
             "--port", str(port), "--password-file", str(home / "password")],
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
        )
    line = process.stdout.readline()
    if not line.startswith("LISTENING"):
        process.kill()
        raise RuntimeError(f"the embedded ClickHouse did not start: {line}{(home / 'server.log').read_text()}")
    return process, int(line.split()[1])


def clickhouse_env(config: dict, database: str) -> dict[str, str]:
    """TARGET_CLICKHOUSE_* variables for the ClickHouse of `config` (a TARGET_CLICKHOUSE dict), on `database`."""
    return {"TARGET_CLICKHOUSE_HOST": config["HOST"], "TARGET_CLICKHOUSE_PORT": str(config["PORT"]),
            "TARGET_CLICKHOUSE_USER": config["USER"], "TARGET_CLICKHOUSE_PASSWORD": config["PASSWORD"],
            "TARGET_CLICKHOUSE_DATABASE": database, "TARGET_CLICKHOUSE_COMPRESS": "false"}
