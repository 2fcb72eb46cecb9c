"""What the "new pipeline from this file" page shows of a file before the form: how it was read (format,
encoding with how it was found and how sure that is, delimiter, NULL markers), its first rows, and the
profile the form's proposals come from."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from pipelines.inference import DEFAULT_NULL_VALUES
from pipelines.profiling import FileProfile, file_profile, sample_read
from sources.connectors.file import sniff
from staging.models import FileMetadata

# What a person may ask a file to be read as when the detected encoding reads its letters wrongly.
ENCODINGS = ("utf-8", "cp1252", "latin-1", "cp1250", "cp1251", "koi8-r", "utf-16")
ENCODING_FOUND = {
    "bom": _("from the byte order mark"), "ascii": _("plain ASCII"), "valid utf-8": _("valid UTF-8"),
    "detected": _("detected from the text"), "configured": _("set in the source"),
}


@dataclass
class FileLook:
    format: str
    encoding: str | None
    encoding_found: str
    encoding_confident: bool
    delimiter: str | None
    header: list[str]
    rows: list[list]
    null_values: list[str]
    profile: FileProfile


def read_options(encoding: str | None) -> dict:
    """The file source's read options for the encoding a person chose (one of ENCODINGS), or none."""
    return {"encoding": encoding} if encoding in ENCODINGS else {}


def file_look(file: FileMetadata, *, encoding: str | None = None, null_values=DEFAULT_NULL_VALUES) -> FileLook:
    """How `file` reads (as `encoding` when one of ENCODINGS is given). Raises ConnectorError (or OSError /
    ValueError) with a message for the user when the file cannot be read."""
    options = read_options(encoding)
    looks = sniff(file.file_path, **options)
    files = looks["description"].get("files") or [{}]
    how = files[0].get("encoding_detection", "")
    table, complete = sample_read(file.file_path, options=options, markers=tuple(null_values))
    return FileLook(format=looks["format"], encoding=looks["encoding"], encoding_found=ENCODING_FOUND.get(how, how),
                    encoding_confident=all(f.get("encoding_confident", True) for f in files),
                    delimiter=looks["delimiter"], header=looks["header"], rows=looks["rows"],
                    null_values=list(null_values), profile=file_profile(table, complete=complete))
