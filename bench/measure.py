"""Timing one contender: a child process, its wall time, and its peak RSS as the kernel accounts it.

Each contender runs in a process of its own, so the peak RSS is that process's (its ru_maxrss as GNU time
reports it, covering any descendants it waited for), not the harness's. A contender may print one line
`BENCH_RESULT {json}` with figures it measured inside (e.g. the insert alone, without interpreter start-up).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULT_PREFIX = "BENCH_RESULT "


class ContenderFailed(RuntimeError):
    pass


def failure_summary(text: str, limit: int = 300) -> str:
    """One line for a report: the last line that names an error, else the last line of the output."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or "Exception" in line or "error:" in line.lower()]
    return ((named or lines or ["no output"])[-1])[:limit]


@dataclass
class Sample:
    seconds: float
    peak_rss_mib: float
    inner: dict = field(default_factory=dict)


@dataclass
class Measurement:
    """Several samples of one contender on one file; figures are medians."""

    name: str
    file_label: str
    rows: int
    samples: list[Sample]
    note: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return statistics.median(s.peak_rss_mib for s in self.samples)

    def inner_seconds(self, key: str) -> float | None:
        values = [s.inner[key] for s in self.samples if key in s.inner]
        return statistics.median(values) if values else None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "median_seconds": self.seconds, "median_peak_rss_mib": self.peak_rss_mib}


def run_once(argv: list[str], *, env: dict | None = None, cwd: Path | None = None,
             timeout: float = 3600, log: Path | None = None, parse=None) -> Sample:
    """Run `argv` to its end; raise ContenderFailed (with the output's tail) on a non-zero exit.

    `parse(output) -> dict` adds figures read from the output to the sample's `inner`."""
    # Linux carries a process's peak RSS over fork and exec, so a child of this (large) harness never shows
    # less than the harness itself; GNU time forks the contender from a small process and reports its own.
    timer = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.TemporaryFile("w+b") as out, tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [timer, "-f", "%M", "-o", rss.name, *argv] if timer else argv
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        status, usage = _wait(process, timeout)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        peak_kib = _time_rss_kib(rss.read()) if timer else None
    if peak_kib is None:
        peak_kib = usage.ru_maxrss
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(argv)}\n{text}\n[exit {status}, {seconds:.2f} s]\n")
    if status != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise ContenderFailed(f"{' '.join(argv[:4])}... exited with {status}:\n{tail}")
    inner = _inner(text)
    if parse is not None:
        inner.update(parse(text))
    return Sample(seconds=seconds, peak_rss_mib=peak_kib / 1024, inner=inner)


def _time_rss_kib(text: str) -> int | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return int(lines[-1]) if lines and lines[-1].isdigit() else None


def _wait(process: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = -9
            raise ContenderFailed(f"timed out after {timeout:.0f} s")
        time.sleep(0.005)


def _inner(text: str) -> dict:
    found: dict = {}
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            found.update(json.loads(line[len(RESULT_PREFIX):]))
    return found


def report_inner(**figures) -> None:
    """For contenders: hand figures measured inside the process to the harness."""
    print(RESULT_PREFIX + json.dumps(figures), flush=True)
