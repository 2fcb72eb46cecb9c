"""The database connector: a table or a query from PostgreSQL, MySQL/MariaDB or SQLite, read as Arrow batches.

connection_config:
- engine: "postgresql" (or "postgres"), "mysql" (or "mariadb") or "sqlite"; host, port (5432 / 3306), user,
  password, database for the servers; path (an absolute file path) for SQLite. Or, instead of all of these,
  url: "postgresql://user:password@host:5432/db?sslmode=require", "mysql://user:password@host/db",
  "sqlite:////absolute/path.db" (a password may also be given apart, beside a url that has none)
- table (with schema, PostgreSQL only) OR query (one SELECT; it runs in a read-only transaction)
- cursor_column (optional): incremental loads, see below
- batch_rows (optional): rows per fetch from the server, at most the engine's batch size
- connect_timeout (seconds, default 10); sslmode (PostgreSQL: disable, allow, prefer, require, verify-ca, verify-full)

Rows stream through server-side cursors (a psycopg2 named cursor; PyMySQL's unbuffered SSCursor; sqlite3's
fetchmany), so memory holds one batch. PyMySQL rather than mysqlclient: pure Python, so the image needs no
MySQL client library or compiler, and its SSCursor streams like mysqlclient's.

Arrow types: integers, floats and booleans as such; DECIMAL(p, s) as decimal128/256(p, s) (PostgreSQL's
unconstrained NUMERIC as exact text); dates as date32; every timestamp as timestamp[us, UTC] (the sessions run
in UTC; a timestamp without time zone is taken as UTC wall time; MySQL's zero dates become NULL); bytes as text
"\\x<hex>" (as PostgreSQL prints bytea, and as staging stores binary); JSON, arrays and anything else as text
(JSON text for JSON and arrays). SQLite declares no types reliably: a column is int64, float64 or text by its
declared type's affinity, else by the values of the first batch; a later value that does not fit is an error
that says to CAST the column in a query.

Incremental loads: with cursor_column, rows are read in cursor_column order, and only those with a value
greater than the remembered one when a state is given: `DatabaseConnector(config, state=previous)`. After a
complete read, `new_state()` is the state to remember for the next run, a JSON object
{"cursor_column": ..., "cursor_value": ..., "cursor_type": "int|float|decimal|text|date|datetime"}; store it
only once the run's rows are committed. A state for another cursor_column is ignored (a full read). Rows
whose cursor is NULL are read only by a full read, and a row added later with a cursor value equal to the
remembered one is not read: use a strictly increasing column (an id, an update timestamp).

Network hosts go through sources.netpolicy (private addresses only when ETL_ALLOWED_NETWORKS allows them);
the connection is made to the address that was checked.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sources.connectors.api import json_text
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.netpolicy import NetworkPolicyError, check_host
from sources.scrubbing import scrub, secret_forms
from sources.secrets import mask_string, secret_values

logger = logging.getLogger(__name__)

ENGINES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql",
           "sqlite": "sqlite"}
URL_SCHEMES = {**ENGINES, "postgresql+psycopg2": "postgresql", "mysql+pymysql": "mysql"}
ENGINE_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB", "sqlite": "SQLite"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SERVER_KEYS = ("host", "port", "user", "password", "database")
KEYS = ("engine", "url", *SERVER_KEYS, "path", "table", "query", "schema", "cursor_column", "batch_rows",
        "connect_timeout", "sslmode")
DEFAULT_CONNECT_TIMEOUT = 10
CURSOR_TYPES = ("int", "float", "decimal", "text", "date", "datetime")
_PARAM = "\x00param\x00"  # where the bound cursor value goes; NUL is refused in names and queries
_NO_PASSFILE = "/nonexistent/etl-pgpass"  # never read the worker's ~/.pgpass for a user's source
# What may hold a ";" that does not end a statement: strings, quoted names, comments, dollar quotes.
_SQL_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/"
                         r"|\$(\w*)\$.*?\$\1\$", re.DOTALL)


# --- configuration --------------------------------------------------------------------------------------

def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and "\x00" not in value


def _from_url(url: str, errors: list[str]) -> dict[str, Any]:
    parts = urlsplit(url.strip())
    engine = URL_SCHEMES.get(parts.scheme.lower())
    if engine is None:
        errors.append(_("url must start with postgresql://, mysql:// or sqlite:///, not %(scheme)s.")
                      % {"scheme": repr(parts.scheme + "://") if parts.scheme else repr(url[:20])})
        return {}
    if engine == "sqlite":
        if parts.netloc or not parts.path.strip("/"):
            errors.append(_("url for SQLite must be sqlite:////absolute/path/to/file.db."))
        return {"engine": engine, "path": "/" + unquote(parts.path).lstrip("/")}
    try:
        port = parts.port
    except ValueError:
        errors.append(_("url has an invalid port."))
        port = None
    found = {"engine": engine, "host": parts.hostname, "port": port, "user": unquote(parts.username or ""),
             "database": unquote(parts.path.lstrip("/"))}
    if parts.password is not None:
        found["password"] = unquote(parts.password)
    if not parts.hostname:
        errors.append(_("url has no host name."))
    if not found["user"]:
        errors.append(_("url has no user name (scheme://user@host/database)."))
    if not found["database"]:
        errors.append(_("url names no database (…/database at its end)."))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "sslmode" and engine == "postgresql":
            found["sslmode"] = value
        elif name == "connect_timeout":
            found["connect_timeout"] = int(value) if value.isdigit() else value
        else:
            errors.append(_("url option %(option)s is not supported.") % {"option": name})
    return found


def resolve_settings(config: dict) -> tuple[dict[str, Any], list[str]]:
    """The connection settings (engine, host, port, user, password, database or path, ...) and the problems."""
    errors: list[str] = []
    url = config.get("url")
    if url is not None:
        if not _text(url):
            return {}, [_("url must be a connection URL such as postgresql://user@host:5432/database.")]
        clashing = [key for key in ("engine", "host", "port", "user", "database", "path") if key in config]
        if clashing:
            errors.append(_("Give either url or %(keys)s, not both.") % {"keys": ", ".join(clashing)})
        found = _from_url(url, errors)
        if "password" in config:
            if config["password"] is not None and not isinstance(config["password"], str):
                errors.append(_("password must be a text."))
            if "password" in found:
                errors.append(_("The password is both in url and in password; give it once."))
            found["password"] = config["password"]
        found.update({key: config[key] for key in ("sslmode", "connect_timeout") if key in config})
        settings = found
    else:
        settings = {key: config[key] for key in KEYS if key in config and key not in ("url",)}
        engine = config.get("engine")
        if engine is None:
            errors.append(_("engine is required (postgresql, mysql or sqlite), or give a url."))
        elif not isinstance(engine, str) or engine.lower() not in ENGINES:
            errors.append(_("engine %(engine)s is not supported; use postgresql, mysql or sqlite.")
                          % {"engine": repr(engine)})
        else:
            settings["engine"] = ENGINES[engine.lower()]
    engine = settings.get("engine")
    if engine == "sqlite":
        for key in SERVER_KEYS + ("sslmode",):
            if key in config:
                errors.append(_("%(key)s is not used by SQLite, which reads a file: give path.") % {"key": key})
        path = settings.get("path")
        if not _text(path):
            errors.append(_("path is required for SQLite: the absolute path of the database file."))
        elif not os.path.isabs(path):
            errors.append(_("path must be an absolute path (/data/shop.sqlite3)."))
    elif engine in DEFAULT_PORTS and url is None:
        _server_errors(config, errors)
    if engine in DEFAULT_PORTS:
        settings.setdefault("port", None)
        settings["port"] = settings["port"] or DEFAULT_PORTS[engine]
        settings["password"] = settings.get("password") or ""
    if "path" in config and engine in DEFAULT_PORTS:
        errors.append(_("path is for SQLite only; a server needs host and database."))
    if "sslmode" in settings and (engine != "postgresql" or settings["sslmode"] not in SSLMODES):
        errors.append(_("sslmode is for PostgreSQL only, one of: %(modes)s.") % {"modes": ", ".join(SSLMODES)})
    if "connect_timeout" in settings and not _positive_int(settings["connect_timeout"]):
        errors.append(_("connect_timeout must be a positive whole number of seconds."))
    return settings, errors


def _server_errors(config: dict, errors: list[str]) -> None:
    host = config.get("host")
    if not _text(host):
        errors.append(_("host is required: the database server's name or IP address."))
    elif host.strip().startswith("/"):
        errors.append(_("host must be a host name or an IP address; Unix sockets are not supported."))
    port = config.get("port")
    if port is not None and not (_positive_int(port) and port <= 65535):
        errors.append(_("port must be a whole number from 1 to 65535."))
    if not _text(config.get("user")):
        errors.append(_("user is required."))
    if config.get("password") is not None and not isinstance(config.get("password"), str):
        errors.append(_("password must be a text."))
    if not _text(config.get("database")):
        errors.append(_("database is required: the name of the database to read from."))


def _source_errors(config: dict, engine: str | None) -> list[str]:
    errors = []
    table, query = config.get("table"), config.get("query")
    if (table is None) == (query is None):
        errors.append(_("Give exactly one of table (a table or view name) and query (a SELECT statement)."))
    if table is not None and not _text(table):
        errors.append(_("table must be the name of a table or view."))
    if query is not None and not _text(query):
        errors.append(_("query must be a SELECT statement."))
    elif query is not None and ";" in _SQL_QUOTED.sub(" ", query).strip().rstrip(";"):
        errors.append(_("query must be one statement (a \";\" separates statements)."))
    schema = config.get("schema")
    if schema is not None:
        if engine != "postgresql":
            errors.append(_("schema is for PostgreSQL only."))
        elif not _text(schema):
            errors.append(_("schema must be the name of a schema."))
        elif table is None:
            errors.append(_("schema applies to table; in a query, write schema.table yourself."))
    cursor_column = config.get("cursor_column")
    if cursor_column is not None and not _text(cursor_column):
        errors.append(_("cursor_column must be the name of a column."))
    if config.get("batch_rows") is not None and not _positive_int(config.get("batch_rows")):
        errors.append(_("batch_rows must be a positive whole number."))
    return errors


# --- values to Arrow ------------------------------------------------------------------------------------

def as_text(value: Any) -> str | None:
    """A value that has no Arrow type of its own here, as text; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):  # MySQL TIME, PostgreSQL interval: [-]H:MM:SS[.ffffff]
        sign, value = ("-", -value) if value < datetime.timedelta(0) else ("", value)
        minutes, seconds = divmod(value.days * 86400 + value.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        fraction = f".{value.microseconds:06d}" if value.microseconds else ""
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"
    return str(value)


def _texts(values: list) -> list:
    return [value if value is None or type(value) is str else as_text(value) for value in values]


def _only(kind: type) -> Callable[[list], list]:
    """Values of `kind` kept, anything else (MySQL's zero dates come as text) made NULL."""
    return lambda values: [value if isinstance(value, kind) else None for value in values]


def _bit_ints(values: list) -> list:
    return [None if value is None else int.from_bytes(value, "big") for value in values]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    convert: Callable[[list], list] | None = None


TEXT = (pa.string(), _texts)
TIMESTAMP = pa.timestamp("us", tz="UTC")


def _decimal(precision: int | None, scale: int | None) -> tuple[pa.DataType, Callable | None]:
    if precision is None or scale is None or not 0 < precision <= 76 or not 0 <= scale <= precision:
        return TEXT  # unconstrained NUMERIC: exact text rather than a guessed scale
    return (pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)), None


_PG_TYPES: dict[int, tuple[pa.DataType, Callable | None]] = {
    16: (pa.bool_(), None), 20: (pa.int64(), None), 21: (pa.int16(), None), 23: (pa.int32(), None),
    26: (pa.int64(), None), 700: (pa.float64(), None), 701: (pa.float64(), None), 1082: (pa.date32(), None),
    1114: (TIMESTAMP, None), 1184: (TIMESTAMP, None),
}


def _pg_columns(description) -> list[Column]:
    columns = []
    for item in description:
        if item.type_code == 1700:
            arrow_type, convert = _decimal(item.precision, item.scale)
        else:
            arrow_type, convert = _PG_TYPES.get(item.type_code, TEXT)
        columns.append(Column(item.name, arrow_type, convert))
    return columns


def _mysql_columns(fields) -> list[Column]:
    from pymysql.constants import FIELD_TYPE, FLAG

    columns = []
    for field in fields:
        code, unsigned = field.type_code, bool(field.flags & FLAG.UNSIGNED)
        convert = None
        if code in (FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.INT24, FIELD_TYPE.LONG):
            arrow_type = pa.int64()
        elif code == FIELD_TYPE.LONGLONG:
            arrow_type = pa.uint64() if unsigned else pa.int64()
        elif code == FIELD_TYPE.YEAR:
            arrow_type = pa.int16()
        elif code in (FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE):
            arrow_type = pa.float64()
        elif code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
            # The field length counts the sign and the decimal point besides the digits.
            digits = field.length - (1 if field.scale else 0) - (0 if unsigned else 1)
            arrow_type, convert = _decimal(digits, field.scale)
        elif code in (FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE):
            arrow_type, convert = pa.date32(), _only(datetime.date)
        elif code in (FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP):
            arrow_type, convert = TIMESTAMP, _only(datetime.datetime)
        elif code == FIELD_TYPE.BIT:
            arrow_type, convert = pa.int64(), _bit_ints
        else:
            arrow_type, convert = TEXT
        columns.append(Column(field.name, arrow_type, convert))
    return columns


def _sqlite_type(declared: str | None, values: list) -> tuple[pa.DataType, Callable | None]:
    """SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1), then the values."""
    declared = (declared or "").upper()
    if "INT" in declared:
        return pa.int64(), None
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return TEXT
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64(), None
    kinds = {type(value) for value in values if value is not None}
    if kinds == {int}:
        return pa.int64(), None
    if kinds and kinds <= {int, float}:
        return pa.float64(), None
    return TEXT


def _to_batch(columns: list[Column], rows: list[tuple]) -> pa.RecordBatch:
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        if column.convert is not None:
            values = column.convert(values)
        try:
            arrays.append(pa.array(values, type=column.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as error:
            raise ConnectorError(
                _("Column %(column)s has a value that cannot be read as %(type)s (%(reason)s); in a query, CAST the "
                  "column to one type.") % {"column": column.name, "type": column.type, "reason": error},
                permanent=True) from None
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(c.name, c.type) for c in columns]))


# --- incremental state ----------------------------------------------------------------------------------

def _encode_cursor(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "float", value
    if isinstance(value, decimal.Decimal):
        return "decimal", str(value)
    if isinstance(value, datetime.datetime):
        return "datetime", value.isoformat()
    if isinstance(value, datetime.date):
        return "date", value.isoformat()
    if isinstance(value, str):
        return "text", value
    return None


def _decode_cursor(kind: str, value: Any) -> Any:
    decoders: dict[str, Callable[[Any], Any]] = {
        "int": int, "float": float, "decimal": decimal.Decimal, "text": str,
        "date": datetime.date.fromisoformat, "datetime": datetime.datetime.fromisoformat,
    }
    return decoders[kind](value)


# --- the dialects ---------------------------------------------------------------------------------------

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
        return _pg_columns(cursor.description)

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
        return _mysql_columns(cursor._result.fields)  # the description lacks the UNSIGNED flag

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
            raise ConnectorError(_("The SQLite file %(path)s does not exist.") % {"path": path}, permanent=True)
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
            arrow_type, convert = _sqlite_type(declared.get(item[0]), values)
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


# --- the connector --------------------------------------------------------------------------------------

class DatabaseConnector(Connector):
    kind = "database"
    KEYS = KEYS
    SECRET_KEYS = ("password",)  # and a password written into url, as in every text
    DESTINATION_KEYS = ("engine", "url", "host", "port", "path", "sslmode")
    supports_state = True  # takes state= and offers new_state() (incremental loads)

    def __init__(self, config: dict, *, state: dict | None = None):
        super().__init__(config)
        self.settings, _errors = resolve_settings(self.config)
        self.dialect: Dialect = DIALECTS[self.settings["engine"]](self)
        self.cursor_column: str | None = self.config.get("cursor_column")
        self.state = dict(state) if state else None
        self.cursor_from = self._cursor_from(self.state)
        self.declared_types: dict[str, str] = {}
        self._schema: pa.Schema | None = None
        self._last_cursor: Any = None
        self._complete = False
        self._rows_read = 0
        self._server_version = ""

    @classmethod
    def config_errors(cls, config: Any) -> list[str]:
        errors = super().config_errors(config)
        if errors:
            return errors
        errors += cls.unknown_key_errors(config, KEYS, "database")
        settings, problems = resolve_settings(config)
        errors.extend(problems)
        errors.extend(_source_errors(config, settings.get("engine")))
        return errors

    @classmethod
    def server_paths(cls, config: Any) -> dict[str, str]:
        if not isinstance(config, dict):
            return {}
        settings, _problems = resolve_settings(config)
        path = settings.get("path")
        if settings.get("engine") != "sqlite" or not isinstance(path, str) or not path.strip():
            return {}
        return {"url" if "url" in config else "path": path}

    # -- state ---------------------------------------------------------------------------------------------

    def _cursor_from(self, state: dict | None) -> Any:
        if not state or not self.cursor_column:
            return None
        if state.get("cursor_column") != self.cursor_column:
            logger.warning("Ignoring the incremental state for cursor column %r: the source now uses %r",
                           state.get("cursor_column"), self.cursor_column)
            return None
        try:
            if state.get("cursor_type") not in CURSOR_TYPES:
                raise ValueError(state.get("cursor_type"))
            return _decode_cursor(state["cursor_type"], state["cursor_value"])
        except (KeyError, ValueError, TypeError, decimal.InvalidOperation):
            raise ConnectorError(_("The remembered incremental state is not valid: %(state)s") % {"state": state},
                                 permanent=True) from None

    @property
    def incremental(self) -> bool:
        return bool(self.cursor_column)

    def new_state(self) -> dict | None:
        """The state to remember after a complete read: the greatest cursor value read (the one given when
        the read found no new rows or did not finish); None without cursor_column."""
        if not self.cursor_column:
            return None
        if not self._complete or self._last_cursor is None:
            return self.state if self.cursor_from is not None else None
        kind, value = _encode_cursor(self._last_cursor)
        return {"cursor_column": self.cursor_column, "cursor_value": value, "cursor_type": kind}

    # -- SQL -----------------------------------------------------------------------------------------------

    def source_name(self) -> str:
        table = self.config.get("table")
        if table is None:
            return _("the query")
        schema = self.config.get("schema")
        return f"{schema}.{table}" if schema else table

    def _relation(self) -> str:
        table = self.config.get("table")
        if table is not None:
            quoted = self.dialect.quote(table)
            schema = self.config.get("schema")
            return f"{self.dialect.quote(schema)}.{quoted}" if schema else quoted
        # On lines of its own: a query may end with a "-- comment".
        return f"(\n{self._query()}\n) AS {self.dialect.quote('etl_source')}"

    def _query(self) -> str:
        return self.config["query"].strip().rstrip(";").rstrip()

    def read_sql(self) -> tuple[str, tuple | None]:
        """The statement that reads the source, and its bound parameters (None when there are none)."""
        if not self.cursor_column:
            if self.config.get("table") is not None:
                return f"SELECT * FROM {self._relation()}", None
            return self._query(), None  # as written, so its own ORDER BY holds
        column = self.dialect.quote(self.cursor_column)
        sql = f"SELECT * FROM {self._relation()}"
        params = None
        if self.cursor_from is not None:
            sql += f" WHERE {column} > {_PARAM}"
            params = (self._bindable(self.cursor_from),)
        sql += f" ORDER BY {column}"
        if params is None:
            return sql, None
        if self.dialect.placeholder == "%s":  # with parameters, the drivers read every "%" as a format
            sql = sql.replace("%", "%%")
        return sql.replace(_PARAM, self.dialect.placeholder), params

    def _bindable(self, value: Any) -> Any:
        if isinstance(value, datetime.datetime) and value.tzinfo is not None and self.dialect.engine == "mysql":
            return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)  # the session is in UTC
        return value

    # -- connecting and errors -----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        text = mask_string(text.strip().splitlines()[0] if text.strip() else text)
        return scrub(text, secret_forms([*self.dialect.secrets(), *secret_values(self.config, self.kind)]))

    def _where(self) -> dict[str, Any]:
        s = self.settings
        return {"host": s.get("host"), "port": s.get("port"), "user": s.get("user"), "database": s.get("database"),
                "engine": ENGINE_NAMES[s["engine"]]}

    def connect_error(self, problem: str | None, text: str) -> ConnectorError:
        where = self._where()
        if problem == "auth":
            return ConnectorError(_("The server refused the user name or password for user %(user)s.") % where,
                                  permanent=True)
        if problem == "no_user":
            return ConnectorError(_("The user %(user)s does not exist on the server.") % where, permanent=True)
        if problem == "no_database":
            return ConnectorError(_("The database %(database)s does not exist on the server.") % where,
                                  permanent=True)
        if problem == "hba":
            return ConnectorError(_("The server does not accept connections from this machine for user %(user)s "
                                    "and database %(database)s (pg_hba.conf).") % where, permanent=True)
        if problem == "refused":
            return ConnectorError(_("Nothing accepts %(engine)s connections at %(host)s:%(port)s (connection "
                                    "refused).") % where, permanent=False)
        if problem == "timeout":
            return ConnectorError(_("The server at %(host)s:%(port)s did not answer in time.") % where,
                                  permanent=False)
        return ConnectorError(_("Could not talk to the %(engine)s server at %(host)s:%(port)s: %(reason)s")
                              % {**where, "reason": self._scrub(text)}, permanent=False)

    def missing_source(self, text: str) -> ConnectorError:
        if self.config.get("table") is not None:
            return ConnectorError(_("The table %(table)s does not exist (or user %(user)s cannot see it).")
                                  % {"table": self.source_name(), "user": self.settings.get("user") or "-"},
                                  permanent=True)
        return ConnectorError(_("The query refers to a table that does not exist: %(reason)s")
                              % {"reason": self._scrub(text)}, permanent=True)

    def query_error(self, transient: bool, writes: bool, unknown_column: bool, denied: bool,
                    text: str) -> ConnectorError:
        reason = self._scrub(text)
        if writes:
            return ConnectorError(_("The query tries to change data; a source may only read."), permanent=True)
        if unknown_column and self.cursor_column and self.cursor_column.lower() in text.lower():
            return ConnectorError(_("cursor_column %(column)s is not a column of %(source)s.")
                                  % {"column": self.cursor_column, "source": self.source_name()}, permanent=True)
        if unknown_column:
            return ConnectorError(_("The query refers to a column that does not exist: %(reason)s")
                                  % {"reason": reason}, permanent=True)
        if denied:
            return ConnectorError(_("User %(user)s may not read %(source)s: %(reason)s")
                                  % {"user": self.settings.get("user"), "source": self.source_name(),
                                     "reason": reason}, permanent=True)
        if transient:
            return ConnectorError(_("The database failed while reading %(source)s: %(reason)s")
                                  % {"source": self.source_name(), "reason": reason}, permanent=False)
        return ConnectorError(_("The database refused to read %(source)s: %(reason)s")
                              % {"source": self.source_name(), "reason": reason}, permanent=True)

    def _connect(self):
        try:
            connection = self.dialect.connect()
        except ConnectorError:
            raise
        except Exception as error:  # the dialect turns driver errors into messages
            raise self.dialect.error(error) from None
        try:
            self._server_version = self.dialect.version(connection)
            if isinstance(self.dialect, SQLiteDialect) and self.config.get("table") is not None:
                self.declared_types = self.dialect.declared_types(connection, self.config["table"])
        except Exception as error:
            connection.close()
            raise self.dialect.error(error) from None
        return connection

    # -- the contract --------------------------------------------------------------------------------------

    def read_batches(self, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if not _positive_int(batch_rows):
            raise ValueError(f"batch_rows must be a positive integer, not {batch_rows!r}")
        fetch_rows = min(batch_rows, self.config.get("batch_rows") or batch_rows)
        sql, params = self.read_sql()
        self._complete, self._last_cursor, self._rows_read = False, None, 0
        connection = self._connect()
        cursor = None
        try:
            cursor = self.dialect.stream(connection, sql, params, fetch_rows)
            columns, cursor_index = None, None
            while True:
                rows = cursor.fetchmany(fetch_rows)
                if columns is None:
                    columns = self.dialect.columns(cursor, rows)
                    self._schema = pa.schema([pa.field(c.name, c.type) for c in columns])
                    cursor_index = self._cursor_index(columns)
                if not rows:
                    break
                batch = _to_batch(columns, rows)
                if cursor_index is not None:
                    self._remember_cursor(rows, cursor_index)
                self._rows_read += len(rows)
                yield batch
            self._complete = True
        except ConnectorError:
            raise
        except Exception as error:  # driver errors become ConnectorErrors; others are re-raised
            raise self.dialect.error(error) from None
        finally:
            self.dialect.close(connection, cursor, self._complete)

    def _cursor_index(self, columns: list[Column]) -> int | None:
        if not self.cursor_column:
            return None
        names = [column.name for column in columns]
        if self.cursor_column in names:
            return names.index(self.cursor_column)
        lowered = [name.lower() for name in names]  # unquoted names fold case in the database
        if self.cursor_column.lower() in lowered:
            return lowered.index(self.cursor_column.lower())
        raise ConnectorError(_("cursor_column %(column)s is not a column of %(source)s.")
                             % {"column": self.cursor_column, "source": self.source_name()}, permanent=True)

    def _remember_cursor(self, rows: list[tuple], index: int) -> None:
        # Rows come in the database's cursor order, so the last value is the greatest by its own collation.
        for row in reversed(rows):
            value = row[index]
            if value is None:
                continue
            if _encode_cursor(value) is None:
                raise ConnectorError(
                    _("cursor_column %(column)s holds values of type %(type)s, which cannot be remembered; use a "
                      "number, date, timestamp or text column.")
                    % {"column": self.cursor_column, "type": type(value).__name__}, permanent=True)
            self._last_cursor = value
            return

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            self.read_schema()
        return self._schema

    def read_schema(self) -> pa.Schema:
        """The source's columns and types, from a query that returns no rows."""
        connection = self._connect()
        try:
            cursor = self.dialect.stream(connection, f"SELECT * FROM {self._relation()} LIMIT 0", None, 1)
            columns = self.dialect.columns(cursor, cursor.fetchall())
        except ConnectorError:
            raise
        except Exception as error:
            raise self.dialect.error(error) from None
        finally:
            self.dialect.close(connection, None, True)
        self._schema = pa.schema([pa.field(c.name, c.type) for c in columns])
        self._cursor_index(columns)
        return self._schema

    def test_connection(self) -> ConnectionCheck:
        try:
            schema = self.read_schema()
        except ConnectorError as error:
            return ConnectionCheck(ok=False, message=error.message, details={"permanent": error.permanent})
        message = ngettext("Connected to %(engine)s %(version)s; %(source)s has %(count)d column: %(columns)s.",
                           "Connected to %(engine)s %(version)s; %(source)s has %(count)d columns: %(columns)s.",
                           len(schema)) % {
            "engine": ENGINE_NAMES[self.settings["engine"]], "version": self._server_version,
            "source": self.source_name(), "count": len(schema), "columns": ", ".join(schema.names) or _("(none)")}
        return ConnectionCheck(ok=True, message=message, details=self.describe())

    def describe(self) -> dict[str, Any]:
        s = self.settings
        description: dict[str, Any] = {"kind": self.kind, "engine": s["engine"]}
        if s["engine"] == "sqlite":
            description["path"] = s["path"]
        else:
            description.update(host=s["host"], port=s["port"], user=s["user"], database=s["database"])
        for key in ("schema", "table", "query", "cursor_column"):
            if self.config.get(key) is not None:
                description[key] = self.config[key]
        description["incremental"] = self.incremental
        if self.incremental:
            description["cursor_from"] = _encode_cursor(self.cursor_from)[1] if self.cursor_from is not None \
                else None
        if self._server_version:
            description["server_version"] = self._server_version
        description["rows_read"] = self._rows_read
        description["columns"] = [{"name": field.name, "type": str(field.type)} for field in self._schema or []]
        return description
