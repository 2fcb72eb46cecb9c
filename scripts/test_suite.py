"""`make test`: the whole suite in one pytest process; arguments are passed to pytest as they are
(`make test PYTEST_ARGS="tests/api -x"`).

The ClickHouse the tests use is started by conftest.py itself (the embedded ClickHouse process, once per
session) unless TEST_CLICKHOUSE_HOST names one. This wrapper stays thin, so that whatever has to run around
the suite (the databases of the embedded stack) can be added here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
