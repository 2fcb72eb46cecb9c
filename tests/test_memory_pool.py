"""The worker's Arrow memory pool: jemalloc unless the operator names another (issue 17: peak RSS < 600 MiB)."""

import subprocess
import sys


def _pool(env_extra: dict) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env_extra
    code = "import etlsite, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_project_picks_jemalloc_and_the_environment_can_override_it():
    assert _pool({}) == "jemalloc"
    assert _pool({"ARROW_DEFAULT_MEMORY_POOL": "system"}) == "system"
