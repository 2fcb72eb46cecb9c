"""Chunked, resumable uploads: fixed-size chunks appended to an upload session on disk.

A session is keyed by the user and what the browser knows of the file before sending it (a client id, the
name, size and modification time), so choosing the same file again after an interruption finds the same
session and continues from the bytes the server already has. The finished file goes through
`staging.uploads.file_register` (safe names, hashing, file_metadata); the session is then removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from etlsite.formatting import format_bytes
from sources.connectors.filesupport.opening import EXTENSIONS
from staging.upload_checks import upload_content_problem
from staging.uploads import Registered, file_register, uploads_dir

# Archives are looked into by the file connector (a .csv.gz, a .zip holding a CSV).
ALLOWED_SUFFIXES = (*EXTENSIONS, ".gz", ".zip", ".txt")


class UploadError(ValueError):
    """A problem the user can act on; the message is shown where they are."""


@dataclass
class UploadSession:
    key: str
    name: str
    size: int
    received: int = 0
    # The user who opened it: only they may add to it or finish it (the key alone is not a credential).
    user_id: int | None = None

    @property
    def folder(self) -> Path:
        return sessions_dir() / self.key

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def save(self) -> None:
        (self.folder / "session.json").write_text(json.dumps(asdict(self)))


def sessions_dir() -> Path:
    return uploads_dir() / ".sessions"


def max_upload_bytes() -> int:
    return settings.ETL_UPLOAD_MAX_BYTES


def check_file(name: str, size: int) -> None:
    """Type and size limits, before a byte is sent."""
    lower = name.lower()
    if not any(lower.endswith(suffix) for suffix in ALLOWED_SUFFIXES):
        raise UploadError(_("%(name)s: this type of file cannot be loaded; use one of %(types)s.")
                          % {"name": name, "types": ", ".join(sorted(ALLOWED_SUFFIXES))})
    if size <= 0:
        raise UploadError(_("%(name)s is empty.") % {"name": name})
    if size > max_upload_bytes():
        raise UploadError(_("%(name)s is %(size)s, larger than the limit of %(limit)s.")
                          % {"name": name, "size": format_bytes(size), "limit": format_bytes(max_upload_bytes())})


def session_key(*, user_id: int, client_id: str, name: str, size: int, modified: int) -> str:
    raw = json.dumps([user_id, client_id, name, size, modified])
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def session_open(*, user_id: int, client_id: str, name: str, size: int, modified: int) -> UploadSession:
    """The session for this file: a new one, or the interrupted one with the bytes received so far."""
    check_file(name, size)
    key = session_key(user_id=user_id, client_id=client_id, name=name, size=size, modified=modified)
    session = UploadSession(key=key, name=name[:255], size=size, user_id=user_id)
    session.folder.mkdir(parents=True, exist_ok=True)
    # What is on disk is the truth: a chunk cut off mid-way counts for the bytes that arrived.
    session.received = session.data.stat().st_size if session.data.exists() else 0
    session.save()
    return session


def session_get(key: str, *, user_id: int) -> UploadSession:
    """The session `key` of `user_id`; another user's session is as unknown as a missing one."""
    if not (len(key) == 40 and all(c in "0123456789abcdef" for c in key)):
        raise UploadError(_("Unknown upload session."))
    path = sessions_dir() / key / "session.json"
    if not path.exists():
        raise UploadError(_("Unknown upload session; choose the file again."))
    session = UploadSession(**json.loads(path.read_text()))
    if session.user_id is None or session.user_id != user_id:
        raise UploadError(_("Unknown upload session; choose the file again."))
    session.received = session.data.stat().st_size if session.data.exists() else 0
    return session


def chunk_append(*, session: UploadSession, offset: int, data: bytes) -> int:
    """Append a chunk sent for `offset`; returns the bytes received. A chunk for another offset (a retry of
    one already stored, or one after a gap) is refused with the offset to continue from."""
    if offset != session.received:
        raise UploadError(_("Expected the bytes from %(received)d, got %(offset)d.")
                          % {"received": session.received, "offset": offset})
    if session.received + len(data) > session.size:
        raise UploadError(_("%(name)s: more bytes than the file's size.") % {"name": session.name})
    with open(session.data, "ab") as fh:
        fh.write(data)
    session.received += len(data)
    return session.received


def session_finish(*, session: UploadSession, uploaded_by: str) -> Registered:
    """Register the complete file (file_metadata) and drop the session."""
    if session.received != session.size:
        raise UploadError(_("%(name)s is not complete: %(received)d of %(size)d bytes.")
                          % {"name": session.name, "received": session.received, "size": session.size})
    with open(session.data, "rb") as stream:
        problem = upload_content_problem(stream, session.name)
    if problem:
        shutil.rmtree(session.folder, ignore_errors=True)  # nothing of a refused file stays behind
        raise UploadError(problem)
    try:
        with open(session.data, "rb") as stream:
            registered = file_register(stream=stream, original_filename=session.name, uploaded_by=uploaded_by,
                                       max_bytes=max_upload_bytes())
    except ValueError as exc:
        raise UploadError(str(exc)) from exc
    shutil.rmtree(session.folder, ignore_errors=True)
    return registered


def sessions_expire(*, older_than_seconds: float, now: float | None = None) -> int:
    """Remove upload sessions nobody has added a byte to for `older_than_seconds` (an upload abandoned
    half-way keeps its bytes on disk until then, so that it can resume); returns how many were removed."""
    root = sessions_dir()
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed = 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        touched = max((p.stat().st_mtime for p in folder.iterdir()), default=folder.stat().st_mtime)
        if touched < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
