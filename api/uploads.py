"""Checks an upload before anything is recorded, then hands it to `staging.uploads.file_register`.

Refused with a field error on `file`, leaving no file_metadata row and no file on disk: an empty file, one
larger than API_UPLOAD_MAX_BYTES, a name whose format the file connector cannot read, and what
`staging.upload_checks` finds in the content (binary data in a ".csv", a ".parquet" or ".xlsx" without its
signature, a zip member with an unsafe path, a gzip bomb).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from sources.connectors.filesupport.opening import EXTENSIONS, format_from_name
from staging.upload_checks import upload_content_problem
from staging.uploads import Registered, file_register


def _refuse(message: str):
    raise serializers.ValidationError({"file": [message]})


def upload_check(upload) -> None:
    name = upload.name or ""
    fmt, compression = format_from_name(name)
    if fmt is None and compression != "zip":
        _refuse(_("%(name)s: unsupported file type; upload one of %(types)s (optionally .gz or in a .zip).")
                % {"name": name, "types": ", ".join(sorted(EXTENSIONS))})
    limit = settings.API_UPLOAD_MAX_BYTES
    if upload.size == 0:
        _refuse(_("%(name)s is empty.") % {"name": name})
    if upload.size > limit:
        _refuse(_("%(name)s is %(size)d bytes, more than the limit of %(limit)d bytes.")
                % {"name": name, "size": upload.size, "limit": limit})
    problem = upload_content_problem(upload, name)
    if problem:
        _refuse(problem)


def upload_register(*, upload, user) -> Registered:
    """Check and store an uploaded file; record it in file_metadata (audited as an upload)."""
    upload_check(upload)
    try:
        return file_register(stream=upload, original_filename=upload.name, uploaded_by=user.get_username(),
                             max_bytes=settings.API_UPLOAD_MAX_BYTES)
    except ValueError as exc:
        _refuse(str(exc))
