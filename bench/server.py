"""ClickHouse as a server for the benchmark's server mode: the product's workers talk to ClickHouse over HTTP,
as they do in production, instead of carrying chDB inside their own process.

No ClickHouse server can be installed on the machines this runs on, so the server is chDB behind
ClickHouse's HTTP interface (tests/support/clickhouse_http_bridge.py, the stand-in the test suite's "http"
backend uses), in its own process. Its memory is reported beside the worker's, never added to it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.config import PYTHON, ROOT

BRIDGE = ROOT / "tests" / "support" / "clickhouse_http_bridge.py"


class ClickHouseServer:
    def __init__(self, data_dir: Path, log: Path):
        self.data_dir, self.log = data_dir, log
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self) -> int:
        if self.process and self.process.poll() is None:
            return self.port
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as stderr:
            self.process = subprocess.Popen([PYTHON, str(BRIDGE), "--path", str(self.data_dir), "--port", "0"],
                                            cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING"):
            self.process.kill()
            raise RuntimeError(f"the ClickHouse stand-in did not start: {line!r} (see {self.log})")
        self.port = int(line.split()[1])
        return self.port

    def env(self) -> dict:
        return {"TARGET_CLICKHOUSE_HOST": "127.0.0.1", "TARGET_CLICKHOUSE_PORT": str(self.start()),
                "TARGET_CLICKHOUSE_COMPRESS": "false", "TARGET_CLICKHOUSE_SECURE": "false"}

    def peak_rss_mib(self) -> float | None:
        """The server process's VmHWM so far (its peak over every run it served)."""
        if not self.process or self.process.poll() is not None:
            return None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


_servers: dict[Path, ClickHouseServer] = {}


def server_for(cfg) -> ClickHouseServer:
    """The sitting's one ClickHouse server (started on first use, under var/bench/clickhouse-server)."""
    key = cfg.var_dir
    if key not in _servers:
        _servers[key] = ClickHouseServer(cfg.var_dir / "clickhouse-server" / "data",
                                         cfg.var_dir / "clickhouse-server.log")
    return _servers[key]
