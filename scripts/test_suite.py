"""`make test`: the whole suite, one pytest process per test folder, then a summary; exit 1 if any failed.

Why not one process: chDB (the embedded ClickHouse, chdb 4.4.0) keeps five threads of its global pool busy
for good each time its engine is opened again in a process whose data has a MergeTree table. The product
opens the engine for short sessions (so that web, worker and beat can take turns at one data directory), and
one pytest process running the whole suite reopened it some two thousand times, reached chDB's 10,000-thread
limit and failed every later ClickHouse test ("Cannot schedule a task", then "Error initializing
EmbeddedServer"). A fresh process per folder stays far below it. Arguments are passed to pytest as they are
(one process): `make test PYTEST_ARGS="tests/api -x"`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
NO_TESTS_COLLECTED = 5


def groups() -> list[list[str]]:
    folders = sorted(p for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("test_*.py")))
    loose = sorted(p for p in TESTS.glob("test_*.py"))
    found = [[str(p.relative_to(ROOT))] for p in folders]
    return found + ([[str(p.relative_to(ROOT)) for p in loose]] if loose else [])


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if argv:
        return subprocess.call([*pytest, *argv], cwd=ROOT)
    results = []
    for paths in groups():
        print(f"\n=== pytest {' '.join(paths)} ===", flush=True)
        started = time.monotonic()
        output = []
        with subprocess.Popen([*pytest, *paths], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as process:
            for line in process.stdout:
                sys.stdout.write(line)
                output.append(line)
        summary = next((line.strip("= \n") for line in reversed(output) if re.match(r"=+ .* in [\d.]+s", line)), "")
        results.append((" ".join(paths), process.returncode, summary, time.monotonic() - started))
    print("\n=== summary ===")
    failed = 0
    for paths, code, summary, seconds in results:
        ok = code in (0, NO_TESTS_COLLECTED)
        failed += not ok
        print(f"{'ok' if ok else 'FAILED':6} {paths:40} {seconds:7.0f} s  {summary}")
    print(f"{len(results) - failed} of {len(results)} groups passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
