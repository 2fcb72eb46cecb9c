"""PostgreSQL for the benchmark: its own databases on the local server, created and dropped as the admin role."""

from __future__ import annotations

import psycopg2
from psycopg2 import sql

from bench.config import BenchConfig

# The product's roles (as .ci/run creates them): the run under test connects as a production install would.
METADATA_ROLE = ("metadata_user", "metadata_password")
STAGING_ROLE = ("staging_user", "staging_password")
METADATA_DB = "bench_metadata"
STAGING_DB = "bench_staging"
CONTENDERS_DB = "bench_contenders"
# The alternatives load as an ordinary role with a password, as their documentation sets them up (dlt insists).
CONTENDERS_ROLE = ("bench_user", "bench_password")


def connect(cfg: BenchConfig, database: str = "postgres"):
    connection = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, user=cfg.pg_admin_user, dbname=database)
    connection.autocommit = True
    return connection


def roles_ensure(cfg: BenchConfig) -> None:
    with connect(cfg) as connection, connection.cursor() as cursor:
        for role, password in (METADATA_ROLE, STAGING_ROLE, CONTENDERS_ROLE):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                # CREATEDB as `.ci/run` makes them: the same roles serve the suite's test databases there.
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD %s").format(sql.Identifier(role)),
                               [password])


def database_recreate(cfg: BenchConfig, name: str, owner: str | None = None) -> None:
    connection = connect(cfg)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner:
                statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            cursor.execute(statement)
    finally:
        connection.close()


def database_drop(cfg: BenchConfig, name: str) -> None:
    connection = connect(cfg)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


def query(cfg: BenchConfig, database: str, statement: str, params=()) -> list[tuple]:
    connection = connect(cfg, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def server_version(cfg: BenchConfig) -> str:
    return query(cfg, "postgres", "SHOW server_version")[0][0]
