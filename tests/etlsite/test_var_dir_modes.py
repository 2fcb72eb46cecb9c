"""The embedded data folder is its user's only (issue 12, low): the folder 0700 (0711 as root: the embedded
PostgreSQL runs as a system user of its own and must pass through it), the keys 0600 — whatever the umask, and
narrowed on start when an older version left them readable by everyone. The PostgreSQL cluster's folder is
0700 and its own user's (initdb), the admin password 0600 (tests/etlsite/test_create_admin)."""

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
"""
FOLDER = 0o711 if os.geteuid() == 0 else 0o700


def _start(var_dir: Path, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "etlsite.settings",
           "ETL_VAR_DIR": str(var_dir), "ETL_ENV_FILE": str(tmp_path / "no.env"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", START], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


PRIVATE_FILES = ("secret_key", "secrets_key")


@pytest.mark.timeout(600)
def test_a_fresh_data_folder_is_private_whatever_the_umask(tmp_path):
    var_dir = tmp_path / "var"
    _start(var_dir, tmp_path)
    assert _mode(var_dir) == FOLDER
    for name in PRIVATE_FILES:
        assert _mode(var_dir / name) == 0o600, name


@pytest.mark.timeout(600)
def test_a_data_folder_left_readable_is_narrowed_on_start(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    os.chmod(var_dir, 0o755)
    for name in ("secret_key", "secrets_key"):
        (var_dir / name).write_text("x" * 44 if name == "secret_key" else
                                    "wQ8vD2cH0ZbS0o7iM3lVbN3v5YQ7kq0u8Zb0v7m9u1A=")
        os.chmod(var_dir / name, 0o644)
    _start(var_dir, tmp_path)
    assert _mode(var_dir) == FOLDER
    for name in ("secret_key", "secrets_key"):
        assert _mode(var_dir / name) == 0o600, name


@pytest.mark.django_db
def test_the_admin_password_is_written_for_its_owner_only(tmp_path, settings, monkeypatch):
    import io

    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DJANGO_ADMIN_PASSWORD", raising=False)
    os.umask(0o022)
    call_command("create_admin", "--username", "boss", stdout=io.StringIO())
    assert _mode(tmp_path / "admin_password") == 0o600
    assert _mode(tmp_path) == FOLDER
