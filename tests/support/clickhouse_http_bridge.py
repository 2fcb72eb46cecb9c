"""A minimal ClickHouse-HTTP-compatible server backed by chDB, for tests only.

No ClickHouse server can be installed where the test suite runs, so the "server" backend is tested by pointing
the real clickhouse-connect HTTP client at this bridge, which runs every request on one chDB session::

    python tests/support/clickhouse_http_bridge.py --path DIR --port 0   # prints "LISTENING <port>"

or in-process with ``serve(path, port) -> (server, thread)``, at most once per process (chDB is one engine per
process, which is why the subprocess is the normal use).

As ClickHouse's HTTP interface does: the query is the ``query`` URL argument followed by the POST body (or a
multipart form's fields, which clickhouse-connect uses for long parameters); a trailing ``FORMAT X`` picks the
output format (TabSeparated by default); ``param_<name>`` arguments bind ``{name:Type}`` parameters;
``database`` selects the database; other arguments are settings, SET for the request and undone after it;
``INSERT ... FORMAT X`` plus data (chunked or not) is loaded from a temporary file; errors are HTTP 500 with
``X-ClickHouse-Exception-Code`` and ClickHouse's message as body; GET ``/ping`` and ``/`` answer ``Ok.``.

Limits: NO AUTHENTICATION (Basic auth and X-ClickHouse-User/Key are accepted and never checked). No compression:
clients must use ``compress=False``. One engine, so requests are serialized. No sessions: a client's own
``SET``/``USE`` statements persist into later requests. ``readonly`` (1, 2, or implied by GET) is enforced by
the statement's first keyword (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN read; all else writes). No external
data, progress headers or streaming: request and result are held in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import uuid
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# URL arguments that belong to the HTTP protocol (or mean nothing here) rather than being settings to SET.
TRANSPORT_ARGS = set("""query database user password quota_key query_id session_id session_timeout session_check
    compress decompress buffer_size wait_end_of_query client_protocol_version role default_format readonly
    enable_http_compression http_zlib_compression_level send_progress_in_http_headers http_response_buffer_size
    http_headers_progress_interval_ms cancel_http_readonly_queries_on_client_close""".split())
READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"}
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|#[^\n]*|/\*.*?\*/|\()*", re.S)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)[\s;]*\Z", re.I)
# One SQL token: whitespace, comment, quoted string or identifier, word, or any other single byte.
_TOKEN = re.compile(rb"""\s+|--[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|\w+|.""", re.S)
# ClickHouse's rule: inline data starts after spaces/tabs and at most one line break after the format name.
_FORMAT_NAME = re.compile(rb"\s*(\w+)[ \t\f]*\r?\n?")


class ClickHouseError(Exception):
    """An error shaped as ClickHouse reports it: "Code: N. DB::Exception: ... (NAME)"."""

    def __init__(self, code: int, message: str):
        super().__init__(message if message.startswith("Code: ") else f"Code: {code}. DB::Exception: {message}")
        self.code = code


def _quote(value: str, quote: str = "'") -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _is_read(sql: str) -> bool:
    return re.match(r"\w*", sql[_LEADING_NOISE.match(sql).end():]).group().upper() in READ_KEYWORDS


def _split_insert(text: bytes):
    """For ``INSERT ... FORMAT X<data>`` return (statement before FORMAT, X, data), else None."""
    if not re.match(rb"(?:\s+|--[^\n]*|/\*.*?\*/)*INSERT\b", text[:4096], re.I | re.S):
        return None
    pos, depth = 0, 0
    while pos < len(text):
        tok = _TOKEN.match(text, pos).group()
        pos += len(tok)
        depth += {b"(": 1, b")": -1}.get(tok, 0)
        word = tok.upper()
        if word in (b"VALUES", b"SELECT", b"WITH", b"INFILE"):
            return None  # ClickHouse parses these whole: inline VALUES, INSERT ... SELECT, FROM INFILE
        if word == b"FORMAT" and depth == 0 and (m := _FORMAT_NAME.match(text, pos)):
            return text[: pos - len(tok)].decode(), m.group(1).decode(), text[m.end():]
    return None


class Engine:
    """The one chDB session, and the settings this bridge has SET on it, to undo them for the next request."""

    def __init__(self, path: str):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()
        self.baseline: dict[str, str] = {}  # setting -> SQL literal for its value before the bridge touched it
        self.current: dict[str, str] = {}  # setting -> SQL literal the bridge last SET
        self.version, self.timezone = self._query("SELECT version(), timezone()").bytes().decode().split()
        self.formats = {f.lower() for f in self._query("SELECT name FROM system.formats").bytes().decode().split()}

    def _query(self, sql: str, fmt: str = "TabSeparated", params: dict | None = None):
        try:
            return self.session.query(sql, fmt, params=params or {})
        except Exception as exc:
            text = str(exc)
            code = re.search(r"Code: (\d+)\.", text)
            raise ClickHouseError(int(code.group(1)) if code else 1000, text[text.find("Code: "):]) from exc

    def _apply_settings(self, wanted: dict[str, str]) -> None:
        # A real server scopes URL settings to the request; the chDB session keeps whatever is SET. So move from
        # what the previous request SET to what this one wants, issuing SET only for differences.
        for name in sorted(set(self.current) | set(wanted)):
            if not re.fullmatch(r"\w+", name):
                raise ClickHouseError(115, f"Unknown setting '{name}'. (UNKNOWN_SETTING)")
            if name not in self.baseline:
                sql = f"SELECT value, changed FROM system.settings WHERE name = {_quote(name)}"
                row = json.loads(self._query(sql, "JSONEachRow").bytes() or b'{"changed": 0}')
                self.baseline[name] = self.current[name] = _quote(row["value"]) if row["changed"] else "DEFAULT"
            target = _quote(wanted[name]) if name in wanted else self.baseline[name]
            if self.current[name] != target:
                self._query(f"SET {name} = {target}")
                self.current[name] = target

    def execute(self, text: bytes, args: dict[str, str], readonly: int, via_get: bool = False):
        """Run one request's query; returns (body, output format if the statement has a result, summary)."""
        params = {k[6:]: v for k, v in args.items() if k.startswith("param_")}
        settings = {k: v for k, v in args.items() if k not in TRANSPORT_ARGS and not k.startswith("param_")}
        insert, tmp, result_fmt = _split_insert(text), None, None
        if insert:
            head, fmt, data = insert
            fd, tmp = tempfile.mkstemp(suffix=".bin", prefix="chdb-bridge-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            sql, out_fmt = f"{head} SELECT * FROM file({_quote(tmp)}, {_quote(fmt)})", "TabSeparated"
        else:
            sql, out_fmt = text.decode(), args.get("default_format") or "TabSeparated"
            match = _TRAILING_FORMAT.search(sql)
            if match and match.group(1).lower() in self.formats:  # so `ORDER BY format DESC` stays intact
                sql, out_fmt = sql[: match.start()], match.group(1)
            # Only result-producing statements announce a format, as on a real server: clickhouse-connect's
            # command() then returns "" for an empty result rather than a QuerySummary.
            result_fmt = out_fmt if match or _is_read(sql) else None
        try:
            if readonly and (insert or not _is_read(sql)):
                get = " For queries over HTTP, method GET implies readonly. You should use method POST for " \
                      "modifying queries." if via_get else ""
                raise ClickHouseError(164, f"{args.get('user') or 'default'}: Cannot execute query in "
                                           f"readonly mode.{get} (READONLY)")
            with self.lock:
                self._query(f"USE {_quote(args.get('database') or 'default', '`')}")
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
    protocol_version = "HTTP/1.1"  # keep-alive, which clickhouse-connect's connection pool relies on
    server_version = "chdb-http-bridge"
    # Headers and body go out in separate writes; with Nagle's algorithm against the client's delayed ACK
    # every answer waited ~40 ms, a latency no ClickHouse server has.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # the test output is no place for an access log
        pass

    def _read_body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        engine: Engine = self.server.engine
        url = urlsplit(self.path)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {"X-ClickHouse-Query-Id": args.get("query_id") or str(uuid.uuid4()),
                   "X-ClickHouse-Timezone": engine.timezone, "X-ClickHouse-Server-Display-Name": "chdb-http-bridge"}
        try:
            body = self._read_body()
            if url.path.rstrip("/") in ("", "/ping") and "query" not in args and not body:
                return self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            if self.headers.get("Content-Encoding", "identity").lower() != "identity":
                raise ClickHouseError(48, "The chDB HTTP bridge does not decompress; use compress=False. "
                                          "(NOT_IMPLEMENTED)")
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                form = BytesParser().parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
                for part in form.get_payload():
                    if part.get_filename():
                        raise ClickHouseError(48, "The chDB HTTP bridge has no external data. (NOT_IMPLEMENTED)")
                    args[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True).decode()
                body = b""
            text = (args["query"].encode() + b"\n" if args.get("query") else b"") + body
            readonly = int(args.get("readonly") or 0) or (2 if self.command == "GET" else 0)  # GET never writes
            out, fmt, summary = engine.execute(text, args, readonly, self.command == "GET")
            headers["X-ClickHouse-Summary"] = json.dumps(summary, separators=(",", ":"))
            if fmt:
                headers["X-ClickHouse-Format"] = fmt
                text_fmt = fmt.startswith(("TabSeparated", "TSV", "CSV", "JSON", "Pretty", "Values"))
                headers["Content-Type"] = "text/plain; charset=UTF-8" if text_fmt else "application/octet-stream"
            self._send(200, out, headers)
        except Exception as exc:
            if not isinstance(exc, ClickHouseError):
                exc = ClickHouseError(1001, f"chDB HTTP bridge: {exc!r}. (STD_EXCEPTION)")
            headers.update({"X-ClickHouse-Exception-Code": str(exc.code), "Content-Type": "text/plain; charset=UTF-8"})
            self._send(500, f"{exc} (version {engine.version})\n".encode(), headers)

    do_POST = do_GET


def _make_server(path: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    # A client dropping its connection is not news, and a parent that pipes stderr without reading it
    # (as conftest.py does) would hang the bridge once the pipe filled with such tracebacks.
    server.handle_error = lambda request, client_address: None
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    opts = parser.parse_args()
    server = _make_server(opts.path, opts.port)
    # SystemExit is raised in serve_forever's select loop, so the finally below still closes the engine.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
