"""What an uploaded file's bytes say before it is stored: refused here, it leaves nothing behind.

Shared by the API (api/uploads.py) and the upload page (webui/chunked.py), so both refuse the same files with
the same message: content that contradicts the name (binary data in a ".csv", a ".parquet" without its
signature), a zip archive with a member that would leave its folder, and a gzip file that says it
decompresses to more than ETL_FILE_MAX_BYTES (an archive bomb; the run's byte budget catches one that lies).
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from sources.connectors.filesupport.opening import format_from_name, human_size, unsafe_member_name

TEXT_FORMATS = {"csv", "tsv", "json", "jsonl"}
SIGNATURES = {"parquet": b"PAR1", "xlsx": b"PK\x03\x04", "zip": b"PK\x03\x04", "gzip": b"\x1f\x8b"}
SNIFF_BYTES = 8192
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def upload_content_problem(stream: BinaryIO, name: str) -> str | None:
    """Why the file in `stream` (seekable; left at its start) cannot be loaded, or None."""
    fmt, compression = format_from_name(name)
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    expected = SIGNATURES.get(compression) or SIGNATURES.get(fmt)
    if expected is not None and not head.startswith(expected):
        return _("%(name)s does not look like a %(format)s file.") % {"name": name, "format": compression or fmt}
    if compression is None and fmt in TEXT_FORMATS and b"\x00" in head and not head.startswith(_UTF16_32_BOMS):
        return _("%(name)s contains binary data, not %(format)s text.") % {"name": name, "format": fmt.upper()}
    try:
        if compression == "zip":
            return _zip_problem(stream, name)
        if compression == "gzip":
            return _gzip_problem(stream, name)
    finally:
        stream.seek(0)
    return None


def _zip_problem(stream: BinaryIO, name: str) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        return _("%(name)s is not a valid ZIP archive.") % {"name": name}
    for info in infos:
        if unsafe_member_name(info.filename):
            return (_("%(name)s was refused: its member %(member)s has an unsafe path (absolute or with \"..\").")
                    % {"name": name, "member": info.filename})
    declared = sum(info.file_size for info in infos)
    if declared > settings.ETL_FILE_MAX_BYTES:
        return _bomb(name)
    return None


def _gzip_problem(stream: BinaryIO, name: str) -> str | None:
    # The trailer holds the size modulo 2**32 (so it can only understate); the connector's budget is the
    # real guard, this refuses at once what declares itself too big.
    if stream.seek(0, 2) < 18:  # shorter than gzip's header and trailer: damaged, which the run reports
        return None
    stream.seek(-4, 2)
    if int.from_bytes(stream.read(4), "little") > settings.ETL_FILE_MAX_BYTES:
        return _bomb(name)
    return None


def _bomb(name: str) -> str:
    limit = settings.ETL_FILE_MAX_BYTES
    return (_("%(name)s decompresses to more than %(size)s (ETL_FILE_MAX_BYTES); it was refused as a possible "
              "archive bomb.") % {"name": name, "size": human_size(limit)})
