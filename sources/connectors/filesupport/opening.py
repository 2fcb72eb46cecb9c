"""From a path or glob to the files to read, each openable as a binary stream ("members").

A member is a plain file, the content of a .gz file, or one file inside a .zip archive. Decompressed bytes are
counted against a budget (`max_bytes`) so that an archive bomb is refused instead of filling the disk or memory.
Nothing here knows about formats beyond telling them from file names.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import io
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "xlsx")
FORMAT_ALIASES = {"ndjson": "jsonl", "excel": "xlsx"}
EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
_READ_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
# What a damaged .gz or .zip raises while it is read (gzip.BadGzipFile is also an OSError: test for it first).
DECOMPRESSION_ERRORS = (EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error)


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.3g} {unit}" if unit != "bytes" else f"{size} {unit}"
        size /= 1024
    return f"{size:.3g} TiB"


def too_big(name: str, limit: int) -> ConnectorError:
    return ConnectorError(
        _("%(name)s decompresses to more than %(size)s (max_bytes = %(limit)d); it was refused as a possible "
          "archive bomb. Raise max_bytes in the connection configuration if the file is genuine.")
        % {"name": name, "size": human_size(limit), "limit": limit},
        permanent=True,
    )


def format_from_name(name: str) -> tuple[str | None, str | None]:
    """(format, compression) told by a file name: "a.csv.gz" -> ("csv", "gzip"); "a.zip" -> (None, "zip")."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return None, "zip"
    compression = None
    if lower.endswith(".gz"):
        lower, compression = lower[:-3], "gzip"
    return EXTENSIONS.get(os.path.splitext(lower)[1]), compression


# A compressed member may always inflate this far, whatever its ratio: small files of very repetitive text
# (a log, a column of zeros) compress far better than 100:1 and are not bombs.
RATIO_FLOOR_BYTES = 64 * 1024**2


def too_inflated(name: str, ratio: int, compressed: int) -> ConnectorError:
    return ConnectorError(
        _("%(name)s inflates to more than %(ratio)d times its compressed size of %(size)s; it was refused as a "
          "possible archive bomb. Set max_bytes in the connection configuration if the file is genuine.")
        % {"name": name, "ratio": ratio, "size": human_size(compressed)},
        permanent=True,
    )


class ByteBudget:
    """Decompressed bytes allowed for one read, shared by all the members it reads; with `ratio`, each
    compressed member may also inflate to at most `ratio` times its compressed size (or RATIO_FLOOR_BYTES)."""

    def __init__(self, limit: int, *, ratio: int | None = None):
        self.limit, self.ratio = limit, ratio
        self.used = 0

    def consume(self, size: int, name: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise too_big(name, self.limit)

    def member_cap(self, compressed: int) -> int | None:
        return max(self.ratio * compressed, RATIO_FLOOR_BYTES) if self.ratio else None


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: BinaryIO, budget: ByteBudget, name: str, compressed: int):
        self._raw, self._budget, self._name = raw, budget, name
        self._compressed, self._cap, self._read = compressed, budget.member_cap(compressed), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._budget.consume(len(data), self._name)
        self._read += len(data)
        if self._cap is not None and self._read > self._cap:
            raise too_inflated(self._name, self._budget.ratio, self._compressed)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


@dataclass(frozen=True)
class Member:
    path: str                    # the file on disk
    format: str | None           # csv, tsv, json, jsonl, parquet, xlsx
    compression: str | None = None  # None, "gzip" or "zip"
    inner: str | None = None     # the member's name inside a zip archive
    declared_size: int = 0       # decompressed size the archive declares (a lower bound for gzip)

    @property
    def name(self) -> str:
        return f"{self.path}!{self.inner}" if self.inner else self.path

    @property
    def local_path(self) -> str | None:
        """The path to hand to a native reader, when the bytes are a plain file on disk."""
        return self.path if self.compression is None else None

    def open(self, budget: ByteBudget | None = None) -> BinaryIO:
        """The member's (decompressed) bytes; decompressed bytes count against `budget` when one is given."""
        try:
            if self.compression is None:
                return open(self.path, "rb")  # the caller closes it
            if self.compression == "gzip":
                raw: BinaryIO = gzip.open(self.path, "rb")  # type: ignore[assignment]
                compressed = os.path.getsize(self.path)
            else:
                with zipfile.ZipFile(self.path) as archive:
                    # The member keeps the archive's file open until the member is closed.
                    raw = archive.open(self.inner)  # type: ignore[arg-type]
                    compressed = archive.getinfo(self.inner).compress_size
        except FileNotFoundError:
            raise ConnectorError(_msg("%(name)s has disappeared.") % {"name": self.name}, permanent=False) from None
        except OSError as error:
            raise os_error(self.name, error) from None
        if budget is None:
            return raw
        return io.BufferedReader(_CountingReader(raw, budget, self.name, compressed), buffer_size=_READ_CHUNK)

    def head(self, size: int) -> bytes:
        """The first `size` decompressed bytes (for detecting encoding and dialect)."""
        with ReadErrors(self.name), self.open() as stream:
            return stream.read(size)

    @contextlib.contextmanager
    def local_file(self, budget: ByteBudget | None) -> Iterator[str]:
        """A path to the member's bytes on disk, decompressing into a temporary file when it is compressed
        (Parquet and .xlsx readers need to seek)."""
        if self.local_path:
            yield self.local_path
            return
        suffix = os.path.splitext((self.inner or self.path).removesuffix(".gz"))[1]
        with tempfile.NamedTemporaryFile(suffix=suffix, prefix="etl-member-") as spool:
            with ReadErrors(self.name), self.open(budget) as stream:
                shutil.copyfileobj(stream, spool, _READ_CHUNK)
            spool.flush()
            yield spool.name


def os_error(name: str, error: OSError) -> ConnectorError:
    permanent = isinstance(error, (PermissionError, IsADirectoryError))
    reason = error.strerror or str(error)
    return ConnectorError(_("%(name)s cannot be read: %(reason)s.") % {"name": name, "reason": reason},
                          permanent=permanent)


def refuse_broken_utf8(name: str, guess) -> None:
    """A UTF-8 file with a byte that is not UTF-8 is an error naming that byte, never read as another code page
    (that would change every correct accented letter of the file) nor silently replaced."""
    if guess.invalid_utf8_at is not None:
        raise ConnectorError(
            _msg("%(name)s is UTF-8 text, but byte %(offset)d is not valid UTF-8; correct the file, or set encoding "
                 "in the connection configuration if the file is in another encoding.")
            % {"name": name, "offset": guess.invalid_utf8_at}, permanent=True)


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|b'[^'\n]*'")


def content_free(error: BaseException | str) -> str:
    """A parser's message without the file's bytes it may quote (pyarrow appends the offending row, others quote
    values): its first line, at most two ": "-separated parts, quoted text replaced by an ellipsis. Messages
    say what is wrong and where, never what the file holds (it may be a key someone pointed a source at)."""
    lines = str(error).strip().splitlines()
    text = ": ".join(lines[0].split(": ")[:2]) if lines else type(error).__name__
    return _QUOTED.sub("'…'", text)[:200]


def corrupt(name: str, error: Exception) -> ConnectorError:
    return ConnectorError(_("%(name)s is damaged or not a valid compressed file: %(reason)s.")
                          % {"name": name, "reason": content_free(error)}, permanent=True)


class ReadErrors:
    """Context manager turning what codecs, decompressors and the OS raise while a member is read into
    ConnectorErrors naming it. Subclasses add their format's errors in `translate`."""

    def __init__(self, name: str, encoding: str | None = None):
        self.name, self.encoding = name, encoding

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, (ConnectorError, GeneratorExit)):
            return False
        translated = self.translate(error)
        if translated is not None:
            raise translated from error
        return False

    def translate(self, error: BaseException) -> ConnectorError | None:
        if isinstance(error, RecursionError):  # the JSON decoder recurses once per level of nesting
            return ConnectorError(_("%(name)s is nested too deeply: arrays or objects inside each other more than "
                                    "about %(levels)d levels.") % {"name": self.name, "levels": 1000}, permanent=True)
        if isinstance(error, UnicodeError):
            return ConnectorError(
                _("%(name)s cannot be decoded as %(encoding)s; set encoding in the connection configuration.")
                % {"name": self.name, "encoding": self.encoding}, permanent=True)
        if isinstance(error, DECOMPRESSION_ERRORS):
            return corrupt(self.name, error)
        if isinstance(error, OSError):
            return os_error(self.name, error)
        return None


def resolve_paths(pattern: str, *, confined: bool = True) -> list[str]:
    """Files named by a path or a glob (sorted). A file that exists under the literal name wins over a glob.

    `confined` (every path a user configured): each file is resolved and judged by sources.fileroots, the
    glob's fixed part before the disk is searched, and the real paths are returned. Only files this
    application wrote itself (a download from S3 or HDFS) are read unconfined.
    """
    expanded = os.path.expanduser(pattern)
    judged = _judge if confined else (lambda path: path)
    if confined:
        from sources.fileroots import fixed_part

        _judge(fixed_part(expanded))  # before anything about the disk is told: no probing outside the roots
    if os.path.isdir(expanded):
        raise ConnectorError(
            _msg("file_path %(path)s is a folder; name a file, or its files with a pattern such as %(example)s.")
            % {"path": pattern, "example": os.path.join(pattern, "*.csv")}, permanent=True)
    if os.path.isfile(expanded):
        return [judged(expanded)]
    if glob.has_magic(expanded):
        matches = sorted(p for p in glob.glob(expanded, recursive=True) if os.path.isfile(p))
        if matches:
            return [judged(match) for match in matches]
        # Not permanent: scheduled runs often start before an upstream system has delivered the file.
        raise ConnectorError(_msg("No file matches %(pattern)s.") % {"pattern": pattern}, permanent=False)
    raise ConnectorError(_msg("The file %(path)s does not exist.") % {"path": pattern}, permanent=False)


def _judge(path: str) -> str:
    from sources.fileroots import resolve_allowed_path

    return str(resolve_allowed_path(path))


def unsafe_member_name(name: str) -> bool:
    """Whether an archive member's name would leave the folder it is extracted into (absolute, or with "..")."""
    normalized = name.replace("\\", "/")
    return normalized.startswith("/") or bool(re.match(r"^[A-Za-z]:", normalized)) or ".." in normalized.split("/")


def _junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def zip_members(path: str, fmt: str | None) -> list[Member]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ConnectorError(_msg("%(name)s is not a valid ZIP archive.") % {"name": path}, permanent=True) from None
    except OSError as error:
        raise os_error(path, error) from None
    members = []
    for info in infos:
        if unsafe_member_name(info.filename):
            raise ConnectorError(
                _msg("%(name)s was refused: its member %(member)s has an unsafe path (absolute or with \"..\").")
                % {"name": path, "member": info.filename}, permanent=True)
        if info.is_dir() or _junk(info.filename):
            continue
        member_format, compression = format_from_name(info.filename)
        if fmt is None and (member_format is None or compression is not None):
            continue  # not a file we can read (a README, an image, a nested archive)
        if info.flag_bits & 0x1:
            raise ConnectorError(_msg("%(name)s: the member %(member)s is encrypted; encrypted archives are not "
                                      "supported.") % {"name": path, "member": info.filename}, permanent=True)
        members.append(Member(path, fmt or member_format, "zip", info.filename, info.file_size))
    if not members:
        raise ConnectorError(_msg("%(name)s contains no CSV, TSV, JSON, JSON Lines, Parquet or Excel file.")
                             % {"name": path}, permanent=True)
    return sorted(members, key=lambda member: member.inner or "")


_DEFLATE_MAX_RATIO = 1032


def _gzip_declared_size(path: str) -> int:
    """The gzip trailer's size field: the last member's size modulo 2**32, so never more than the real size."""
    try:
        with open(path, "rb") as stream:
            if stream.read(2) != _GZIP_MAGIC:
                raise ConnectorError(_msg("%(name)s is not a gzip file (its name ends in .gz).") % {"name": path},
                                     permanent=True)
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            if size < 18:
                return 0
            stream.seek(-4, os.SEEK_END)
            declared = int.from_bytes(stream.read(4), "little")
            # Deflate cannot inflate more than ~1032:1; a bigger claim is not a trailer but the middle of a
            # cut-off file, which reading then reports as damaged.
            return declared if declared <= _DEFLATE_MAX_RATIO * size else 0
    except OSError as error:
        raise os_error(path, error) from None


def resolve_members(pattern: str, fmt: str | None, *, confined: bool = True) -> list[Member]:
    """Every member to read for `file_path`, in order: files sorted by path, zip members sorted by name."""
    members: list[Member] = []
    for path in resolve_paths(pattern, confined=confined):
        detected, compression = format_from_name(path)
        if compression == "zip":
            members.extend(zip_members(path, fmt))
            continue
        member_format = fmt or detected
        if member_format is None:
            raise ConnectorError(
                _msg("The format of %(name)s cannot be told from its name; set format to one of: %(formats)s.")
                % {"name": path, "formats": ", ".join(FORMATS)}, permanent=True)
        declared = _gzip_declared_size(path) if compression == "gzip" else 0
        members.append(Member(path, member_format, compression, None, declared))
    return members


def check_declared_sizes(members: list[Member], limit: int) -> None:
    """Refuse at once what the archives themselves say is too big (the byte budget catches the rest)."""
    total = 0
    for member in members:
        total += member.declared_size
        if total > limit:
            raise too_big(member.path, limit)
