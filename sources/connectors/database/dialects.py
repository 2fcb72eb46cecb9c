"""What differs between PostgreSQL, MySQL/MariaDB and SQLite: quoting, connecting, streaming, types and errors."""

from __future__ import annotations

import os
import re
import sqlite3
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from etlsite.messages import _msg
from sources.connectors.base import ConnectorError
from sources.connectors.database.arrow import Column, mysql_columns, pg_columns, sqlite_type
from sources.connectors.database.config import DEFAULT_CONNECT_TIMEOUT
from sources.netpolicy import NetworkPolicyError, check_host

if TYPE_CHECKING:
    from sources.connectors.database.connector import DatabaseConnector

_NO_PASSFILE = "/nonexistent/etl-pgpass"  # never read the worker's ~/.pgpass for a user's source


class Dialect:
    """What differs between the three databases: quoting, connecting, streaming, types and error messages."""

    engine: str
    placeholder = "%s"

    def __init__(self, connector: DatabaseConnector):
        self.connector = connector
        self.settings = connector.settings

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def secrets(self) -> list[str]:
        password = self.settings.get("password")
        return [password] if password else []

    def address(self) -> str:
        """The one address to connect to, after the network policy has checked the host."""
        try:
            return check_host(self.settings["host"], self.settings["port"])[0]
        except NetworkPolicyError as error:
            raise ConnectorError(error.message, permanent=error.permanent) from None


class PostgresDialect(Dialect):
    engine = "postgresql"

    def connect(self):
        import psycopg2
        import psycopg2.extras

        s = self.settings
        options = {"host": s["host"], "hostaddr": self.address(), "port": s["port"], "user": s["user"],
                   "password": s["password"], "dbname": s["database"], "passfile": _NO_PASSFILE,
                   "connect_timeout": s.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
                   "application_name": "etl-source",
                   "options": "-c TimeZone=UTC -c idle_in_transaction_session_timeout=0 "
                              "-c default_transaction_read_only=on"}
        if "sslmode" in s:
            options["sslmode"] = s["sslmode"]
        connection = psycopg2.connect(**options)
        connection.set_session(readonly=True)
        psycopg2.extras.register_default_json(connection, loads=lambda text: text)  # JSON stays exact text
        psycopg2.extras.register_default_jsonb(connection, loads=lambda text: text)
        return connection

    def version(self, connection) -> str:
        return connection.get_parameter_status("server_version") or ""

    def stream(self, connection, sql: str, params: tuple | None, fetch_rows: int):
        cursor = connection.cursor(name="etl_source_read")
        cursor.itersize = fetch_rows
        cursor.execute(sql, params)
        return cursor

    def columns(self, cursor, rows: list) -> list[Column]:
        return pg_columns(cursor.description)

    def close(self, connection, cursor, finished: bool) -> None:
        connection.close()  # ends the read-only transaction and its cursor, read to the end or not

    def error(self, error: Exception) -> ConnectorError:
        import psycopg2

        if not isinstance(error, psycopg2.Error):
            raise error
        text = str(error)
        lowered = text.lower()
        code = error.pgcode or ""
        if not code:
            return self.connector.connect_error(_connect_problem(lowered), text)
        if code == "42P01":
            return self.connector.missing_source(text)
        if code == "3F000":
            return ConnectorError(_("The schema %(schema)s does not exist.")
                                  % {"schema": self.connector.config.get("schema")}, permanent=True)
        return self.connector.query_error(code[:2] in ("08", "53", "57", "40"), code == "25006",
                                          code == "42703", code == "42501", text)


class MySQLDialect(Dialect):
    engine = "mysql"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def connect(self):
        import pymysql

        s = self.settings
        connection = pymysql.connect(
            host=self.address(), port=s["port"], user=s["user"], password=s["password"], database=s["database"],
            connect_timeout=s.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT), charset="utf8mb4",
            autocommit=False, local_infile=False)
        with connection.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")  # TIMESTAMP columns come as UTC
            # A slow consumer (the engine loading a batch) must not make the server drop the stream.
            cursor.execute("SET SESSION net_write_timeout = 3600")
            cursor.execute("START TRANSACTION READ ONLY")
        return connection

    def version(self, connection) -> str:
        return connection.get_server_info()

    def stream(self, connection, sql: str, params: tuple | None, fetch_rows: int):
        from pymysql.cursors import SSCursor

        cursor = connection.cursor(SSCursor)
        cursor.execute(sql, params)
        return cursor

    def columns(self, cursor, rows: list) -> list[Column]:
        return mysql_columns(cursor._result.fields)  # the description lacks the UNSIGNED flag

    def close(self, connection, cursor, finished: bool) -> None:
        # Closing an unbuffered cursor would read the rest of the result; closing the connection drops it.
        if not finished and cursor is not None:
            result = getattr(cursor, "_result", None)
            if result is not None:
                result.unbuffered_active = False  # nor may the result read it when it is collected
            cursor._result = None
        try:
            connection.close()
        except Exception:  # the connection may already be gone
            pass

    def error(self, error: Exception) -> ConnectorError:
        import pymysql

        if not isinstance(error, pymysql.MySQLError):
            raise error
        code = error.args[0] if error.args and isinstance(error.args[0], int) else 0
        text = str(error.args[1]) if len(error.args) > 1 else str(error)
        if code == 1045:
            return self.connector.connect_error("auth", text)
        if code == 1044:
            return ConnectorError(_("The user %(user)s may not use the database %(database)s.")
                                  % {"user": self.settings["user"], "database": self.settings["database"]},
                                  permanent=True)
        if code == 1049:
            return self.connector.connect_error("no_database", text)
        if code in (2003, 2005, 2006, 2013) or code == 0:
            return self.connector.connect_error(_connect_problem(text.lower()), text)
        if code == 1146:
            return self.connector.missing_source(text)
        return self.connector.query_error(code >= 2000 or code in (1205, 1213), code == 1792, code == 1054,
                                          code in (1142, 1143), text)


class SQLiteDialect(Dialect):
    engine = "sqlite"
    placeholder = "?"

    def connect(self):
        from sources.fileroots import resolve_allowed_path

        path = self.settings["path"]
        real = resolve_allowed_path(path, key="path")  # judged here too: the row may have changed since saved
        if not real.is_file():
            raise ConnectorError(_msg("The SQLite file %(path)s does not exist.") % {"path": path}, permanent=True)
        uri = "file:" + _uri_path(str(real)) + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=self.settings.get("connect_timeout",
                                                                                 DEFAULT_CONNECT_TIMEOUT))
        connection.text_factory = lambda data: data.decode("utf-8", "replace")
        # A query may not open another database file (ATTACH), whatever its path.
        connection.set_authorizer(_no_attach)
        return connection

    def version(self, connection) -> str:
        return sqlite3.sqlite_version

    def stream(self, connection, sql: str, params: tuple | None, fetch_rows: int):
        return connection.execute(sql, params or ())

    def columns(self, cursor, rows: list) -> list[Column]:
        declared = self.connector.declared_types
        columns = []
        for index, item in enumerate(cursor.description):
            values = [row[index] for row in rows]
            arrow_type, convert = sqlite_type(declared.get(item[0]), values)
            columns.append(Column(item[0], arrow_type, convert))
        return columns

    def declared_types(self, connection, table: str) -> dict[str, str]:
        rows = connection.execute("SELECT name, type FROM pragma_table_info(?)", (table,)).fetchall()
        return {name: declared for name, declared in rows}

    def close(self, connection, cursor, finished: bool) -> None:
        connection.close()

    def error(self, error: Exception) -> ConnectorError:
        if not isinstance(error, sqlite3.Error):
            raise error
        text = str(error)
        lowered = text.lower()
        if "no such table" in lowered:
            return self.connector.missing_source(text)
        if "file is not a database" in lowered or "unable to open" in lowered:
            return ConnectorError(_("%(path)s is not a SQLite database file that can be opened: %(reason)s")
                                  % {"path": self.settings["path"], "reason": text}, permanent=True)
        return self.connector.query_error("locked" in lowered or "busy" in lowered, "readonly" in lowered,
                                          "no such column" in lowered, False, text)


def _connect_problem(lowered: str) -> str | None:
    """What a driver's connection error text says went wrong."""
    if "password authentication failed" in lowered or "access denied" in lowered:
        return "auth"
    if re.search(r'role ".*" does not exist', lowered):
        return "no_user"
    if re.search(r'database ".*" does not exist', lowered):
        return "no_database"
    if "pg_hba.conf" in lowered:
        return "hba"
    if "refused" in lowered:
        return "refused"
    if "timeout" in lowered or "timed out" in lowered:
        return "timeout"
    return None


def _no_attach(action: int, *args) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))


DIALECTS = {"postgresql": PostgresDialect, "mysql": MySQLDialect, "sqlite": SQLiteDialect}
