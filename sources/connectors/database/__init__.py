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

The package, by the sections of the connector: config (connection_config and its problems), arrow (values and
column types as Arrow), incremental (the remembered cursor), dialects (what differs between the engines),
connector (DatabaseConnector).
"""

from sources.connectors.database.arrow import as_text
from sources.connectors.database.config import ENGINE_NAMES, ENGINES, KEYS, resolve_settings
from sources.connectors.database.connector import DatabaseConnector
from sources.connectors.database.incremental import CURSOR_TYPES

__all__ = ["CURSOR_TYPES", "ENGINES", "ENGINE_NAMES", "KEYS", "DatabaseConnector", "as_text", "resolve_settings"]
