"""The S3 connector: the objects of a bucket under a prefix, in key order, parsed by the file connector.

connection_config:
- bucket (required), prefix (default "": the whole bucket)
- endpoint_url: an S3-compatible store (MinIO, Ceph, moto...), addressed path-style; default: AWS
- region; access_key_id + secret_access_key (+ session_token): without them boto3's own chain is used
  (environment, ~/.aws, instance role); anonymous: true reads a public bucket unsigned
- pattern: a glob on the whole key ("*.csv", "sales/2024-*.parquet"; "*" also matches "/")
- format, encoding, delimiter, quote_char, escape_char, has_header, record_path, sheet, max_bytes: as for the
  file connector (format is told by each key's extension by default)

Keys ending in "/" (folder markers) and keys whose last part starts with "_" or "." (_SUCCESS, .crc files) are
skipped. Each object is downloaded to a temporary file (streamed by boto3's transfer manager, memory bounded;
the disk holds one object at a time, under TMPDIR), read by FileConnector and deleted. Objects read together
must have the same columns (in any order); batches keep the file connector's columns and types.

`FetchedFiles` below is the part shared with the HDFS connector: fetch one file, parse it, align, re-batch.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.file import FileConnector
from sources.connectors.filesupport.batching import Rebatcher
from sources.connectors.filesupport.opening import FORMATS, format_from_name

PARSE_KEYS = tuple(key for key in FileConnector.KEYS if key != "file_path")
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
TEST_LISTING_LIMIT = 10_000  # test_connection lists at most this many keys


# -- shared with the HDFS connector ---------------------------------------------------------------------------

@dataclass
class RemoteFile:
    uri: str    # what the user sees in messages: s3://bucket/key, hdfs://host/path
    name: str   # the last part of the key or path: its extension tells the format
    size: int
    info: dict[str, Any] = field(default_factory=dict)  # etag, modification time... for describe()


def parse_option_errors(config: dict) -> list[str]:
    """The file connector's messages about the parsing keys (format, encoding, delimiter...) of `config`."""
    options = {key: config[key] for key in PARSE_KEYS if key in config}
    return FileConnector.config_errors({"file_path": "-", **options})


def hidden(name: str) -> bool:
    """Files that Hadoop, Spark and friends write beside the data (_SUCCESS, _metadata, .part.crc)."""
    return name.startswith(("_", "."))


def format_problem(files: list[RemoteFile], fmt: str | None) -> str | None:
    """A message when the format of the first file can be told neither from `format` nor from its name."""
    if fmt or not files:
        return None
    detected, compression = format_from_name(files[0].name)
    if detected is None and compression != "zip":
        return (_("The format of %(name)s cannot be told from its name; set format to one of: %(formats)s.")
                % {"name": files[0].uri, "formats": ", ".join(FORMATS)})
    return None


def _local_name(name: str) -> str:
    """A safe file name that keeps the remote name's extensions (".csv.gz" tells format and compression)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
    return safe[-150:]


class FetchedFiles:
    """Remote files read one at a time: fetched into a temporary folder, parsed by FileConnector, deleted.

    `fetch(file, local_path)` writes the file's bytes to `local_path`. Batches from every file are aligned to
    the first file's columns and re-cut to exactly `batch_rows` rows (the last may be shorter).
    """

    def __init__(self, parse_options: dict, fetch: Callable[[RemoteFile, str], None]):
        self.parse_options = {key: value for key, value in parse_options.items() if key in PARSE_KEYS}
        self.fetch = fetch
        self.files: list[dict[str, Any]] = []
        self.schema: pa.Schema | None = None
        self.description: dict[str, Any] = {}

    def batches(self, files: list[RemoteFile], batch_rows: int) -> Iterator[pa.RecordBatch]:
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, not {batch_rows!r}")
        rebatcher = Rebatcher(batch_rows)
        self.files, self.schema = [], None
        first: RemoteFile | None = None
        for remote in files:
            with tempfile.TemporaryDirectory(prefix="etl-remote-") as folder:
                local = os.path.join(folder, _local_name(remote.name))
                self.fetch(remote, local)
                connector = FileConnector({"file_path": local, **self.parse_options}, confined=False)
                with _renamed(local, remote.uri):
                    for batch in connector.read_batches(batch_rows=batch_rows):
                        if first is None:
                            first, self.schema = remote, batch.schema
                        yield from rebatcher.add(self._aligned(batch, remote, first))
                    description = connector.describe()
                if first is None:  # a file with a header and no rows: its columns still count
                    first, self.schema = remote, connector.schema
                else:
                    self._aligned(pa.RecordBatch.from_pylist([], schema=connector.schema), remote, first)
                for member in description.get("files") or [{}]:  # a .zip object holds several members
                    details = dict(member)
                    details["name"] = str(details.get("name", local)).replace(local, remote.uri)
                    details.update(size=remote.size, **remote.info)
                    self.files.append(details)
                if not self.description:
                    self.description = {key: value for key, value in description.items()
                                        if key not in ("kind", "file_path", "files", "columns")}
        yield from rebatcher.flush()

    def _aligned(self, batch: pa.RecordBatch, remote: RemoteFile, first: RemoteFile) -> pa.RecordBatch:
        target = self.schema
        if batch.schema.equals(target, check_metadata=False):
            return batch
        if sorted(batch.schema.names) != sorted(target.names) or len(set(target.names)) != len(target.names):
            raise ConnectorError(
                _msg("%(name)s has the columns %(found)s, but %(first)s has %(expected)s; files read together must "
                     "have the same columns.") % {"name": remote.uri, "found": ", ".join(batch.schema.names),
                                               "first": first.uri, "expected": ", ".join(target.names)},
                permanent=True)
        batch = batch.select(target.names)
        try:
            return batch.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ConnectorError(_msg("%(name)s has column types that differ from %(first)s's: %(reason)s")
                                 % {"name": remote.uri, "first": first.uri, "reason": error}, permanent=True) from None

    def describe(self) -> dict[str, Any]:
        return {**self.description, "columns": self.schema.names if self.schema is not None else [],
                "files": self.files}


class _renamed:
    """Re-raise the file connector's errors with the remote name in place of the temporary path."""

    def __init__(self, local: str, uri: str):
        self.local, self.uri = local, uri

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, ConnectorError) and self.local in error.message:
            raise ConnectorError(error.message.replace(self.local, self.uri), permanent=error.permanent) from None
        return False


# -- S3 --------------------------------------------------------------------------------------------------------

_NO_BUCKET = {"NoSuchBucket"}
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                    "InvalidClientTokenId", "AuthorizationHeaderMalformed", "TokenRefreshRequired"}
_session = None
_session_lock = threading.Lock()
_DENIED = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden", "AccountProblem"}
_GONE = {"NoSuchKey", "404", "NotFound"}


class S3Connector(Connector):
    kind = "s3"
    KEYS = ("bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key", "session_token",
            "anonymous", "pattern", *PARSE_KEYS)
    SECRET_KEYS = ("access_key_id", "secret_access_key", "session_token")
    DESTINATION_KEYS = ("endpoint_url", "region", "bucket")

    def __init__(self, config: dict):
        super().__init__(config)
        self.bucket: str = config["bucket"]
        self.prefix: str = config.get("prefix") or ""
        self.pattern: str | None = config.get("pattern") or None
        self._fetched = FetchedFiles(config, self._download)
        self._objects: list[RemoteFile] = []
        self._client = None

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, cls.KEYS, "S3")
        bucket = config.get("bucket")
        if bucket is None or (isinstance(bucket, str) and not bucket.strip()):
            errors.append(_("bucket is required."))
        elif not isinstance(bucket, str) or "/" in bucket or bucket != bucket.strip():
            errors.append(_("bucket must be a bucket name (without \"s3://\" or \"/\"); put the folder in prefix."))
        for key in ("prefix", "pattern", "region", "session_token"):
            if config.get(key) is not None and not isinstance(config[key], str):
                errors.append(_("%(key)s must be a text.") % {"key": key})
        endpoint = config.get("endpoint_url")
        if endpoint not in (None, ""):
            parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                errors.append(_("endpoint_url must be an http:// or https:// address, e.g. "
                                "\"http://minio.local:9000\"."))
        key_id, secret = config.get("access_key_id"), config.get("secret_access_key")
        for key, value in (("access_key_id", key_id), ("secret_access_key", secret)):
            if value is not None and not isinstance(value, str):
                errors.append(_("%(key)s must be a text.") % {"key": key})
        if bool(key_id) != bool(secret):
            errors.append(_("access_key_id and secret_access_key go together: set both, or neither to use the "
                            "environment's credentials."))
        if not isinstance(config.get("anonymous", False), bool):
            errors.append(_("anonymous must be true or false."))
        elif config.get("anonymous") and key_id:
            errors.append(_("anonymous reads a public bucket without credentials; remove access_key_id and "
                            "secret_access_key, or anonymous."))
        errors += parse_option_errors(config)
        return errors

    # -- talking to S3 -------------------------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            import boto3  # the S3 SDK is imported by the sources that use it only
            from botocore import UNSIGNED
            from botocore.config import Config

            options: dict[str, Any] = {
                "connect_timeout": CONNECT_TIMEOUT_SECONDS, "read_timeout": READ_TIMEOUT_SECONDS,
                "retries": {"max_attempts": 3, "mode": "standard"},
            }
            if self.config.get("endpoint_url"):
                options["s3"] = {"addressing_style": "path"}  # "bucket.minio:9000" rarely resolves
            if self.config.get("anonymous"):
                options["signature_version"] = UNSIGNED
            global _session
            with _session_lock:  # a boto3 session is not thread-safe; the clients it makes are
                if _session is None:
                    _session = boto3.session.Session()
                # One session per process: it parses S3's service model once (~0.2 s) for every client after.
                # Credentials are the client's own, so connectors never share them.
                self._client = _session.client(
                    "s3", endpoint_url=self.config.get("endpoint_url") or None,
                    region_name=self.config.get("region") or None,
                    aws_access_key_id=self.config.get("access_key_id") or None,
                    aws_secret_access_key=self.config.get("secret_access_key") or None,
                    aws_session_token=self.config.get("session_token") or None,
                    config=Config(**options))
        return self._client

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _error(self, error: Exception, *, key: str | None = None) -> ConnectorError:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = f"s3://{self.bucket}/{key}" if key is not None else self._where()
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            reason = error.response.get("Error", {}).get("Message") or code
            if code in _NO_BUCKET:
                return ConnectorError(_("The bucket %(bucket)s does not exist%(at)s.")
                                      % {"bucket": self.bucket, "at": self._at()}, permanent=True)
            if code in _BAD_CREDENTIALS:
                return ConnectorError(_("S3 rejected the credentials (%(code)s: %(reason)s); check access_key_id "
                                        "and secret_access_key.") % {"code": code, "reason": reason}, permanent=True)
            if code in _DENIED:
                return ConnectorError(_("Access to %(where)s was denied (%(reason)s); the credentials need "
                                        "s3:ListBucket and s3:GetObject on it.")
                                      % {"where": where, "reason": reason}, permanent=True)
            if code in _GONE and key is not None:
                return ConnectorError(_("%(where)s has disappeared while the run read it.") % {"where": where},
                                      permanent=False)
            return ConnectorError(_("S3 refused a request for %(where)s: %(code)s: %(reason)s")
                                  % {"where": where, "code": code, "reason": reason},
                                  permanent=400 <= status < 500 and status not in (408, 429))
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return ConnectorError(_("No S3 credentials: set access_key_id and secret_access_key (or anonymous: "
                                    "true for a public bucket)."), permanent=True)
        if isinstance(error, (EndpointConnectionError, ConnectionError)):
            return ConnectorError(_("S3 cannot be reached%(at)s: %(reason)s")
                                  % {"at": self._at(), "reason": error}, permanent=False)
        if isinstance(error, BotoCoreError):
            return ConnectorError(_("S3 request for %(where)s failed: %(reason)s")
                                  % {"where": where, "reason": error}, permanent=False)
        raise error

    def _at(self) -> str:
        endpoint = self.config.get("endpoint_url")
        return (" " + _("at %(endpoint)s") % {"endpoint": endpoint}) if endpoint else ""

    def list_objects(self, limit: int | None = None) -> list[RemoteFile]:
        """The objects to read, sorted by key; ConnectorError when there are none."""
        from botocore.exceptions import BotoCoreError, ClientError

        objects: list[RemoteFile] = []
        listed = 0
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    listed += 1
                    key = item["Key"]
                    name = posixpath.basename(key)
                    if key.endswith("/") or hidden(name):
                        continue
                    if self.pattern and not fnmatch.fnmatchcase(key, self.pattern):
                        continue
                    objects.append(RemoteFile(
                        uri=f"s3://{self.bucket}/{key}", name=name, size=int(item.get("Size", 0)),
                        info={"key": key, "etag": str(item.get("ETag", "")).strip('"'),
                              "last_modified": item["LastModified"].isoformat() if item.get("LastModified") else None}))
                if limit is not None and listed >= limit:
                    break
        except (BotoCoreError, ClientError) as error:
            raise self._error(error) from None
        if not objects:
            if self.pattern:
                message = _("No object under %(where)s matches the pattern %(pattern)s.")
            else:
                message = _("There is no object under %(where)s.")
            # Not permanent: scheduled runs often start before an upstream system has delivered its files.
            raise ConnectorError(message % {"where": self._where(), "pattern": self.pattern}, permanent=False)
        return sorted(objects, key=lambda obj: obj.info["key"])

    def _download(self, remote: RemoteFile, local: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.download_file(self.bucket, remote.info["key"], local)
        except (BotoCoreError, ClientError) as error:
            raise self._error(error, key=remote.info["key"]) from None

    # -- the contract --------------------------------------------------------------------------------------------

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        self._objects = self.list_objects()
        yield from self._fetched.batches(self._objects, batch_rows)

    def test_connection(self) -> ConnectionCheck:
        try:
            objects = self.list_objects(limit=TEST_LISTING_LIMIT)
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        problem = format_problem(objects, self.config.get("format"))
        details = {"bucket": self.bucket, "prefix": self.prefix, "objects": len(objects),
                   "bytes": sum(obj.size for obj in objects), "first": objects[0].uri,
                   "listing_capped_at": TEST_LISTING_LIMIT}
        if problem:
            return ConnectionCheck(ok=False, message=problem, details={**details, "permanent": True})
        message = ngettext("%(count)d object to read under %(where)s.",
                           "%(count)d objects to read under %(where)s.", len(objects)) % {
            "count": len(objects), "where": self._where()}
        return ConnectionCheck(ok=True, message=message, details=details)

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {"kind": self.kind, "bucket": self.bucket, "prefix": self.prefix}
        for key in ("endpoint_url", "region", "pattern", "format"):
            if self.config.get(key):
                description[key] = self.config[key]
        description.update(self._fetched.describe())
        description["objects"] = description.pop("files")
        return description


__all__ = ["FetchedFiles", "RemoteFile", "S3Connector", "format_problem", "hidden",
           "parse_option_errors"]
