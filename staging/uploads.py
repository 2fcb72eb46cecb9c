"""Files people upload (or point a run at): stored once under MEDIA_ROOT, recorded in file_metadata.

The same content uploaded twice is recognised by its SHA-256: the second upload is recorded too (who sent
what, when) with ``metadata.duplicate_of`` naming the first, so a page can warn before loading it again.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from sources.connectors.filesupport.detection import ENCODING_SAMPLE_BYTES, EncodingGuess, guess_encoding
from staging.models import FileMetadata, FileStatus

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Registered:
    file: FileMetadata
    duplicate_of: FileMetadata | None


def safe_filename(name: str) -> str:
    """A name for the disk: no directories (``../``), no control or odd characters, at most 120 long."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._") or "upload"
    ext = _UNSAFE.sub("", ext)
    return f"{stem[:100]}.{ext}" if ext else stem[:120]


def uploads_dir() -> Path:
    """The upload folder: also the one folder every source may read (sources.fileroots)."""
    from sources.fileroots import upload_folder

    return upload_folder()


def file_register(*, stream: BinaryIO, original_filename: str, uploaded_by: str = "",
                  max_bytes: int | None = None) -> Registered:
    """Copy `stream` into the upload store while hashing it, then record it in file_metadata."""
    uploads_dir().mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=uploads_dir(), prefix=".incoming-", delete=False) as tmp:
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ValueError(_("The file is larger than the limit of %(mb)d MB.")
                                     % {"mb": max_bytes // (1024 * 1024)})
                digest.update(chunk)
                tmp.write(chunk)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    sha = digest.hexdigest()
    filename = f"{sha[:16]}_{safe_filename(original_filename)}"
    final = uploads_dir() / sha[:2] / filename
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp.name, final)
    return _record(path=final, original_filename=original_filename, size=size, sha=sha, uploaded_by=uploaded_by)


def file_register_path(*, path: Path, uploaded_by: str = "") -> Registered:
    """Record a file that stays where it is (a command's --file): hashed in place, not copied."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(_("No such file: %(path)s") % {"path": path})
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return _record(path=path, original_filename=path.name, size=path.stat().st_size, sha=digest.hexdigest(),
                   uploaded_by=uploaded_by)


def _record(*, path: Path, original_filename: str, size: int, sha: str, uploaded_by: str) -> Registered:
    duplicate = (FileMetadata.objects.filter(file_hash=sha).exclude(status=FileStatus.DELETED)
                 .order_by("created_at").first())
    mime, _encoding = mimetypes.guess_type(original_filename)
    guess = _detect_encoding(path)
    metadata = {"duplicate_of": duplicate.pk} if duplicate else {}
    if guess is not None and guess.encoding and not guess.confident:
        metadata["encoding_confident"] = False  # the upload page shows it is a guess
    record = FileMetadata.objects.create(
        filename=path.name, original_filename=original_filename[:255], file_path=str(path), file_size=size,
        file_hash=sha, mime_type=mime or "application/octet-stream",
        encoding=guess.encoding or "" if guess is not None else "",
        status=FileStatus.UPLOADED, uploaded_by=uploaded_by[:150], metadata=metadata,
    )
    return Registered(record, duplicate)


def _detect_encoding(path: Path) -> EncodingGuess | None:
    """The text encoding of a text file's first megabyte, by the same detection the runs use; None for binary
    formats and empty files."""
    if path.suffix.lower() in {".parquet", ".xlsx", ".gz", ".zip"}:
        return None
    with open(path, "rb") as fh:
        sample = fh.read(ENCODING_SAMPLE_BYTES)
    return guess_encoding(sample) if sample else None
