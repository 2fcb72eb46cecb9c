"""The database connector against real servers: PostgreSQL and MariaDB on 127.0.0.1, and SQLite files.

Each server test works in a database of its own (`conn_test_<random>`), created and dropped here; a server
that cannot be reached skips its tests with the reason. Rows read are checked against independent queries.
"""

from __future__ import annotations

import datetime
import json
import socket
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pytest

from sources.connectors.base import ConnectorError
from sources.connectors.database import DatabaseConnector

HOST = "127.0.0.1"
ROWS = 250
UTC = datetime.timezone.utc
COLUMNS = ("id", "name", "amount", "qty", "price", "active", "created_at", "day", "payload", "big")


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def sample_row(i: int) -> tuple:
    """Row i of the `sales` table: every column has some NULLs."""
    return (
        i,
        None if i % 10 == 0 else f"item {i}",
        None if i % 17 == 0 else Decimal(i * 125) / 100,
        i % 7,
        None if i % 19 == 0 else i * 0.5,
        None if i % 13 == 0 else i % 2 == 0,
        None if i % 23 == 0 else datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(hours=i, seconds=0.5),
        None if i % 29 == 0 else datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        None if i % 5 == 0 else bytes([i % 256, 0, 255]),
        None if i % 31 == 0 else i * 1_000_000_007,
    )


@dataclass
class Database:
    engine: str
    config: dict  # the connection part of a connection_config
    run: Callable[..., list]  # run(sql, params=None) -> rows, committed
    quote: Callable[[str], str]
    placeholder: str = "%s"

    def create_table(self, name: str, rows: int = 0) -> None:
        self.run(f"CREATE TABLE {self.quote(name)} (id INTEGER PRIMARY KEY, label VARCHAR(50))")
        self.insert(name, range(1, rows + 1))

    def insert(self, name: str, ids) -> None:
        p = self.placeholder
        table = self.quote(name).replace("%", "%%") if p == "%s" else self.quote(name)  # "%" is a format here
        for i in ids:
            self.run(f"INSERT INTO {table} (id, label) VALUES ({p}, {p})", (i, f"label {i}"))


def read(connector: DatabaseConnector, batch_rows: int = 100) -> pa.Table:
    batches = list(connector.read_batches(batch_rows=batch_rows))
    return pa.Table.from_batches(batches) if batches else pa.table({})


def _quote_double(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- the servers ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgresql_db():
    try:
        admin = psycopg2.connect(host=HOST, port=5432, user="postgres", dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL at {HOST}:5432 cannot be reached: {error}")
    admin.autocommit = True
    name = f"conn_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection = psycopg2.connect(host=HOST, port=5432, user="postgres", dbname=name)
    connection.autocommit = True

    def run(sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    run("CREATE TABLE sales (id integer PRIMARY KEY, name text, amount numeric(12, 2), qty integer, "
        "price double precision, active boolean, created_at timestamptz, day date, payload bytea, big bigint)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO sales VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                           [sample_row(i) for i in range(1, ROWS + 1)])
    yield Database("postgresql", {"engine": "postgresql", "host": HOST, "port": 5432, "user": "postgres",
                                  "database": name}, run, _quote_double)
    connection.close()
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="module")
def mysql_db():
    try:
        connection = pymysql.connect(host=HOST, port=3306, user="root", password="", connect_timeout=3,
                                     autocommit=True)
    except pymysql.MySQLError as error:
        pytest.skip(f"MariaDB/MySQL at {HOST}:3306 cannot be reached: {error}")
    name = f"conn_test_{uuid.uuid4().hex[:12]}"

    def run(sql, params=None):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    run(f"CREATE DATABASE `{name}`")
    run(f"USE `{name}`")
    run("CREATE TABLE sales (id int PRIMARY KEY, name varchar(100), amount decimal(12, 2), qty int, price double, "
        "active boolean, created_at datetime(6), day date, payload blob, big bigint unsigned)")
    with connection.cursor() as cursor:
        rows = [row[:6] + (None if row[6] is None else row[6].replace(tzinfo=None),) + row[7:]
                for row in (sample_row(i) for i in range(1, ROWS + 1))]
        rows[-1] = rows[-1][:9] + (2**64 - 1,)  # an unsigned value beyond int64
        cursor.executemany("INSERT INTO sales VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    yield Database("mysql", {"engine": "mysql", "host": HOST, "port": 3306, "user": "root", "password": "",
                             "database": name}, run, _quote_backtick)
    run(f"DROP DATABASE `{name}`")
    connection.close()


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "source.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)

    def run(sql, params=None):
        return connection.execute(sql, params or ()).fetchall()

    run("CREATE TABLE sales (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC, qty INTEGER, price REAL, "
        "active BOOLEAN, created_at TEXT, day DATE, payload BLOB, big INTEGER)")
    rows = []
    for i in range(1, ROWS + 1):
        row = list(sample_row(i))
        row[2] = None if row[2] is None else float(row[2])
        row[6] = None if row[6] is None else row[6].isoformat(sep=" ")
        row[7] = None if row[7] is None else row[7].isoformat()
        rows.append(row)
    connection.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    yield Database("sqlite", {"engine": "sqlite", "path": str(path)}, run, _quote_double, "?")
    connection.close()


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def db(request) -> Database:
    return request.getfixturevalue(f"{request.param}_db")


@pytest.fixture(params=["postgresql", "mysql"])
def server_db(request) -> Database:
    return request.getfixturevalue(f"{request.param}_db")


# --- every engine ---------------------------------------------------------------------------------------

EXPECTED_TYPES = {
    "postgresql": [pa.int32(), pa.string(), pa.decimal128(12, 2), pa.int32(), pa.float64(), pa.bool_(),
                   pa.timestamp("us", tz="UTC"), pa.date32(), pa.string(), pa.int64()],
    "mysql": [pa.int64(), pa.string(), pa.decimal128(12, 2), pa.int64(), pa.float64(), pa.int64(),
              pa.timestamp("us", tz="UTC"), pa.date32(), pa.string(), pa.uint64()],
    # SQLite: by declared affinity (INTEGER, TEXT, REAL), else by the values (NUMERIC amount: floats;
    # BOOLEAN: 0/1; DATE: ISO text; BLOB: bytes, as hex text).
    "sqlite": [pa.int64(), pa.string(), pa.float64(), pa.int64(), pa.float64(), pa.int64(), pa.string(),
               pa.string(), pa.string(), pa.int64()],
}


def test_a_table_streams_in_batches_with_native_types(db):
    connector = DatabaseConnector({**db.config, "table": "sales"})
    batches = list(connector.read_batches(batch_rows=100))
    assert [batch.num_rows for batch in batches] == [100, 100, 50]
    table = pa.Table.from_batches(batches)
    assert table.schema.names == list(COLUMNS)
    assert table.schema.types == EXPECTED_TYPES[db.engine]
    assert connector.describe()["rows_read"] == ROWS


def test_rows_match_independent_queries(db):
    table = read(DatabaseConnector({**db.config, "table": "sales"}))
    [(count, qty_sum, amount_sum, price_sum)] = db.run("SELECT count(*), sum(qty), sum(amount), sum(price) FROM sales")
    assert table.num_rows == count == ROWS
    assert pc.sum(table["qty"]).as_py() == qty_sum
    if db.engine == "sqlite":
        assert pc.sum(table["amount"]).as_py() == pytest.approx(amount_sum)
    else:
        assert pc.sum(table["amount"]).as_py() == amount_sum  # exact decimals
    assert pc.sum(table["price"]).as_py() == pytest.approx(price_sum)
    for column in COLUMNS:
        [(nulls,)] = db.run(f"SELECT count(*) - count({column}) FROM sales")
        assert table[column].null_count == nulls, column
        assert nulls > 0 or column in ("id", "qty"), column
    by_id = {row["id"]: row for row in table.to_pylist()}
    assert sorted(by_id) == list(range(1, ROWS + 1))
    payloads = dict(db.run("SELECT id, payload FROM sales WHERE payload IS NOT NULL"))
    assert all(by_id[i]["payload"] == "\\x" + bytes(value).hex() for i, value in payloads.items())
    assert by_id[3]["payload"] == "\\x0300ff"


def test_server_timestamps_and_dates_are_exact(server_db):
    table = read(DatabaseConnector({**server_db.config, "table": "sales"}))
    by_id = {row["id"]: row for row in table.to_pylist()}
    for i, created_at, day in server_db.run("SELECT id, created_at, day FROM sales"):
        if created_at is not None and created_at.tzinfo is None:  # MySQL DATETIME holds UTC wall time here
            created_at = created_at.replace(tzinfo=UTC)
        assert by_id[i]["created_at"] == created_at
        assert by_id[i]["day"] == day
    assert by_id[1]["created_at"] == datetime.datetime(2024, 1, 1, 1, 0, 0, 500000, tzinfo=UTC)
    assert by_id[2]["amount"] == Decimal("2.50")


def test_a_query_reads_its_rows_in_its_own_order(db):
    query = "SELECT id, qty FROM sales WHERE qty > 3 ORDER BY qty DESC, id;"
    table = read(DatabaseConnector({**db.config, "query": query}))
    expected = db.run(query.rstrip(";"))
    assert [(row["id"], row["qty"]) for row in table.to_pylist()] == [tuple(row) for row in expected]


def test_incremental_loads_read_only_new_rows(db):
    name = f"events_{uuid.uuid4().hex[:8]}"
    db.create_table(name, rows=10)
    config = {**db.config, "table": name, "cursor_column": "id"}

    first = DatabaseConnector(config)
    assert read(first, batch_rows=4)["id"].to_pylist() == list(range(1, 11))
    state = json.loads(json.dumps(first.new_state()))  # what the engine stores in execution_context
    assert state == {"cursor_column": "id", "cursor_value": 10, "cursor_type": "int"}

    db.insert(name, [11, 12, 13])
    second = DatabaseConnector(config, state=state)
    assert read(second)["id"].to_pylist() == [11, 12, 13]
    assert second.new_state()["cursor_value"] == 13
    assert second.describe()["cursor_from"] == 10

    third = DatabaseConnector(config, state=second.new_state())
    assert list(third.read_batches()) == []
    assert third.new_state() == second.new_state()  # nothing new: the same state again


def test_incremental_query_with_percent_signs_and_a_trailing_comment(db):
    config = {**db.config, "query": "SELECT id, name FROM sales WHERE name LIKE 'item 1%' -- 100% sure;\n",
              "cursor_column": "id"}
    state = {"cursor_column": "id", "cursor_value": 100, "cursor_type": "int"}
    table = read(DatabaseConnector(config, state=state))
    expected = [row[0] for row in db.run("SELECT id FROM sales WHERE name LIKE 'item 1%' AND id > 100 ORDER BY id")]
    assert table["id"].to_pylist() == expected
    assert len(expected) == 90  # 101..199 without the multiples of 10, whose name is NULL


def test_a_hostile_table_name_is_quoted(db):
    name = "odd \"name` 100%; DROP TABLE sales; --"
    db.create_table(name, rows=3)
    connector = DatabaseConnector({**db.config, "table": name, "cursor_column": "id"},
                                  state={"cursor_column": "id", "cursor_value": 1, "cursor_type": "int"})
    assert read(connector).to_pylist() == [{"id": 2, "label": "label 2"}, {"id": 3, "label": "label 3"}]
    assert db.run("SELECT count(*) FROM sales")[0][0] == ROWS
    check = DatabaseConnector({**db.config, "table": name}).test_connection()
    assert check.ok, check.message


def test_a_missing_table_is_reported(db):
    connector = DatabaseConnector({**db.config, "table": "no_such_table"})
    check = connector.test_connection()
    assert not check.ok
    assert "The table no_such_table does not exist" in check.message
    with pytest.raises(ConnectorError, match="The table no_such_table does not exist") as caught:
        list(connector.read_batches())
    assert caught.value.permanent


def test_an_unknown_cursor_column_is_reported(db):
    connector = DatabaseConnector({**db.config, "table": "sales", "cursor_column": "updated"})
    check = connector.test_connection()
    assert not check.ok and check.message == "cursor_column updated is not a column of sales."
    with pytest.raises(ConnectorError, match="cursor_column updated is not a column of sales"):
        list(connector.read_batches())


def test_test_connection_names_the_columns(db):
    check = DatabaseConnector({**db.config, "table": "sales", "cursor_column": "id"}).test_connection()
    assert check.ok, check.message
    assert "sales has 10 columns: id, name, amount" in check.message
    assert [c["name"] for c in check.details["columns"]] == list(COLUMNS)
    assert "password" not in check.details


def test_fetch_size_from_the_configuration(db):
    connector = DatabaseConnector({**db.config, "table": "sales", "batch_rows": 60})
    assert [b.num_rows for b in connector.read_batches(batch_rows=100)] == [60, 60, 60, 60, 10]


def test_stopping_early_closes_the_stream(db):
    connector = DatabaseConnector({**db.config, "table": "sales"})
    batches = connector.read_batches(batch_rows=10)
    assert next(batches).num_rows == 10
    batches.close()  # an unbuffered MySQL result must not be drained, nor the connection left open
    assert read(connector).num_rows == ROWS
    assert connector.new_state() is None  # not incremental


# --- servers: connection problems and the network policy ------------------------------------------------

def test_private_addresses_are_refused_without_an_allow_list(server_db, settings):
    settings.ETL_ALLOWED_NETWORKS = []
    connector = DatabaseConnector({**server_db.config, "table": "sales"})
    check = connector.test_connection()
    assert not check.ok
    assert "Connections to 127.0.0.1 (127.0.0.1) are not allowed" in check.message
    assert "ETL_ALLOWED_NETWORKS" in check.message
    with pytest.raises(ConnectorError, match="not allowed") as caught:
        list(connector.read_batches())
    assert caught.value.permanent


def test_an_unknown_host_is_reported(server_db):
    connector = DatabaseConnector({**server_db.config, "host": "no-such-host.invalid", "table": "sales"})
    check = connector.test_connection()
    assert not check.ok and check.message == "The host no-such-host.invalid could not be found (DNS lookup failed)."
    with pytest.raises(ConnectorError, match="could not be found"):
        list(connector.read_batches())


def test_a_closed_port_is_reported(server_db):
    port = _free_port()
    connector = DatabaseConnector({**server_db.config, "port": port, "table": "sales"})
    check = connector.test_connection()
    assert not check.ok
    assert f"connections at 127.0.0.1:{port} (connection refused)" in check.message
    assert check.details == {"permanent": False}


def test_an_unknown_database_is_reported(server_db):
    connector = DatabaseConnector({**server_db.config, "database": "conn_test_missing", "table": "sales"})
    check = connector.test_connection()
    assert not check.ok
    assert check.message == "The database conn_test_missing does not exist on the server."
    with pytest.raises(ConnectorError, match="does not exist on the server") as caught:
        list(connector.read_batches())
    assert caught.value.permanent


def test_postgresql_unknown_user(postgresql_db):
    connector = DatabaseConnector({**postgresql_db.config, "user": "conn_test_nobody", "table": "sales"})
    check = connector.test_connection()
    assert not check.ok and check.message == "The user conn_test_nobody does not exist on the server."


@pytest.fixture
def mysql_user(mysql_db):
    user = f"conn_test_{uuid.uuid4().hex[:8]}"
    mysql_db.run(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'Right-Pass-1'")
    mysql_db.run(f"GRANT SELECT ON `{mysql_db.config['database']}`.* TO '{user}'@'127.0.0.1'")
    yield user
    mysql_db.run(f"DROP USER '{user}'@'127.0.0.1'")


def test_mysql_wrong_password_is_reported_without_the_password(mysql_db, mysql_user):
    # (PostgreSQL here trusts local connections, so only MariaDB can refuse a password.)
    config = {**mysql_db.config, "user": mysql_user, "password": "Wr0ng-S3cret", "table": "sales"}
    check = DatabaseConnector(config).test_connection()
    assert not check.ok
    assert check.message == f"The server refused the user name or password for user {mysql_user}."
    assert "Wr0ng-S3cret" not in json.dumps(check.details)
    with pytest.raises(ConnectorError, match="refused the user name or password") as caught:
        list(DatabaseConnector(config).read_batches())
    assert caught.value.permanent and "Wr0ng-S3cret" not in caught.value.message
    good = DatabaseConnector({**config, "password": "Right-Pass-1"})
    assert good.test_connection().ok
    assert "Right-Pass-1" not in json.dumps(good.describe())


def test_a_url_instead_of_the_separate_keys(server_db):
    c = server_db.config
    scheme = "postgresql" if server_db.engine == "postgresql" else "mysql"
    url = f"{scheme}://{c['user']}@{c['host']}:{c['port']}/{c['database']}"
    table = read(DatabaseConnector({"url": url, "table": "sales"}))
    assert table.num_rows == ROWS


def test_postgresql_schema_and_timestamp_cursor(postgresql_db):
    postgresql_db.run('CREATE SCHEMA "Shop Data"')
    postgresql_db.run('CREATE TABLE "Shop Data".orders (id serial, updated_at timestamptz NOT NULL)')
    postgresql_db.run("INSERT INTO \"Shop Data\".orders (updated_at) "
                      "SELECT timestamptz '2024-05-01 10:00:00.123456+02' + n * interval '1 minute' "
                      "FROM generate_series(1, 5) AS n")
    config = {**postgresql_db.config, "schema": "Shop Data", "table": "orders", "cursor_column": "updated_at"}
    first = DatabaseConnector(config)
    assert read(first).num_rows == 5
    state = json.loads(json.dumps(first.new_state()))
    assert state == {"cursor_column": "updated_at", "cursor_value": "2024-05-01T08:05:00.123456+00:00",
                     "cursor_type": "datetime"}
    postgresql_db.run("INSERT INTO \"Shop Data\".orders (updated_at) VALUES "
                      "('2024-05-01 08:05:00.123456+00'), ('2024-05-01 08:05:00.123457+00')")
    assert read(DatabaseConnector(config, state=state))["id"].to_pylist() == [7]


def test_mysql_datetime_cursor(mysql_db):
    mysql_db.run("CREATE TABLE stamped (id int PRIMARY KEY, changed datetime(6) NOT NULL)")
    mysql_db.run("INSERT INTO stamped VALUES (1, '2024-05-01 08:00:00.5'), (2, '2024-05-01 09:00:00')")
    config = {**mysql_db.config, "table": "stamped", "cursor_column": "changed"}
    first = DatabaseConnector(config)
    read(first)
    state = json.loads(json.dumps(first.new_state()))
    assert state["cursor_type"] == "datetime" and state["cursor_value"] == "2024-05-01T09:00:00"
    mysql_db.run("INSERT INTO stamped VALUES (3, '2024-05-01 09:00:00.000001')")
    assert read(DatabaseConnector(config, state=state))["id"].to_pylist() == [3]


def test_mysql_time_json_and_bit_columns(mysql_db):
    mysql_db.run("CREATE TABLE odd_types (flags bit(5), span time(2), doc json, y year)")
    mysql_db.run("INSERT INTO odd_types VALUES (b'10101', '-838:59:59', '{\"a\": 1}', 2024), "
                 "(NULL, '12:00:00.25', NULL, NULL)")
    table = read(DatabaseConnector({**mysql_db.config, "table": "odd_types"}))
    assert table.schema.types == [pa.int64(), pa.string(), pa.string(), pa.int16()]
    assert table.to_pylist() == [{"flags": 21, "span": "-838:59:59", "doc": '{"a": 1}', "y": 2024},
                                 {"flags": None, "span": "12:00:00.250000", "doc": None, "y": None}]


def test_postgresql_queries_may_not_write(postgresql_db):
    postgresql_db.run("CREATE SEQUENCE counter")
    connector = DatabaseConnector({**postgresql_db.config, "query": "SELECT nextval('counter') AS n"})
    with pytest.raises(ConnectorError, match="tries to change data") as caught:
        list(connector.read_batches())
    assert caught.value.permanent


def test_postgresql_json_arrays_and_unconstrained_numeric_are_exact_text(postgresql_db):
    query = ("SELECT '{\"a\": 1.10}'::jsonb AS doc, ARRAY[1.5, 2.25]::numeric[] AS list, "
             "12345678901234567890.123456789::numeric AS big, NULL::uuid AS nothing")
    table = read(DatabaseConnector({**postgresql_db.config, "query": query}))
    assert table.schema.types == [pa.string()] * 4
    assert table.to_pylist() == [{"doc": '{"a": 1.10}', "list": "[1.5,2.25]",
                                  "big": "12345678901234567890.123456789", "nothing": None}]


# --- SQLite ---------------------------------------------------------------------------------------------

def test_sqlite_by_url_and_a_missing_file(sqlite_db, tmp_path):
    assert read(DatabaseConnector({"url": "sqlite:///" + sqlite_db.config["path"], "table": "sales"})).num_rows \
        == ROWS
    missing = tmp_path / "nope.sqlite3"
    check = DatabaseConnector({"engine": "sqlite", "path": str(missing), "table": "t"}).test_connection()
    assert not check.ok and check.message == f"The SQLite file {missing} does not exist."
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, this is not a database " * 10)
    check = DatabaseConnector({"engine": "sqlite", "path": str(not_sqlite), "table": "t"}).test_connection()
    assert not check.ok and "is not a SQLite database file" in check.message


def test_sqlite_values_of_another_type_in_a_later_batch(sqlite_db):
    query = "SELECT CASE WHEN id <= 150 THEN id ELSE 'text ' || id END AS v FROM sales ORDER BY id"
    batches = DatabaseConnector({**sqlite_db.config, "query": query}).read_batches(batch_rows=100)
    assert next(batches).schema.types == [pa.int64()]
    with pytest.raises(ConnectorError, match="Column v has a value that cannot be read as int64.*CAST"):
        next(batches)


def test_sqlite_is_opened_read_only(sqlite_db):
    connector = DatabaseConnector({**sqlite_db.config, "query": "DELETE FROM sales RETURNING id"})
    with pytest.raises(ConnectorError, match="tries to change data"):
        list(connector.read_batches())
    assert sqlite_db.run("SELECT count(*) FROM sales")[0][0] == ROWS


# --- configuration --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "message"), [
    ({"table": "t"}, "engine is required (postgresql, mysql or sqlite), or give a url."),
    ({"engine": "oracle", "table": "t"}, "engine 'oracle' is not supported; use postgresql, mysql or sqlite."),
    ({"engine": "postgresql", "user": "u", "database": "d", "table": "t"},
     "host is required: the database server's name or IP address."),
    ({"engine": "mysql", "host": "h", "user": "u", "database": "d", "port": 70000, "table": "t"},
     "port must be a whole number from 1 to 65535."),
    ({"engine": "postgresql", "host": "/var/run/postgresql", "user": "u", "database": "d", "table": "t"},
     "host must be a host name or an IP address; Unix sockets are not supported."),
    ({"engine": "sqlite", "path": "/tmp/x.db", "table": "t", "query": "SELECT 1"},
     "Give exactly one of table (a table or view name) and query (a SELECT statement)."),
    ({"engine": "sqlite", "path": "x.db", "table": "t"}, "path must be an absolute path (/data/shop.sqlite3)."),
    ({"engine": "sqlite", "path": "/x.db", "query": "SELECT 1; DROP TABLE t"},
     "query must be one statement (a \";\" separates statements)."),
    ({"engine": "sqlite", "path": "/x.db", "host": "h", "table": "t"},
     "host is not used by SQLite, which reads a file: give path."),
    ({"engine": "mysql", "host": "h", "user": "u", "database": "d", "table": "t", "schema": "s"},
     "schema is for PostgreSQL only."),
    ({"url": "postgresql://u@h/d", "host": "other", "table": "t"}, "Give either url or host, not both."),
    ({"url": "oracle://u@h/d", "table": "t"}, "url must start with postgresql://, mysql:// or sqlite:///, not "
                                             "'oracle://'."),
    ({"url": "postgresql://u@h/d?sslmode=bogus", "table": "t"},
     "sslmode is for PostgreSQL only, one of: disable, allow, prefer, require, verify-ca, verify-full."),
    ({"engine": "sqlite", "path": "/x.db", "table": "t", "batch_rows": 0},
     "batch_rows must be a positive whole number."),
    ({"engine": "sqlite", "path": "/x.db", "table": "t", "tabel": "t"},
     "Unknown key(s) tabel; the database connector knows:"),
])
def test_configuration_errors_name_the_key(config, message):
    errors = DatabaseConnector.config_errors(config)
    assert any(error.startswith(message) for error in errors), errors
    with pytest.raises(ConnectorError) as caught:
        DatabaseConnector(config)
    assert caught.value.permanent


def test_valid_configurations():
    assert DatabaseConnector.config_errors({"url": "postgresql://u:p%40ss@db.example:6543/shop?sslmode=require",
                                            "table": "orders", "schema": "sales", "cursor_column": "id"}) == []
    assert DatabaseConnector.config_errors({"url": "mysql://u@db.example/shop", "password": "x",
                                            "query": "SELECT ';' AS a, \"b;\" FROM t -- ;\n;"}) == []
    connector = DatabaseConnector({"url": "postgresql://u:p%40ss@db.example:6543/shop", "table": "t"})
    assert connector.settings["password"] == "p@ss" and connector.settings["port"] == 6543
    assert "p@ss" not in json.dumps(connector.describe())


def test_a_broken_state_is_refused_and_another_columns_state_ignored(sqlite_db):
    config = {**sqlite_db.config, "table": "sales", "cursor_column": "id"}
    with pytest.raises(ConnectorError, match="The remembered incremental state is not valid"):
        DatabaseConnector(config, state={"cursor_column": "id", "cursor_value": "x", "cursor_type": "date"})
    other = DatabaseConnector(config, state={"cursor_column": "old_id", "cursor_value": 5, "cursor_type": "int"})
    assert read(other).num_rows == ROWS
