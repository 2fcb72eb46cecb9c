"""The embedded data folder is its user's only (issue 12, low): the folder 0700, the keys, the admin password
and the SQLite databases 0600, chDB's data folder 0700 — whatever the umask, and narrowed on start when an
older version left them readable by everyone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

START = """
import os, django
os.umask(0o022)
django.setup()
from django.core.management import call_command
from django.db import connections
from analytics.clickhouse.client import ClickHouseTarget
from django.conf import settings
call_command("migrate", verbosity=0, interactive=False)
call_command("create_admin", stdout=open(os.devnull, "w"))
ClickHouseTarget(settings.TARGET_CLICKHOUSE)
for connection in connections.all():
    connection.close()
"""


def _start(var_dir: Path, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "etlsite.settings",
           "ETL_VAR_DIR": str(var_dir), "ETL_ENV_FILE": str(tmp_path / "no.env"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", START], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


PRIVATE_FILES = ("secret_key", "secrets_key", "admin_password", "metadata.sqlite3", "staging.sqlite3")


@pytest.mark.timeout(600)
def test_a_fresh_data_folder_is_private_whatever_the_umask(tmp_path):
    var_dir = tmp_path / "var"
    _start(var_dir, tmp_path)
    assert _mode(var_dir) == 0o700
    for name in PRIVATE_FILES:
        assert _mode(var_dir / name) == 0o600, name
    assert _mode(var_dir / "clickhouse") == 0o700


@pytest.mark.timeout(600)
def test_a_data_folder_left_readable_is_narrowed_on_start(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    os.chmod(var_dir, 0o755)
    for name in ("secret_key", "secrets_key"):
        (var_dir / name).write_text("x" * 44 if name == "secret_key" else
                                    "wQ8vD2cH0ZbS0o7iM3lVbN3v5YQ7kq0u8Zb0v7m9u1A=")
        os.chmod(var_dir / name, 0o644)
    (var_dir / "metadata.sqlite3").touch()
    os.chmod(var_dir / "metadata.sqlite3", 0o666)
    _start(var_dir, tmp_path)
    assert _mode(var_dir) == 0o700
    for name in ("secret_key", "secrets_key", "metadata.sqlite3"):
        assert _mode(var_dir / name) == 0o600, name
