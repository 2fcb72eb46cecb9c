"""Which files on this server a source may open: the one place that decides.

Readable: the upload folder (MEDIA_ROOT/uploads, where uploaded files are stored) and the folders an
administrator lists in ETL_FILE_ROOTS. Never readable, whatever ETL_FILE_ROOTS says: the application's data
folder (ETL_VAR_DIR: its keys, databases, ClickHouse data) apart from the upload folder inside it, the files
that hold its configuration and keys, hidden files in home folders (~/.ssh, ~/.pgpass, ~/.aws...) and the
system folders in SYSTEM_FOLDERS.

Every path is resolved (symlinks, "..", "~") before it is judged; a glob's fixed part is judged before the
disk is searched, then every file it matches. Sources are judged when saved (connector_config_errors) and
again where a connector opens the file: settings change, rows are edited, links are swapped.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError

# Configuration, credentials, devices and the kernel's view of every process: nothing a source should load.
SYSTEM_FOLDERS = ("/etc", "/proc", "/sys", "/dev", "/root", "/boot", "/run", "/var/run", "/var/lib", "/var/log",
                  "/var/spool", "/var/mail", "/var/backups", "/var/cache", "/lost+found")
HOME_FOLDERS = ("/home",)
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
PERMISSION = "sources.read_server_files"


class PathNotAllowed(ConnectorError):
    """A path a source may not read; permanent, since retrying cannot help."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


def real_path(path: str | os.PathLike) -> Path:
    """The absolute path with "~", "..", and every symbolic link that exists resolved."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path)))).resolve(strict=False)


def upload_folder() -> Path:
    """Where uploaded files are stored (staging.uploads writes there), resolved."""
    return real_path(Path(settings.MEDIA_ROOT) / "uploads")


def configured_roots() -> list[Path]:
    roots = settings.ETL_FILE_ROOTS
    return [real_path(root) for root in ([roots] if isinstance(roots, str) else roots) if str(root).strip()]


def _secret_files() -> Iterator[Path]:
    """Files outside the data folder that hold the application's configuration, keys or databases."""
    from etlsite.env import env_file

    yield env_file()
    for name in ("DJANGO_SECRET_KEY_FILE",):
        if os.environ.get(name):
            yield Path(os.environ[name])
    for database in settings.DATABASES.values():
        if "sqlite" in database.get("ENGINE", "") and database.get("NAME"):
            yield Path(database["NAME"])
            for suffix in SQLITE_SIDE_FILES:
                yield Path(f"{database['NAME']}{suffix}")
    target = getattr(settings, "TARGET_CLICKHOUSE", {}) or {}
    for key in ("DATA_DIR", "PASSWORD_FILE"):  # the embedded ClickHouse process's data and password
        if target.get(key):
            yield Path(target[key])


def forbidden_folders() -> list[Path]:
    """Places no source may read, whatever ETL_FILE_ROOTS says."""
    places = [Path(settings.VAR_DIR), *(Path(folder) for folder in SYSTEM_FOLDERS), *_secret_files()]
    return [real_path(place) for place in places]


def _home() -> Path | None:
    try:
        return real_path(Path.home())
    except (KeyError, RuntimeError):  # no HOME and no passwd entry: no home to protect
        return None


def _hidden_in_a_home(path: Path) -> bool:
    """~/.ssh, ~/.pgpass, /home/<user>/.aws...: where credentials live."""
    own = _home()
    if own is not None and path.is_relative_to(own) and path != own and path.relative_to(own).parts[0].startswith("."):
        return True
    for base in HOME_FOLDERS:
        base = real_path(base)
        parts = path.relative_to(base).parts if path.is_relative_to(base) else ()
        if len(parts) >= 2 and parts[1].startswith("."):
            return True
    return False


def _forbidden(path: Path, uploads: Path) -> bool:
    if path.is_relative_to(uploads):
        # The upload folder inside the data folder stays readable; the data folder around it does not.
        places = [place for place in forbidden_folders() if not (uploads.is_relative_to(place) and uploads != place)]
        return any(path.is_relative_to(place) for place in places)
    return any(path.is_relative_to(place) for place in forbidden_folders()) or _hidden_in_a_home(path)


def resolve_allowed_path(path: str | os.PathLike, *, key: str = "file_path") -> Path:
    """The real path of `path` when a source may read it; PathNotAllowed naming `key` otherwise."""
    if not isinstance(path, (str, os.PathLike)) or "\x00" in os.fspath(path):
        raise PathNotAllowed(_msg("%(key)s must be a path.") % {"key": key})
    try:
        resolved = real_path(path)
    except (OSError, RuntimeError):  # a loop of symbolic links, a name too long
        raise PathNotAllowed(_msg("%(key)s %(path)s cannot be resolved to a file (a loop of symbolic links?).")
                             % {"key": key, "path": path}) from None
    uploads = upload_folder()
    if _forbidden(resolved, uploads):
        raise PathNotAllowed(
            _msg("%(key)s %(path)s is in a place no source may read (the application's data folder, its keys, "
                 "hidden files in a home folder or a system folder).") % {"key": key, "path": path})
    if resolved.is_relative_to(uploads):
        if any(part.startswith(".") for part in resolved.relative_to(uploads).parts):
            # .sessions (chunked uploads in progress), .incoming-* (copies being written): not files yet.
            raise PathNotAllowed(_msg("%(key)s %(path)s is an upload in progress, not a file a source may read.")
                                 % {"key": key, "path": path})
        return resolved
    if any(resolved.is_relative_to(root) for root in configured_roots()):
        return resolved
    raise PathNotAllowed(
        _msg("%(key)s %(path)s is outside the folders sources may read: the upload folder and the folders an "
             "administrator lists in ETL_FILE_ROOTS. Upload the file instead.") % {"key": key, "path": path})


def fixed_part(pattern: str) -> str:
    """The part of a glob before its first wildcard ("/data/in/*.csv" -> "/data/in"); the path itself
    when it has none."""
    if not glob.has_magic(pattern):
        return pattern
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return os.path.join(*fixed) if fixed else "."


def allowed_matches(pattern: str, *, key: str = "file_path") -> Iterator[Path]:
    """The real paths of the files a path or glob names now, each judged; the glob's fixed part is judged
    before the disk is searched."""
    expanded = os.path.expanduser(pattern)
    resolve_allowed_path(fixed_part(expanded), key=key)
    if not glob.has_magic(expanded) or os.path.exists(expanded):
        yield resolve_allowed_path(expanded, key=key)
        return
    for match in glob.iglob(expanded, recursive=True):
        yield resolve_allowed_path(match, key=key)


def path_problems(paths: dict[str, str]) -> tuple[list[str], bool]:
    """(why each path may not be read, whether any reaches outside the upload folder) for a configuration's
    server paths ({key: path or glob})."""
    errors: list[str] = []
    outside_uploads = False
    uploads = upload_folder()
    for key, value in paths.items():
        try:
            found = list(_limited(allowed_matches(value, key=key)))
            fixed = real_path(fixed_part(os.path.expanduser(value)))
        except PathNotAllowed as error:
            errors.append(error.message)
            continue
        if any(not path.is_relative_to(uploads) for path in [fixed, *found]):
            outside_uploads = True
    return errors, outside_uploads


def _limited(paths: Iterable[Path], limit: int = 10_000) -> Iterator[Path]:
    """A save checks at most `limit` matches of a glob (a run checks every file it reads)."""
    for index, path in enumerate(paths):
        if index >= limit:
            return
        yield path
