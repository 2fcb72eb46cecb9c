"""A minimal ClickHouse-HTTP-compatible server backed by chDB, for tests only.

No ClickHouse server can be installed where the test suite runs, so the "server" backend is tested by
pointing the real clickhouse-connect HTTP client at this bridge, which runs every request on one chDB
session (chDB is one engine per process)::

    python tests/support/clickhouse_http_bridge.py --path DIR --port 0   # prints "LISTENING <port>"

or in-process with ``serve(path, port) -> (server, thread)`` (only once per process, for the same reason).

What it does, as ClickHouse's HTTP interface does: the query is the ``query`` URL argument followed by the
POST body (or a multipart form's ``query`` field); a trailing ``FORMAT X`` picks the output format
(TabSeparated by default); ``param_<name>`` arguments bind ``{name:Type}`` parameters; ``database`` selects
the database; other arguments are settings, applied with ``SET`` and undone for the next request;
``INSERT ... FORMAT X`` followed by data (chunked or not) is loaded through a temporary file; errors are
HTTP 500 with ``X-ClickHouse-Exception-Code`` and ClickHouse's message; ``/ping`` answers ``Ok.``.

Limits: no authentication at all (Basic auth and X-ClickHouse-User/Key are accepted and ignored); no
compression (clients must use ``compress=False``; gzip/deflate request bodies are the only exception);
requests are serialized on the one engine; no sessions, so a client's own ``SET``/``USE`` statements
leak into later requests; ``readonly`` is enforced by statement keyword (SELECT, WITH, SHOW, DESCRIBE,
EXISTS, EXPLAIN are reads), GET requests being readonly as on a real server; no external data, no
progress headers, no streaming (whole request and result are held in memory).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import tempfile
import threading
import uuid
import zlib
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# URL arguments that are part of the HTTP protocol or meaningless here, not settings to apply.
TRANSPORT_ARGS = {
    "query", "database", "user", "password", "quota_key", "query_id", "session_id", "session_timeout",
    "session_check", "compress", "decompress", "buffer_size", "wait_end_of_query", "client_protocol_version",
    "role", "default_format", "readonly", "enable_http_compression", "http_zlib_compression_level",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close", "http_response_buffer_size",
}
READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"}
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|#[^\n]*|/\*.*?\*/|\()*", re.S)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)[\s;]*\Z", re.I)
# One SQL token: whitespace, comment, quoted string/identifier, word, or any other single byte.
_TOKEN = re.compile(rb"""\s+|--[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|\w+|.""", re.S)
# ClickHouse's rule: inline data starts after spaces/tabs and at most one line break after the format name.
_FORMAT_NAME = re.compile(rb"\s*(\w+)[ \t\f]*\r?\n?")
_CODE = re.compile(r"Code: (\d+)\.")


class ClickHouseError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"Code: {code}. DB::Exception: {message}")
        self.code = code


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _backquote(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _is_read(sql: str) -> bool:
    rest = sql[_LEADING_NOISE.match(sql).end():]
    return (re.match(r"\w*", rest).group().upper()) in READ_KEYWORDS


def _split_insert(text: bytes):
    """For ``INSERT ... FORMAT X<data>`` return (statement before FORMAT, X, data); else None."""
    pos, depth, first = 0, 0, True
    while pos < len(text):
        tok = _TOKEN.match(text, pos).group()
        pos += len(tok)
        if tok in (b"(", b")"):
            depth += 1 if tok == b"(" else -1
        if not (tok[:1].isalnum() or tok[:1] == b"_"):
            continue
        word = tok.upper()
        if first and word != b"INSERT" or word in (b"VALUES", b"SELECT", b"WITH", b"INFILE"):
            return None  # not an insert, or ClickHouse can parse the whole text itself
        first = False
        if word == b"FORMAT" and depth == 0:
            m = _FORMAT_NAME.match(text, pos)
            if m:
                return text[: pos - len(tok)].decode(), m.group(1).decode(), text[m.end():]
    return None


class Engine:
    """The one chDB session, plus the settings this bridge has SET on it (to undo them per request)."""

    def __init__(self, path: str):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()
        self.baseline: dict[str, str] = {}  # setting -> SQL literal restoring its value before we touched it
        self.current: dict[str, str] = {}  # setting -> SQL literal currently SET by us
        self.version, self.timezone = self._query("SELECT version(), timezone()").bytes().decode().split()

    def _query(self, sql: str, fmt: str = "TabSeparated", params: dict | None = None):
        try:
            return self.session.query(sql, fmt, params=params or {})
        except Exception as exc:
            text = str(exc)
            match = _CODE.search(text)
            raise ClickHouseError(int(match.group(1)) if match else 1000, text) from exc

    def _apply_settings(self, wanted: dict[str, str]) -> None:
        # Real ClickHouse scopes URL settings to one request; the chDB session keeps what is SET, so
        # move from what the previous request set to what this one wants, touching only differences.
        for name in sorted(set(self.current) | set(wanted)):
            if not re.fullmatch(r"\w+", name):
                raise ClickHouseError(115, f"Unknown setting '{name}'. (UNKNOWN_SETTING)")
            if name not in self.baseline:
                row = self._query(f"SELECT value, changed FROM system.settings WHERE name = {_quote(name)}",
                                  "JSONEachRow").bytes()
                row = json.loads(row) if row.strip() else {"changed": 0}
                self.baseline[name] = self.current[name] = _quote(row["value"]) if row["changed"] else "DEFAULT"
            target = _quote(wanted[name]) if name in wanted else self.baseline[name]
            if self.current[name] != target:
                self._query(f"SET {name} = {target}")
                self.current[name] = target

    def execute(self, text: bytes, args: dict[str, str], readonly: int, via_get: bool = False):
        """Run one request's query; returns (body, output format or None, summary dict)."""
        params = {k[6:]: v for k, v in args.items() if k.startswith("param_")}
        settings = {k: v for k, v in args.items() if k not in TRANSPORT_ARGS and not k.startswith("param_")}
        insert, tmp = _split_insert(text), None
        if insert:
            head, fmt, data = insert
            fd, tmp = tempfile.mkstemp(suffix=".bin", prefix="chdb-bridge-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            sql, out_fmt, result_fmt = f"{head} SELECT * FROM file({_quote(tmp)}, {_quote(fmt)})", "TabSeparated", None
        else:
            sql = text.decode()
            match = _TRAILING_FORMAT.search(sql)
            if match:
                sql, out_fmt = sql[: match.start()], match.group(1)
            else:
                out_fmt = args.get("default_format") or "TabSeparated"
            # As on a real server, only result-producing statements announce a format (clickhouse-connect's
            # command() returns "" rather than a summary for those).
            result_fmt = out_fmt if match or _is_read(sql) else None
        try:
            if readonly and (insert or not _is_read(sql)):
                why = " For queries over HTTP, method GET implies readonly. You should use method POST for " \
                      "modifying queries." if via_get else ""
                raise ClickHouseError(164, f"{args.get('user') or 'default'}: Cannot execute query in readonly "
                                           f"mode.{why} (READONLY)")
            with self.lock:
                self._query(f"USE {_backquote(args.get('database') or 'default')}")
                self._apply_settings(settings)
                result = self._query(sql, out_fmt, params)
        finally:
            if tmp:
                os.unlink(tmp)
        body = result.bytes() or b""
        summary = {"read_rows": result.rows_read(), "read_bytes": result.bytes_read(),
                   "written_rows": result.rows_written(), "written_bytes": result.bytes_written(),
                   "total_rows_to_read": result.rows_read(), "result_rows": 0, "result_bytes": len(body),
                   "elapsed_ns": int(result.elapsed() * 1e9)}
        return body, result_fmt, {k: str(v) for k, v in summary.items()}

    def close(self) -> None:
        with self.lock:
            self.session.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's connection pool expects
    server_version = "chdb-http-bridge"

    def log_message(self, format, *args):  # noqa: A002 - the tests' output is not the place for access logs
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "identity").lower()
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding not in ("", "identity"):
            raise ClickHouseError(48, f"The chDB HTTP bridge cannot decode Content-Encoding {encoding}; "
                                      "use compress=False. (NOT_IMPLEMENTED)")
        return body

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        engine: Engine = self.server.engine
        url = urlsplit(self.path)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = args.get("query_id") or str(uuid.uuid4())
        base = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": engine.timezone,
                "X-ClickHouse-Server-Display-Name": "chdb-http-bridge"}
        try:
            body = self._read_body()
            if url.path.rstrip("/") in ("/ping", "") and "query" not in args and not body:
                return self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                # clickhouse-connect sends long bound parameters as form fields instead of URL arguments.
                form = BytesParser().parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
                for part in form.iter_parts():
                    if part.get_filename():
                        raise ClickHouseError(48, "The chDB HTTP bridge does not support external data. "
                                                  "(NOT_IMPLEMENTED)")
                    args[part.get_param("name", header="content-disposition")] = \
                        part.get_payload(decode=True).decode()
                body = b""
            query = args.get("query", "")
            text = (query.encode() + b"\n" if query else b"") + body
            readonly = int(args.get("readonly") or 0)
            if self.command == "GET":
                readonly = readonly or 2  # as on a real server: GET never modifies
            out, fmt, summary = engine.execute(text, args, readonly, self.command == "GET")
            headers = dict(base, **{"X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":"))})
            if fmt:
                text_fmt = fmt.startswith(("TabSeparated", "TSV", "CSV", "JSON", "Pretty", "Values"))
                headers["X-ClickHouse-Format"] = fmt
                headers["Content-Type"] = "text/plain; charset=UTF-8" if text_fmt else "application/octet-stream"
            self._send(200, out, headers)
        except Exception as exc:
            code = exc.code if isinstance(exc, ClickHouseError) else 1000
            message = str(exc) if isinstance(exc, ClickHouseError) else f"Code: 1000. DB::Exception: {exc!r}"
            message = message[message.find("Code: "):] if "Code: " in message else message
            headers = dict(base, **{"X-ClickHouse-Exception-Code": str(code),
                                    "Content-Type": "text/plain; charset=UTF-8"})
            self._send(500, f"{message} (version {engine.version})\n".encode(), headers)


def _make_server(path: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.engine = Engine(path)
    close = server.server_close
    server.server_close = lambda: (close(), server.engine.close())
    return server


def serve(path: str, port: int = 0):
    """Start the bridge on 127.0.0.1:port in a daemon thread; returns (server, thread).

    ``server.shutdown(); server.server_close()`` stops it and closes the chDB session.
    """
    server = _make_server(path, port)
    thread = threading.Thread(target=server.serve_forever, name="clickhouse-http-bridge", daemon=True)
    thread.start()
    return server, thread


def _exit(signum, frame):
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    opts = parser.parse_args()
    server = _make_server(opts.path, opts.port)
    signal.signal(signal.SIGTERM, _exit)  # raised in serve_forever's select loop, so the finally runs
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
