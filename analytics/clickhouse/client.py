"""One entry point to the ClickHouse target: clickhouse-connect over HTTP(S), always with bound ``{name:Type}``
parameters, to a ClickHouse server (``TARGET_CLICKHOUSE_HOST``) or to the embedded ClickHouse process
(analytics/clickhouse/server.py), which every process of the machine shares like a server.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver import options as driver_options
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

logger = logging.getLogger(__name__)

# clickhouse-connect looks for pandas on every row INSERT (it accepts DataFrames there) and imports it when it
# is installed, as it usually is where data teams work: 0.2 s in each process's first insert (a run's, or the
# audit record of its start). Nothing here hands it a DataFrame, so it is told there is none to look for.
driver_options.pd = None
driver_options.pd_time_test = None

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ClickHouseError(Exception):
    """A failure talking to ClickHouse, with a message fit to show a user (no traceback, no secrets).

    `transient`: worth trying again later (the server was unreachable, busy or out of memory), as opposed to
    a problem of the data, the SQL or the schema that a retry would only repeat.
    """

    def __init__(self, message: str, *, code: int | None = None, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.transient = transient


# ClickHouse error codes that say "not now" rather than "not this": timeouts, network, memory, overload,
# a replica that is read-only for a while, Keeper trouble.
TRANSIENT_CODES = frozenset({
    3,    # UNEXPECTED_END_OF_FILE (a connection cut mid-answer)
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    425,  # SYSTEM_ERROR
    999,  # KEEPER_EXCEPTION
})


def quote_identifier(name: str) -> str:
    """Backquote an identifier for ClickHouse SQL; values are never formatted in, only names."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _error_code(exc: Exception) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    match = re.search(r"Code: (\d+)", str(exc))
    return int(match.group(1)) if match else None


# What urllib3/requests say when the server could not be talked to at all, and the words a person needs.
_UNREACHABLE = (
    (re.compile(r"Connection refused", re.I), gettext_noop("connection refused")),
    (re.compile(r"timed? ?out", re.I), gettext_noop("timed out")),
    (re.compile(r"Name or service not known|Failed to resolve|nodename nor servname", re.I),
     gettext_noop("host name not found")),
    (re.compile(r"RemoteDisconnected|Connection aborted|Connection reset|BrokenPipe|IncompleteRead|"
                r"ProtocolError|Max retries exceeded", re.I), gettext_noop("connection lost")),
)


def _unreachable_reason(exc: Exception) -> str | None:
    """Why the server could not be reached, or None when it answered (with an error of its own)."""
    text = str(exc)
    for pattern, reason in _UNREACHABLE:
        if pattern.search(text):
            return reason
    return None


def _clean_message(exc: Exception) -> str:
    """The first line of ClickHouse's message, without the stack trace some versions append."""
    text = str(exc).strip()
    text = re.sub(r"\s*Stack trace.*", "", text, flags=re.S)
    return text.splitlines()[0] if text else exc.__class__.__name__


class ClickHouseTarget:
    """The target database. Create it with `get_target()`; it is cheap to call and cached per process."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.database: str = config["DATABASE"]
        if not _IDENTIFIER.match(self.database):
            raise ClickHouseError(_("Invalid ClickHouse database name: %(name)s") % {"name": self.database})
        # A ClickHouse cluster name (TARGET_CLICKHOUSE_CLUSTER): DDL then runs ON CLUSTER, see cluster.py.
        self.cluster: str = config.get("CLUSTER") or ""
        if self.cluster:
            from analytics.clickhouse.cluster import check_cluster_name

            check_cluster_name(self.cluster)
        self._lock = threading.Lock()
        self._clients: dict[str | None, Client] = {}

    # --- connections ------------------------------------------------------------------------------
    def _new_client(self, database: str | None) -> Client:
        cfg = self.config
        return clickhouse_connect.get_client(
            host=cfg["HOST"],
            port=cfg["PORT"],
            username=cfg["USER"],
            password=self._password(),
            database=database or "",
            secure=cfg["SECURE"],
            compress=cfg["COMPRESS"],
            connect_timeout=cfg["CONNECT_TIMEOUT"],
            send_receive_timeout=cfg["SEND_RECEIVE_TIMEOUT"],
            autogenerate_session_id=False,
            # On a cluster an INSERT into a Distributed table returns only once the shards hold the rows, so
            # a count right after a load sees them and a failed insert fails here, not later in the background.
            settings={"distributed_foreground_insert": 1} if self.cluster else None,
        )

    def _password(self) -> str:
        # The embedded process writes its password file when it first starts, possibly after settings were read.
        path = self.config.get("PASSWORD_FILE")
        if path and not self.config["PASSWORD"] and Path(path).exists():
            return Path(path).read_text().strip()
        return self.config["PASSWORD"]

    @contextmanager
    def connection(self, *, database: bool = True, client: Client | None = None) -> Iterator[Client]:
        """A clickhouse-connect client for the duration of the block (one per database, kept for the process;
        or `client`, one of the caller's own from `own_client`), its driver errors raised as ClickHouseError."""
        try:
            yield client or self._client(self.database if database else None)
        except DriverError as exc:
            raise self._wrap(exc) from exc

    def _client(self, database: str | None) -> Client:
        with self._lock:
            client = self._clients.get(database)
            if client is None:
                client = self._clients[database] = self._new_client(database)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _wrap(self, exc: Exception) -> ClickHouseError:
        code = _error_code(exc)
        if code == 81:  # UNKNOWN_DATABASE
            return ClickHouseError(
                _("ClickHouse database %(name)s does not exist yet: run `python manage.py migrate_all`.")
                % {"name": self.database},
                code=code,
            )
        reason = None if code is not None else _unreachable_reason(exc)
        if reason is not None:
            # The driver's own text holds the whole request URL, the query and its data: not for people.
            return ClickHouseError(
                _("ClickHouse at %(where)s could not be reached (%(reason)s).")
                % {"where": self.describe(), "reason": _(reason)}, transient=True)
        return ClickHouseError(_clean_message(exc), code=code, transient=code in TRANSIENT_CODES)

    # --- the API everything else uses -------------------------------------------------------------
    def query(self, sql: str, parameters: dict | None = None, *, settings: dict | None = None):
        """Run a read query; returns clickhouse-connect's QueryResult (column_names, result_rows...)."""
        with self.connection() as client:
            return client.query(sql, parameters=parameters, settings=settings)

    def rows(self, sql: str, parameters: dict | None = None) -> list[dict[str, Any]]:
        result = self.query(sql, parameters)
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def query_arrow(self, sql: str, parameters: dict | None = None):
        with self.connection() as client:
            return client.query_arrow(sql, parameters=parameters)

    def command(self, sql: str, parameters: dict | None = None, *, database: bool = True,
                settings: dict | None = None):
        with self.connection(database=database) as client:
            return client.command(sql, parameters=parameters, settings=settings)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]) -> int:
        if not rows:
            return 0
        with self.connection() as client:
            client.insert(table, rows, column_names=list(column_names))
        return len(rows)

    def insert_arrow(self, table: str, arrow_table, *, client: Client | None = None) -> int:
        """`client`: one of the caller's own (`own_client`), e.g. for a thread that inserts beside others."""
        with self.connection(client=client) as connected:
            connected.insert_arrow(table, arrow_table)
        return arrow_table.num_rows

    def own_client(self) -> Client:
        """A client not shared with the process's other users of the target; the caller closes it."""
        try:
            return self._new_client(self.database)
        except DriverError as exc:
            raise self._wrap(exc) from exc

    def database_exists(self) -> bool:
        return bool(self.command("SELECT count() FROM system.databases WHERE name = {db:String}",
                                 {"db": self.database}, database=False))

    def create_database(self) -> None:
        self.command(self.create_database_sql(), database=False)

    def create_database_sql(self) -> str:
        on_cluster = f" ON CLUSTER '{self.cluster}'" if self.cluster else ""
        return f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)}{on_cluster}"

    def drop_database(self) -> None:
        self.command(f"DROP DATABASE IF EXISTS {quote_identifier(self.database)} SYNC", database=False)

    def describe(self) -> str:
        """Where the target is, for messages and pages; never includes the password."""
        scheme = "https" if self.config["SECURE"] else "http"
        where = f"{scheme}://{self.config['HOST']}:{self.config['PORT']} / {self.database}"
        if self.config.get("EMBEDDED"):
            where = f"{where} (embedded)"
        return f"{where} (cluster {self.cluster})" if self.cluster else where


_targets: dict[tuple, ClickHouseTarget] = {}
_targets_lock = threading.Lock()


def get_target() -> ClickHouseTarget:
    """The target for the current settings, one per process and configuration.

    Keyed by process id too: a client created before a fork (Celery prefork) must not be shared.
    """
    config = settings.TARGET_CLICKHOUSE
    key = (os.getpid(), tuple(sorted((k, str(v)) for k, v in config.items())))
    with _targets_lock:
        target = _targets.get(key)
        if target is None:
            target = _targets[key] = ClickHouseTarget(dict(config))
        return target
