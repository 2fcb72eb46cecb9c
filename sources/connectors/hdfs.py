"""The HDFS connector: a file or the files of a directory, over the WebHDFS REST API, parsed by the file connector.

connection_config:
- namenode_url (required): the namenode's HTTP address, "http://namenode:9870" (Hadoop 3; 50070 on Hadoop 2),
  or a list of them for an HA pair (a standby or unreachable one is skipped); an HttpFS gateway
  ("http://httpfs:14000") works too, and so does a gateway path ("https://knox/gateway/default")
- path (required): an absolute HDFS path, of a file or a directory
- user: the Hadoop user (`user.name`, simple authentication); delegation_token: a token instead of it
- recursive (default false): also read the directories under path; pattern: a glob on the whole path
- verify_tls (default true): false, or the path of a CA bundle, for https namenodes
- timeout_seconds (default 30): for each request to the namenode or a datanode
- format, encoding, delimiter, quote_char, escape_char, has_header, record_path, sheet, max_bytes: as for the
  file connector (format is told by each file's extension by default)

Directories are listed with LISTSTATUS (sorted by name; names starting with "_" or "." such as _SUCCESS are
skipped); each file is read with OPEN: the namenode answers 307 with a datanode's address, and the bytes are
streamed from there into a temporary file (memory bounded, one file on disk at a time), checked against the
length the namenode reported, read by FileConnector and deleted. Kerberos (SPNEGO) is not supported.
"""

from __future__ import annotations

import contextlib
import fnmatch
import posixpath
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pyarrow as pa
import requests
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.s3 import (
    PARSE_KEYS,
    FetchedFiles,
    RemoteFile,
    format_problem,
    hidden,
    parse_option_errors,
)

DEFAULT_TIMEOUT = 30.0
CHUNK_BYTES = 1 << 20
MAX_REDIRECTS = 3
_NOT_FOUND = {"FileNotFoundException"}
_DENIED = {"AccessControlException", "SecurityException", "AuthorizationException"}
_STANDBY = {"StandbyException", "RetriableException", "SafeModeException"}


def _urls(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item.rstrip("/") for item in items if isinstance(item, str) and item.strip()]


class _Standby(Exception):
    """This namenode cannot serve (standby, unreachable): another one of an HA pair may."""

    def __init__(self, error: ConnectorError):
        super().__init__(error.message)
        self.error = error


class HdfsConnector(Connector):
    kind = "hdfs"
    KEYS = ("namenode_url", "path", "user", "delegation_token", "recursive", "pattern", "verify_tls",
            "timeout_seconds", *PARSE_KEYS)
    SECRET_KEYS = ("delegation_token",)
    DESTINATION_KEYS = ("namenode_url", "verify_tls")

    def __init__(self, config: dict):
        super().__init__(config)
        self.urls = _urls(config["namenode_url"])
        self.path = "/" + config["path"].strip("/") if config["path"].strip("/") else "/"
        self.timeout = float(config.get("timeout_seconds", DEFAULT_TIMEOUT))
        self._active = 0  # the namenode that answered last
        self._session = requests.Session()
        verify = config.get("verify_tls", True)
        if isinstance(verify, str):  # a CA bundle on this server: judged where it is opened
            from sources.fileroots import resolve_allowed_path

            verify = str(resolve_allowed_path(verify, key="verify_tls"))
        self._session.verify = verify
        self._fetched = FetchedFiles(config, self._download)

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, cls.KEYS, "HDFS")
        urls = config.get("namenode_url")
        if urls in (None, "", []):
            errors.append(_("namenode_url is required, e.g. \"http://namenode:9870\"."))
        elif not (isinstance(urls, (str, list)) and _urls(urls) and len(_urls(urls)) == (
                len(urls) if isinstance(urls, list) else 1)) or any(
                urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc for url in _urls(urls)):
            errors.append(_("namenode_url must be an http:// or https:// address (or a list of them), e.g. "
                            "\"http://namenode:9870\"."))
        path = config.get("path")
        if path is None or (isinstance(path, str) and not path.strip()):
            errors.append(_("path is required: an absolute HDFS path such as /data/sales."))
        elif not isinstance(path, str) or not path.startswith("/"):
            errors.append(_("path must be an absolute HDFS path (starting with /), e.g. /data/sales."))
        elif ".." in path.split("/"):
            errors.append(_("path must not contain \"..\"."))
        for key in ("user", "delegation_token", "pattern"):
            if config.get(key) is not None and not isinstance(config[key], str):
                errors.append(_("%(key)s must be a text.") % {"key": key})
        if not isinstance(config.get("recursive", False), bool):
            errors.append(_("recursive must be true or false."))
        verify = config.get("verify_tls", True)
        if not isinstance(verify, (bool, str)) or verify == "":
            errors.append(_("verify_tls must be true, false or the path of a CA bundle."))
        timeout = config.get("timeout_seconds", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            errors.append(_("timeout_seconds must be a positive number of seconds."))
        errors += parse_option_errors(config)
        return errors

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        verify = config.get("verify_tls") if isinstance(config, dict) else None
        return {"verify_tls": verify} if isinstance(verify, str) and verify else {}

    # -- WebHDFS ---------------------------------------------------------------------------------------------

    def uri(self, path: str) -> str:
        return f"webhdfs://{urlsplit(self.urls[self._active]).netloc}{path}"

    def _params(self, op: str) -> dict[str, str]:
        params = {"op": op}
        if self.config.get("user"):
            params["user.name"] = self.config["user"]
        if self.config.get("delegation_token"):
            params["delegation"] = self.config["delegation_token"]
        return params

    def _namenode(self, op: str, path: str, **options: Any) -> requests.Response:
        """One WebHDFS call, trying each namenode of an HA pair from the one that answered last."""
        failure: ConnectorError | None = None
        order = self.urls[self._active:] + self.urls[:self._active]
        for url in order:
            try:
                response = self._call(url, op, path, **options)
            except _Standby as standby:
                failure = standby.error
                continue
            self._active = self.urls.index(url)
            return response
        raise failure  # type: ignore[misc]

    def _call(self, url: str, op: str, path: str, **options: Any) -> requests.Response:
        address = f"{url}/webhdfs/v1{quote(path)}"
        # No redirect is followed with the credentials in the query: OPEN's hop to a datanode is taken by
        # _download, to the address the namenode gave (which carries what the namenode chose to put there).
        options.setdefault("allow_redirects", False)
        try:
            response = self._session.get(address, params=self._params(op), timeout=self.timeout, **options)
        except requests.exceptions.SSLError as error:
            raise ConnectorError(_msg("TLS to the namenode %(url)s failed: %(reason)s (see verify_tls).")
                                 % {"url": url, "reason": error}, permanent=True) from None
        except requests.RequestException as error:
            raise _Standby(ConnectorError(_("The namenode %(url)s cannot be reached: %(reason)s")
                                          % {"url": url, "reason": _reason(error)}, permanent=False)) from None
        if response.is_redirect and op != "OPEN":
            location = urlsplit(response.headers.get("Location", ""))
            response.close()
            where = f"{location.scheme}://{location.hostname}"
            with contextlib.suppress(ValueError):
                where += f":{location.port}" if location.port else ""
            raise ConnectorError(_msg("The namenode %(url)s redirects its %(op)s request to %(location)s; requests "
                                      "with the credentials are not followed elsewhere: put the right address in "
                                      "namenode_url.") % {"url": url, "op": op,
                                                       "location": where},
                                 permanent=True)
        if response.status_code < 400:
            return response
        exception, message = _remote_exception(response)
        if exception in _STANDBY:
            raise _Standby(ConnectorError(_("The namenode %(url)s cannot serve now (%(exception)s: %(message)s); "
                                            "list the active one in namenode_url.")
                                          % {"url": url, "exception": exception, "message": message},
                                          permanent=False))
        raise self._error(response.status_code, exception, message, path)

    def _error(self, status: int, exception: str, message: str, path: str) -> ConnectorError:
        where = self.uri(path)
        if exception in _NOT_FOUND or status == 404:
            # Not permanent: scheduled runs often start before an upstream system has delivered the file.
            return ConnectorError(_("%(where)s does not exist.") % {"where": where}, permanent=False)
        if status == 401:
            return ConnectorError(_("The namenode asks for authentication (Kerberos is not supported): set user, "
                                    "or a delegation_token."), permanent=True)
        if exception in _DENIED or status == 403:
            return ConnectorError(_("HDFS denied access to %(where)s: %(message)s (user: %(user)s).")
                                  % {"where": where, "message": message,
                                     "user": self.config.get("user") or _("none given")}, permanent=True)
        return ConnectorError(_("WebHDFS refused a request for %(where)s: HTTP %(status)d %(exception)s: "
                                "%(message)s") % {"where": where, "status": status, "exception": exception,
                                                  "message": message}, permanent=400 <= status < 500)

    def _status(self, path: str) -> dict:
        return self._json(self._namenode("GETFILESTATUS", path), "FileStatus", path)

    def _list(self, path: str) -> list[dict]:
        return self._json(self._namenode("LISTSTATUS", path), "FileStatuses", path).get("FileStatus", [])

    def _json(self, response: requests.Response, key: str, path: str) -> dict:
        try:
            return response.json()[key]
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(_msg("%(url)s does not answer like a WebHDFS server for %(where)s (check "
                                      "namenode_url).") % {"url": self.urls[self._active], "where": self.uri(path)},
                                 permanent=True) from None

    def list_files(self) -> list[RemoteFile]:
        """The files to read, sorted by path; ConnectorError when there are none."""
        status = self._status(self.path)
        if status.get("type") == "FILE":
            files = [self._file(self.path, status)]
        else:
            files = self._walk(self.path)
        pattern = self.config.get("pattern")
        if pattern:
            files = [file for file in files if fnmatch.fnmatchcase(file.info["path"], pattern)]
        if not files:
            if pattern:
                message = _("No file under %(where)s matches the pattern %(pattern)s.")
            else:
                message = _("There is no file under %(where)s.")
            raise ConnectorError(message % {"where": self.uri(self.path), "pattern": pattern}, permanent=False)
        return sorted(files, key=lambda file: file.info["path"])

    def _walk(self, directory: str) -> list[RemoteFile]:
        files = []
        for status in sorted(self._list(directory), key=lambda item: item.get("pathSuffix", "")):
            name = status.get("pathSuffix", "")
            if not name or hidden(name):
                continue
            path = posixpath.join(directory, name)
            if status.get("type") == "DIRECTORY":
                if self.config.get("recursive"):
                    files += self._walk(path)
            else:
                files.append(self._file(path, status))
        return files

    def _file(self, path: str, status: dict) -> RemoteFile:
        return RemoteFile(uri=self.uri(path), name=posixpath.basename(path), size=int(status.get("length", 0)),
                          info={"path": path, "modification_time": status.get("modificationTime")})

    def _download(self, remote: RemoteFile, local: str) -> None:
        path = remote.info["path"]
        response = self._namenode("OPEN", path, allow_redirects=False, stream=True)
        for _hop in range(MAX_REDIRECTS):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            location = response.headers.get("Location", "")
            response.close()
            datanode = urlsplit(location).netloc or location
            try:
                response = self._session.get(location, timeout=self.timeout, stream=True, allow_redirects=False)
            except requests.RequestException as error:
                raise ConnectorError(
                    _msg("The namenode sent the read of %(where)s to the datanode %(datanode)s, which cannot be "
                         "reached "
                         "from here: %(reason)s (datanode host names must resolve and be reachable from the ETL "
                         "workers).") % {"where": remote.uri, "datanode": datanode, "reason": _reason(error)},
                    permanent=False) from None
            if response.status_code >= 400:
                exception, message = _remote_exception(response)
                raise self._error(response.status_code, exception, message, path)
        written = 0
        try:
            with open(local, "wb") as target:
                for chunk in response.iter_content(CHUNK_BYTES):
                    target.write(chunk)
                    written += len(chunk)
        except requests.RequestException as error:
            raise ConnectorError(_msg("Reading %(where)s was interrupted: %(reason)s")
                                 % {"where": remote.uri, "reason": _reason(error)}, permanent=False) from None
        finally:
            response.close()
        if written != remote.size:
            raise ConnectorError(_msg("%(where)s arrived with %(got)d bytes, but HDFS lists %(size)d; it may be "
                                      "still being written.") % {"where": remote.uri, "got": written,
                                                              "size": remote.size}, permanent=False)

    # -- the contract ----------------------------------------------------------------------------------------

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._fetched.batches(self.list_files(), batch_rows)
        finally:
            self._session.close()  # the pooled connections; the session opens new ones if used again

    def test_connection(self) -> ConnectionCheck:
        try:
            files = self.list_files()
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        finally:
            self._session.close()
        details = {"namenode_url": self.urls[self._active], "path": self.path, "files": len(files),
                   "bytes": sum(file.size for file in files), "first": files[0].uri}
        problem = format_problem(files, self.config.get("format"))
        if problem:
            return ConnectionCheck(ok=False, message=problem, details={**details, "permanent": True})
        message = ngettext("%(count)d file to read under %(where)s.", "%(count)d files to read under %(where)s.",
                           len(files)) % {"count": len(files), "where": self.uri(self.path)}
        return ConnectionCheck(ok=True, message=message, details=details)

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {"kind": self.kind, "namenode_url": self.urls[self._active],
                                       "path": self.path}
        for key in ("user", "recursive", "pattern", "format"):
            if self.config.get(key):
                description[key] = self.config[key]
        description.update(self._fetched.describe())
        return description


def _remote_exception(response: requests.Response) -> tuple[str, str]:
    """(exception name, message) of a WebHDFS error body; the HTTP reason when the body is not one."""
    try:
        remote = response.json()["RemoteException"]
        return str(remote.get("exception", "")), str(remote.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return "", (response.text or response.reason or "")[:300]


def _reason(error: requests.RequestException) -> str:
    """The innermost cause of a requests error ("Connection refused", "Name or service not known")."""
    cause: BaseException = error
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    return str(cause) or error.__class__.__name__
