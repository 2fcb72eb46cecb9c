"""`manage.py check --deploy` is clean with the production environment (the variables .env.example
documents), and the same check does warn with the development defaults, so the test can fail."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "etl.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://etl.example.com",
    "DJANGO_BEHIND_TLS_PROXY": "true",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
}


def _check(tmp_path: Path, extra: dict) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(ETL_VAR_DIR=str(tmp_path / "var"), ETL_ENV_FILE=str(tmp_path / "no.env"),
               ETL_SECRETS_KEY=Fernet.generate_key().decode(), DJANGO_SETTINGS_MODULE="etlsite.settings", **extra)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    result = _check(tmp_path, PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_with_the_development_defaults(tmp_path):
    result = _check(tmp_path, {"DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016"):
        assert warning in result.stderr, warning
