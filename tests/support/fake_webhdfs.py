"""A small WebHDFS endpoint for tests: a namenode and a "datanode" in one standard-library HTTP server.

It serves the files under a local directory as if they were HDFS paths and speaks the parts of the WebHDFS
REST protocol (Hadoop 3 `/webhdfs/v1`) that a reader uses:

- `GETFILESTATUS` and `LISTSTATUS` answer with `FileStatus` / `FileStatuses` JSON as a namenode does
  (LISTSTATUS of a file lists the file itself with an empty `pathSuffix`);
- `OPEN` answers `307 Temporary Redirect` to `/datanode/webhdfs/v1/<path>?op=OPEN&offset=...` on the same
  server (or on `datanode_url` when given), which streams the bytes, honouring `offset` and `length`;
- errors are `RemoteException` JSON bodies (`FileNotFoundException` 404, `AccessControlException` 403,
  `IllegalArgumentException` 400), as Hadoop sends them; `standby=True` plays the standby namenode of an HA
  pair (`StandbyException`, 403), `anonymous_allowed=False` a cluster that refuses calls without a user (401).

Every request is recorded (`requests`: method, path, query) so tests can check what a client sent. This is a
fake: no blocks, no replication, no authentication beyond recording `user.name`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

PREFIX = "/webhdfs/v1"
DATANODE_PREFIX = "/datanode" + PREFIX


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]


@dataclass
class FakeWebHdfs:
    root: Path
    datanode_url: str | None = None  # where OPEN redirects; default: this server
    denied: set[str] = field(default_factory=set)  # HDFS paths that answer AccessControlException
    standby: bool = False  # a standby namenode of an HA pair: every call answers StandbyException (403)
    anonymous_allowed: bool = True  # false: a call without user.name or delegation answers 401
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self):
        self.root = Path(self.root)
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-webhdfs", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeWebHdfs:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWebHdfs:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def local(self, hdfs_path: str) -> Path:
        parts = [part for part in hdfs_path.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise PermissionError(hdfs_path)
        return self.root.joinpath(*parts)

    def ops(self, op: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.query.get("op", "").upper() == op]


def file_status(path: Path, suffix: str) -> dict:
    stat = path.stat()
    is_dir = path.is_dir()
    return {
        "accessTime": 0 if is_dir else int(stat.st_atime * 1000),
        "blockSize": 0 if is_dir else 134217728,
        "childrenNum": len(list(path.iterdir())) if is_dir else 0,
        "fileId": stat.st_ino,
        "group": "supergroup",
        "length": 0 if is_dir else stat.st_size,
        "modificationTime": int(stat.st_mtime * 1000),
        "owner": "hdfs",
        "pathSuffix": suffix,
        "permission": "755" if is_dir else "644",
        "replication": 0 if is_dir else 3,
        "storagePolicy": 0,
        "type": "DIRECTORY" if is_dir else "FILE",
    }


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeWebHdfs
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: pytest shows failures, not access logs
        pass

    def do_GET(self):
        split = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        path = unquote(split.path)
        fake = self.server_fake
        fake.requests.append(RecordedRequest("GET", path, query))
        if path.startswith(DATANODE_PREFIX):
            return self._datanode_open(path[len(DATANODE_PREFIX):] or "/", query)
        if not path.startswith(PREFIX):
            return self._error(404, "FileNotFoundException", f"No such endpoint: {path}")
        hdfs_path = path[len(PREFIX):] or "/"
        op = query.get("op", "").upper()
        if fake.standby:
            return self._error(403, "StandbyException",
                               "Operation category READ is not supported in state standby. Visit "
                               "https://s.apache.org/sbnn-error")
        if not fake.anonymous_allowed and "user.name" not in query and "delegation" not in query:
            return self._error(401, "SecurityException", "Authentication required")
        if any(hdfs_path == d or hdfs_path.startswith(d.rstrip("/") + "/") for d in fake.denied):
            return self._error(403, "AccessControlException",
                               f"Permission denied: user={query.get('user.name', 'dr.who')}, access=READ, "
                               f"inode=\"{hdfs_path}\":hdfs:supergroup:drwx------")
        try:
            local = fake.local(hdfs_path)
        except PermissionError:
            return self._error(400, "IllegalArgumentException", f"Invalid path name {hdfs_path}")
        if op not in ("GETFILESTATUS", "LISTSTATUS", "OPEN"):
            return self._error(400, "IllegalArgumentException", f"Invalid value for webhdfs parameter \"op\": {op}")
        if not local.exists():
            return self._error(404, "FileNotFoundException", f"File does not exist: {hdfs_path}")
        if op == "GETFILESTATUS":
            return self._json(200, {"FileStatus": file_status(local, "")})
        if op == "LISTSTATUS":
            if local.is_dir():
                statuses = [file_status(child, child.name) for child in sorted(local.iterdir())]
            else:
                statuses = [file_status(local, "")]
            return self._json(200, {"FileStatuses": {"FileStatus": statuses}})
        if local.is_dir():
            return self._error(404, "FileNotFoundException", f"Path is not a file: {hdfs_path}")
        base = fake.datanode_url or fake.url
        location = (f"{base}{DATANODE_PREFIX}{quote(hdfs_path)}?op=OPEN&namenoderpcaddress=fake:8020"
                    f"&offset={int(query.get('offset', 0))}")
        if "length" in query:
            location += f"&length={int(query['length'])}"
        self.send_response(307)
        self.send_header("Location", location)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _datanode_open(self, hdfs_path: str, query: dict[str, str]):
        local = self.server_fake.local(hdfs_path)
        if not local.is_file():
            return self._error(404, "FileNotFoundException", f"File does not exist: {hdfs_path}")
        size = local.stat().st_size
        offset = min(int(query.get("offset", 0)), size)
        length = size - offset if "length" not in query else min(int(query["length"]), size - offset)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        with open(local, "rb") as source:
            source.seek(offset)
            _copy_at_most(source, self.wfile, length)

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, exception: str, message: str) -> None:
        package = {"AccessControlException": "org.apache.hadoop.security",
                   "StandbyException": "org.apache.hadoop.ipc", "IllegalArgumentException": "java.lang",
                   "SecurityException": "java.lang"}.get(exception, "java.io")
        self._json(status, {"RemoteException": {
            "exception": exception, "javaClassName": f"{package}.{exception}", "message": message}})


def _copy_at_most(source, target, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = source.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        target.write(chunk)
        remaining -= len(chunk)


__all__ = ["FakeWebHdfs", "RecordedRequest", "file_status"]
