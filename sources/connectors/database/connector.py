"""The database connector itself: the SQL that reads the source, the errors people read, and the contract
(read_batches, read_schema, test_connection, describe, new_state)."""

from __future__ import annotations

import datetime
import decimal
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from etlsite.messages import _msg
from sources.connectors.base import DEFAULT_BATCH_ROWS, ConnectionCheck, Connector, ConnectorError
from sources.connectors.database.arrow import Column, to_batch
from sources.connectors.database.config import ENGINE_NAMES, KEYS, positive_int, resolve_settings, source_errors
from sources.connectors.database.dialects import DIALECTS, Dialect, SQLiteDialect
from sources.connectors.database.incremental import CURSOR_TYPES, decode_cursor, encode_cursor
from sources.scrubbing import scrub, secret_forms
from sources.secrets import mask_string, secret_values

logger = logging.getLogger(__name__)

_PARAM = "\x00param\x00"  # where the bound cursor value goes; NUL is refused in names and queries


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
        errors.extend(source_errors(config, settings.get("engine")))
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
            return decode_cursor(state["cursor_type"], state["cursor_value"])
        except (KeyError, ValueError, TypeError, decimal.InvalidOperation):
            raise ConnectorError(_msg("The remembered incremental state is not valid: %(state)s") % {"state": state},
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
        kind, value = encode_cursor(self._last_cursor)
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
        if not positive_int(batch_rows):
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
                batch = to_batch(columns, rows)
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
        raise ConnectorError(_msg("cursor_column %(column)s is not a column of %(source)s.")
                             % {"column": self.cursor_column, "source": self.source_name()}, permanent=True)

    def _remember_cursor(self, rows: list[tuple], index: int) -> None:
        # Rows come in the database's cursor order, so the last value is the greatest by its own collation.
        for row in reversed(rows):
            value = row[index]
            if value is None:
                continue
            if encode_cursor(value) is None:
                raise ConnectorError(
                    _msg("cursor_column %(column)s holds values of type %(type)s, which cannot be remembered; use a "
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
            description["cursor_from"] = encode_cursor(self.cursor_from)[1] if self.cursor_from is not None \
                else None
        if self._server_version:
            description["server_version"] = self._server_version
        description["rows_read"] = self._rows_read
        description["columns"] = [{"name": field.name, "type": str(field.type)} for field in self._schema or []]
        return description
