"""The ClickHouse of each benchmark mode: the product's embedded ClickHouse process (analytics/clickhouse/server.py)
under the mode's var/, started as the stack starts it (``server.command_line(settings.TARGET_CLICKHOUSE)``) on a
free port, which the mode's processes then read from ETL_EMBEDDED_CLICKHOUSE_PORT; they find its password in
var/clickhouse/password as a deployment's processes do. Its memory is reported beside the worker's, never
added to it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.config import PYTHON, ROOT


class ClickHouseServer:
    def __init__(self, home: Path, log: Path):
        self.home, self.log = home, log
        self.data_dir = home / "data"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self) -> int:
        if self.process and self.process.poll() is None:
            return self.port
        self.home.mkdir(parents=True, exist_ok=True)
        # The same command as `server.command_line(config)`, with port 0: a free port, read from its answer.
        with open(self.log, "ab") as stderr:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "analytics.clickhouse.server", "--data-dir", str(self.data_dir), "--host",
                 "127.0.0.1", "--port", "0", "--password-file", str(self.home / "password"), "--log-level",
                 "WARNING"], cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING"):
            self.process.kill()
            raise RuntimeError(f"the embedded ClickHouse did not start: {line!r} (see {self.log})")
        self.port = int(line.split()[1])
        return self.port

    def env(self) -> dict:
        return {"ETL_EMBEDDED_CLICKHOUSE_PORT": str(self.start())}

    def peak_rss_mib(self) -> float | None:
        """The process's VmHWM so far (its peak over every run it served)."""
        if not self.process or self.process.poll() is not None:
            return None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def peak_reset(self) -> bool:
        """Start VmHWM again from the current RSS (Linux: `5` to clear_refs), so that the next peak is one run's;
        False when that cannot be done here (an older kernel, no permission): the peak would be the sitting's."""
        if not self.process or self.process.poll() is not None:
            return False
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


_servers: dict[Path, ClickHouseServer] = {}


def server_for(var_dir: Path) -> ClickHouseServer:
    """The ClickHouse process of the mode whose ETL_VAR_DIR is `var_dir` (started on first use)."""
    if var_dir not in _servers:
        _servers[var_dir] = ClickHouseServer(var_dir / "clickhouse", var_dir / "clickhouse.log")
    return _servers[var_dir]
