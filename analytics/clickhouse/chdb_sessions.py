"""chDB behind the embedded ClickHouse process (server.py): a pool of connections to one data directory, and
the few ClickHouse HTTP rules a connection needs (URL settings scoped to a request, readonly, INSERT data).

chDB 4.4 opens one engine per process and data path; connections to it (``chdb.connect(path)``) run queries
at the same time, while one connection serialises its own. So every request takes a connection of its own from
the pool, and a dashboard query never waits behind a load on another connection. Each connection keeps its
own current database and settings, which a request changes and the next request on it moves away from again.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import chdb
import pyarrow as pa

# URL arguments that belong to the HTTP protocol (or mean nothing here) rather than being settings to SET.
TRANSPORT_ARGS = set("""query database user password quota_key query_id session_id session_timeout session_check
    compress decompress buffer_size wait_end_of_query client_protocol_version role default_format readonly
    enable_http_compression http_zlib_compression_level send_progress_in_http_headers http_response_buffer_size
    http_headers_progress_interval_ms cancel_http_readonly_queries_on_client_close""".split())
READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"}
# Formats whose streamed chunks, put one after another, are the whole result (checked on chDB 4.4); the Arrow
# formats are streamed as ArrowStream and re-framed (one schema, one footer) by pyarrow. Others come whole.
CONCATENABLE = {"native", "rowbinary", "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv", "jsoneachrow",
                "jsoncompacteachrow", "jsonstringseachrow"}
ARROW = {"arrow": pa.ipc.new_file, "arrowstream": pa.ipc.new_stream}
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|#[^\n]*|/\*.*?\*/|\()*", re.S)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)[\s;]*\Z", re.I)
# One SQL token: whitespace, comment, quoted string or identifier, word, or any other single byte.
_TOKEN = re.compile(rb"""\s+|--[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|\w+|.""", re.S)
# ClickHouse's rule: inline data starts after spaces/tabs and at most one line break after the format name.
_FORMAT_NAME = re.compile(rb"\s*(\w+)[ \t\f]*\r?\n?")
_CODE = re.compile(r"Code: (\d+)\.")


class EngineError(Exception):
    """An error shaped as ClickHouse reports it: "Code: N. DB::Exception: ... (NAME)", no stack trace."""

    def __init__(self, code: int, message: str):
        message = re.sub(r"\s*Stack trace.*", "", message, flags=re.S).strip()
        super().__init__(message if message.startswith("Code: ") else f"Code: {code}. DB::Exception: {message}")
        self.code = code

    @classmethod
    def from_chdb(cls, exc: Exception) -> EngineError:
        text = str(exc)
        code = _CODE.search(text)
        return cls(int(code.group(1)) if code else 1000, text[text.find("Code: "):] if code else text)


def quote(value: str, mark: str = "'") -> str:
    return mark + value.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


def first_keyword(sql: str) -> str:
    return re.match(r"\w*", sql[_LEADING_NOISE.match(sql).end():]).group().upper()


def trailing_format(sql: str, formats: set[str]) -> re.Match | None:
    """The match of a trailing ``FORMAT X`` naming a known format (so `ORDER BY format DESC` stays intact)."""
    match = _TRAILING_FORMAT.search(sql)
    return match if match and match.group(1).lower() in formats else None


def split_insert(text: bytes) -> tuple[str, str, bytes] | None:
    """For ``INSERT ... FORMAT X<data>`` return (statement before FORMAT, X, the data that follows), else None."""
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


class Session:
    """One chDB connection, its current database, and the settings requests have SET on it."""

    def __init__(self, path: str):
        self.conn = chdb.connect(path)
        self.database = "default"
        self.baseline: dict[str, str] = {}  # setting -> SQL literal for its value before any request SET it
        self.current: dict[str, str] = {}  # setting -> SQL literal last SET

    def run(self, sql: str, fmt: str = "TabSeparated", params: dict | None = None):
        try:
            return self.conn.query(sql, fmt, params=params or {})
        except Exception as exc:
            raise EngineError.from_chdb(exc) from None

    def prepare(self, database: str, wanted: dict[str, str]) -> None:
        """Make the connection look fresh but for this request's database and settings."""
        if database != self.database:
            self.run(f"USE {quote(database, '`')}")
            self.database = database
        for name in sorted(set(self.current) | set(wanted)):
            if not re.fullmatch(r"\w+", name):
                raise EngineError(115, f"Unknown setting '{name}'. (UNKNOWN_SETTING)")
            if name not in self.baseline:
                sql = f"SELECT value, changed FROM system.settings WHERE name = {quote(name)}"
                row = json.loads(self.run(sql, "JSONEachRow").bytes() or b'{"changed": 0}')
                self.baseline[name] = self.current[name] = quote(row["value"]) if row["changed"] else "DEFAULT"
            target = quote(wanted[name]) if name in wanted else self.baseline[name]
            if self.current[name] != target:
                self.run(f"SET {name} = {target}")
                self.current[name] = target

    def stream(self, sql: str, fmt: str, params: dict) -> Stream | None:
        """The result in chunks, the first one already fetched (so a failing query raises here, before a
        response has started); None when chDB cannot stream this statement or format."""
        lower = fmt.lower()
        if lower not in CONCATENABLE and lower not in ARROW:
            return None
        try:
            result = self.conn.send_query(sql, "ArrowStream" if lower in ARROW else fmt, params=params)
            first = result.fetch()
        except Exception as exc:
            if "Streaming query is not supported" in str(exc):
                return None
            raise EngineError.from_chdb(exc) from None
        if first is None and lower in ARROW:
            return None  # an empty Arrow result still carries its schema: let the whole query produce it
        return Stream(result, first, ARROW.get(lower))

    def close(self) -> None:
        self.conn.close()


class Stream:
    """A result streamed from chDB: iterate once for its chunks; close() (always, when done) stops the query
    if the client went away half-way, so the connection can take the next one."""

    def __init__(self, result, first, arrow_writer=None):
        self._result, self._first, self._arrow_writer = result, first, arrow_writer

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._chunks()
        return _arrow_reframed(chunks, self._arrow_writer) if self._arrow_writer else chunks

    def _chunks(self) -> Iterator[bytes]:
        chunk = self._first
        try:
            while chunk is not None:
                yield chunk.bytes()
                chunk = self._result.fetch()
        except Exception as exc:
            raise EngineError.from_chdb(exc) from None

    def close(self) -> None:
        self._result.close()  # a no-op once the result is exhausted


def _arrow_reframed(chunks: Iterator[bytes], new_writer) -> Iterator[bytes]:
    """Each streamed ArrowStream chunk is a stream of its own; write their batches as one file or stream."""
    out = _Drain()
    writer = None
    for chunk in chunks:
        reader = pa.ipc.open_stream(chunk)
        if writer is None:
            writer = new_writer(pa.PythonFile(out, mode="w"), reader.schema)
        for batch in reader:
            writer.write_batch(batch)
        yield out.take()
    writer.close()
    yield out.take()


class _Drain:
    """A file-like sink that hands back what was written since the last take()."""

    closed = False

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


class Engine:
    """The data directory, its pool of sessions, and what clients ask about the server."""

    def __init__(self, path: str, spool_dir: str | None = None):
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        # INSERT data is written here before chDB reads it; beside the data, not in /tmp (often in memory).
        self.spool_dir = spool_dir or os.path.join(os.path.dirname(self.path), "spool")
        os.makedirs(self.spool_dir, exist_ok=True)
        for name in os.listdir(self.spool_dir):  # left by a process that was killed mid-insert
            os.unlink(os.path.join(self.spool_dir, name))
        self._idle: list[Session] = []
        self._open: set[Session] = set()
        self._lock = threading.Lock()
        self.closed = False
        with self.session() as first:  # opens the engine; the pool keeps this session, so it stays open
            self.version, self.timezone = first.run("SELECT version(), timezone()").bytes().decode().split()
            self.formats = {f.lower() for f in first.run("SELECT name FROM system.formats").bytes().decode().split()}

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._lock:
            if self.closed:
                raise EngineError(1000, "The server is shutting down.")
            session = self._idle.pop() if self._idle else None
        if session is None:
            session = Session(self.path)
            with self._lock:
                self._open.add(session)
        healthy = False
        try:
            yield session
            healthy = True
        except EngineError:  # ClickHouse said no: the connection itself is fine
            healthy = True
            raise
        finally:
            with self._lock:
                if healthy and not self.closed:
                    self._idle.append(session)
                    session = None
                else:
                    self._open.discard(session)
            if session is not None:  # a request that failed half-way may have left it mid-statement
                session.close()

    def close(self) -> None:
        """Close the idle sessions; a request still running closes its own when it ends."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()
            self._open.discard(session)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._open) - len(self._idle)
