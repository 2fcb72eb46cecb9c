"""The database connector's connection_config: its keys, a url taken apart, and the problems of a configuration."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.utils.translation import gettext as _

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
# What may hold a ";" that does not end a statement: strings, quoted names, comments, dollar quotes.
_SQL_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/"
                         r"|\$(\w*)\$.*?\$\1\$", re.DOTALL)


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def is_text(value: Any) -> bool:
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
        if not is_text(url):
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
        if not is_text(path):
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
    if "connect_timeout" in settings and not positive_int(settings["connect_timeout"]):
        errors.append(_("connect_timeout must be a positive whole number of seconds."))
    return settings, errors


def _server_errors(config: dict, errors: list[str]) -> None:
    host = config.get("host")
    if not is_text(host):
        errors.append(_("host is required: the database server's name or IP address."))
    elif host.strip().startswith("/"):
        errors.append(_("host must be a host name or an IP address; Unix sockets are not supported."))
    port = config.get("port")
    if port is not None and not (positive_int(port) and port <= 65535):
        errors.append(_("port must be a whole number from 1 to 65535."))
    if not is_text(config.get("user")):
        errors.append(_("user is required."))
    if config.get("password") is not None and not isinstance(config.get("password"), str):
        errors.append(_("password must be a text."))
    if not is_text(config.get("database")):
        errors.append(_("database is required: the name of the database to read from."))


def source_errors(config: dict, engine: str | None) -> list[str]:
    errors = []
    table, query = config.get("table"), config.get("query")
    if (table is None) == (query is None):
        errors.append(_("Give exactly one of table (a table or view name) and query (a SELECT statement)."))
    if table is not None and not is_text(table):
        errors.append(_("table must be the name of a table or view."))
    if query is not None and not is_text(query):
        errors.append(_("query must be a SELECT statement."))
    elif query is not None and ";" in _SQL_QUOTED.sub(" ", query).strip().rstrip(";"):
        errors.append(_("query must be one statement (a \";\" separates statements)."))
    schema = config.get("schema")
    if schema is not None:
        if engine != "postgresql":
            errors.append(_("schema is for PostgreSQL only."))
        elif not is_text(schema):
            errors.append(_("schema must be the name of a schema."))
        elif table is None:
            errors.append(_("schema applies to table; in a query, write schema.table yourself."))
    cursor_column = config.get("cursor_column")
    if cursor_column is not None and not is_text(cursor_column):
        errors.append(_("cursor_column must be the name of a column."))
    if config.get("batch_rows") is not None and not positive_int(config.get("batch_rows")):
        errors.append(_("batch_rows must be a positive whole number."))
    return errors
