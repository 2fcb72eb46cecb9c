"""The one environment reader. Values come from the process environment, then an optional `.env` file."""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(os.environ.get("ETL_ENV_FILE", BASE_DIR / ".env"))
if _env_file.is_file():
    # The process environment wins over the file, so CI and containers can override a developer's .env.
    environ.Env.read_env(str(_env_file), overwrite=False)


def secret_key(var_dir: Path) -> str:
    """DJANGO_SECRET_KEY, or the file DJANGO_SECRET_KEY_FILE names, or a key generated once under var/.

    Generating and keeping a key under var/ lets the embedded default start with no configuration while
    never shipping a key in the code.
    """
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    key_file = env.str("DJANGO_SECRET_KEY_FILE", default="")
    if key_file:
        return Path(key_file).read_text().strip()
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def secrets_keys(var_dir: Path) -> list[str]:
    """ETL_SECRETS_KEY (Fernet keys, comma-separated: the first encrypts, all decrypt), or a key generated
    once under var/ for the embedded default."""
    keys = env.list("ETL_SECRETS_KEY", default=[])
    if keys:
        return keys
    path = var_dir / "secrets_key"
    if not path.exists():
        from cryptography.fernet import Fernet

        # Written whole, then linked into place: of processes starting together, one key wins and every
        # process reads that one complete key.
        var_dir.mkdir(parents=True, exist_ok=True)
        draft = var_dir / f".secrets_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return [path.read_text().strip()]
