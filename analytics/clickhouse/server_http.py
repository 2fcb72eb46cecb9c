"""The HTTP side of the embedded ClickHouse process (server.py): requests read as they arrive, checked,
answered from the chDB session pool (chdb_sessions.py) as ClickHouse's HTTP interface answers, and a server
that knows its connections so that it can stop cleanly."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from analytics.clickhouse.chdb_sessions import (
    READ_KEYWORDS,
    TRANSPORT_ARGS,
    Engine,
    EngineError,
    first_keyword,
    quote,
    split_insert,
    trailing_format,
)

logger = logging.getLogger("analytics.clickhouse.server")

USER = "default"
HEAD_BYTES = 1 << 16  # enough to hold any INSERT statement before its data
MAX_QUERY_BYTES = 64 << 20  # a query (not INSERT data) larger than this is refused
STOP_GRACE_SECONDS = 30
# ClickHouse's HTTP status for an exception code (src/Server/HTTPHandler.cpp); anything else is 500.
HTTP_STATUS = {194: 401, 516: 403, 62: 400, 27: 400, 36: 400, 457: 400, 60: 404, 81: 404, 46: 404,
               48: 501, 202: 503, 159: 408}


class _Body:
    """The request body, read as it arrives (Content-Length or chunked), never all at once unless asked."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self.left = 0 if self.chunked else int(headers.get("Content-Length") or 0)
        self.done = not self.chunked and self.left == 0
        self.size = 0

    def read(self, limit: int) -> bytes:
        """Up to `limit` bytes; b"" at the end."""
        if self.done:
            return b""
        if self.chunked and self.left == 0:
            self.left = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if self.left == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self.done = True
                return b""
        data = self.rfile.read(min(limit, self.left))
        if not data:
            raise EngineError(33, "The request body ended early. (CANNOT_READ_ALL_DATA)")
        self.left -= len(data)
        self.size += len(data)
        if self.left == 0:
            if self.chunked:
                self.rfile.readline()  # the CRLF after a chunk
            else:
                self.done = True
        return data

    def read_all(self, limit: int = MAX_QUERY_BYTES) -> bytes:
        parts, size = [], 0
        while data := self.read(1 << 20):
            parts.append(data)
            size += len(data)
            if size > limit:
                raise EngineError(202, f"The query is larger than {limit} bytes. (QUERY_IS_TOO_LARGE)")
        return b"".join(parts)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, which clickhouse-connect's connection pool relies on
    server_version = "etl-embedded-clickhouse"
    # Headers and body go out in separate writes; with Nagle's algorithm against the client's delayed ACK
    # every answer would wait ~40 ms.
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format, *args):  # http.server's own complaints (bad request lines and the like)
        logger.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        started, self.kind, self.sent, self.status, self.code = time.monotonic(), "-", 0, 0, ""
        body = _Body(self.rfile, self.headers)
        self.server.request_started(self.connection)
        try:
            self._answer(body)
        finally:
            if not body.done or self.server.stopping.is_set():
                self.close_connection = True  # unread body left in the socket, or shutting down
            self.server.request_ended(self.connection)
            logger.info("%s %s %s %.3fs in=%d out=%d%s", self.command, self.kind, self.status or "aborted",
                        time.monotonic() - started, body.size, self.sent, f" code={self.code}" if self.code else "")

    do_POST = do_GET

    def _answer(self, body: _Body) -> None:
        engine = self.server.engine
        url = urlsplit(self.path)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {"X-ClickHouse-Query-Id": args.get("query_id") or str(uuid.uuid4()),
                   "X-ClickHouse-Timezone": engine.timezone, "X-ClickHouse-Server-Display-Name": "chdb"}
        try:
            if url.path.rstrip("/") in ("", "/ping") and "query" not in args and body.done:
                return self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            self._authenticate(args)
            if self.headers.get("Content-Encoding", "identity").lower() != "identity":
                raise EngineError(48, "The embedded ClickHouse does not decompress; use compress=False. "
                                      "(NOT_IMPLEMENTED)")
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                form = BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body.read_all())
                for part in form.get_payload():
                    if part.get_filename():
                        raise EngineError(48, "The embedded ClickHouse has no external data. (NOT_IMPLEMENTED)")
                    args[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True).decode()
            head = (args["query"].encode() + b"\n" if args.get("query") else b"") + body.read(HEAD_BYTES)
            readonly = int(args.get("readonly") or 0) or (2 if self.command == "GET" else 0)  # GET never writes
            params = {k[6:]: v for k, v in args.items() if k.startswith("param_")}
            settings = {k: v for k, v in args.items() if k not in TRANSPORT_ARGS and not k.startswith("param_")}
            insert = split_insert(head)
            sql = None if insert else (head + body.read_all()).decode()
            self.kind = "INSERT" if insert else first_keyword(sql) or "-"
            if readonly and (insert or self.kind not in READ_KEYWORDS):
                get = (" For queries over HTTP, method GET implies readonly. You should use method POST for "
                       "modifying queries.") if self.command == "GET" else ""
                raise EngineError(164, f"{USER}: Cannot execute query in readonly mode.{get} (READONLY)")
            if insert:
                self._insert(insert, body, args.get("database") or "default", settings, headers)
                return
            with engine.session() as session:
                session.prepare(args.get("database") or "default", settings)
                self._query(session, sql, args, params, headers)
        except Exception as exc:
            if not isinstance(exc, EngineError):
                if isinstance(exc, OSError) and self.sent:
                    return  # the client went away mid-answer
                logger.exception("request failed")
                exc = EngineError(1001, f"{exc.__class__.__name__} in the embedded ClickHouse. (STD_EXCEPTION)")
            if self.status:  # the answer has started: cut it off so the client sees an incomplete response
                self.close_connection = True
                return
            self.code = exc.code
            headers.update({"X-ClickHouse-Exception-Code": str(exc.code), "Content-Type": "text/plain; charset=UTF-8"})
            self._send(HTTP_STATUS.get(exc.code, 500), f"{exc} (version {engine.version})\n".encode(), headers)

    def _authenticate(self, args: dict[str, str]) -> None:
        user, password = args.get("user"), args.get("password")
        if self.headers.get("X-ClickHouse-User") is not None:
            user, password = self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
        elif self.headers.get("Authorization", "").startswith("Basic "):
            try:
                user, _, password = base64.b64decode(self.headers["Authorization"][6:]).decode().partition(":")
            except ValueError:
                user = password = None
        user = user or USER
        ok = user == USER and hmac.compare_digest((password or "").encode(), self.server.password.encode())
        if not ok:
            raise EngineError(516, f"{user}: Authentication failed: password is incorrect, or there is no user "
                                   f"with such name. (AUTHENTICATION_FAILED)")

    def _insert(self, insert: tuple[str, str, bytes], body: _Body, database: str, settings: dict[str, str],
                headers: dict[str, str]) -> None:
        statement, fmt, data = insert
        engine = self.server.engine
        fd, spool = tempfile.mkstemp(dir=engine.spool_dir, suffix=".data")
        try:
            # The data goes to disk as it arrives, never whole in memory, and before a chDB connection is taken:
            # a slow upload keeps none from other requests.
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                while data := body.read(1 << 20):
                    out.write(data)
            with engine.session() as session:
                session.prepare(database, settings)
                # FROM INFILE parses with the table's own column types, as a server parses inline data.
                result = session.run(f"{statement} FROM INFILE {quote(spool)} FORMAT {fmt}")
        finally:
            os.unlink(spool)
        headers["X-ClickHouse-Summary"] = _summary(result)
        self._send(200, b"", headers)

    def _query(self, session, sql: str, args: dict, params: dict, headers: dict[str, str]) -> None:
        out_fmt = args.get("default_format") or "TabSeparated"
        match = trailing_format(sql, self.server.engine.formats)
        if match:
            sql, out_fmt = sql[: match.start()], match.group(1)
        # Only result-producing statements announce a format, as on a server: clickhouse-connect's command()
        # then returns "" for an empty result rather than a summary.
        if match or self.kind in READ_KEYWORDS:
            text = out_fmt.startswith(("TabSeparated", "TSV", "CSV", "JSON", "Pretty", "Values"))
            headers.update({"X-ClickHouse-Format": out_fmt,
                            "Content-Type": "text/plain; charset=UTF-8" if text else "application/octet-stream"})
        stream = session.stream(sql, out_fmt, params) if self.kind in ("SELECT", "WITH") else None
        if stream is None:
            result = session.run(sql, out_fmt, params)
            headers["X-ClickHouse-Summary"] = _summary(result)
            return self._send(200, result.bytes() or b"", headers)
        try:
            self._send_chunked(stream, headers)
        finally:
            stream.close()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._start(status, {**headers, "Content-Length": str(len(body))})
        self.wfile.write(body)
        self.sent += len(body)

    def _send_chunked(self, chunks, headers: dict[str, str]) -> None:
        self._start(200, {**headers, "Transfer-Encoding": "chunked"})
        for chunk in chunks:
            if chunk:
                self.wfile.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                self.sent += len(chunk)
        self.wfile.write(b"0\r\n\r\n")

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


def _summary(result) -> str:
    summary = {"read_rows": result.rows_read(), "read_bytes": result.bytes_read(),
               "written_rows": result.rows_written(), "written_bytes": result.bytes_written(),
               "total_rows_to_read": result.rows_read(), "result_rows": 0, "result_bytes": result.size(),
               "elapsed_ns": int(result.elapsed() * 1e9)}
    return json.dumps({k: str(v) for k, v in summary.items()}, separators=(",", ":"))


class Server(ThreadingHTTPServer):
    """The HTTP server, its engine, and the connections it has open (to stop them cleanly)."""

    daemon_threads = True  # a connection still busy after the grace period must not keep the process alive
    allow_reuse_address = True

    def __init__(self, data_dir: str, host: str, port: int, password: str):
        self.engine = Engine(data_dir)
        self.password = password
        self.stopping = threading.Event()
        self._connections: dict[socket.socket, bool] = {}  # socket -> a request is in progress
        self._changed = threading.Condition()
        try:
            super().__init__((host, port), Handler)
        except BaseException:
            self.engine.close()
            raise

    @property
    def port(self) -> int:
        return self.server_address[1]

    def process_request(self, request, client_address):
        with self._changed:
            self._connections[request] = False
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._changed:
            self._connections.pop(request, None)
            self._changed.notify_all()
        super().shutdown_request(request)

    def request_started(self, connection) -> None:
        with self._changed:
            self._connections[connection] = True

    def request_ended(self, connection) -> None:
        with self._changed:
            self._connections[connection] = False
            self._changed.notify_all()

    def handle_error(self, request, client_address):
        # A client dropping its connection is not news; the traceback of anything else goes to the debug log.
        logger.debug("connection error", exc_info=True)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, let requests in progress finish for `grace` seconds, cut off the rest, close chDB.
        Call it from another thread than the one in serve_forever()."""
        self.stopping.set()
        self.shutdown()
        self.socket.close()
        deadline = time.monotonic() + grace
        with self._changed:
            while True:
                for sock, busy in list(self._connections.items()):
                    if not busy or time.monotonic() >= deadline:
                        _close_socket(sock)  # an idle keep-alive connection, or past the grace period
                if not self._connections or time.monotonic() >= deadline:
                    break
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
        if self.engine.busy:
            logger.warning("stopping with %d request(s) still running in chDB", self.engine.busy)
        self.engine.close()


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
