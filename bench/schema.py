"""The flights table's column types, and its typed CREATE TABLE for each database a contender loads into."""

from __future__ import annotations

from bench.data import FLIGHTS_COLUMNS

INTEGER_COLUMNS = ("year", "month", "day", "dep_time", "sched_dep_time", "arr_time", "sched_arr_time", "flight",
                   "hour", "minute")
FLOAT_COLUMNS = ("dep_delay", "arr_delay", "air_time", "distance")
STRING_COLUMNS = ("carrier", "tailnum", "origin", "dest")
DATETIME_COLUMNS = ("time_hour",)
assert set(INTEGER_COLUMNS + FLOAT_COLUMNS + STRING_COLUMNS + DATETIME_COLUMNS) == set(FLIGHTS_COLUMNS)

_TYPES = {
    "postgres": {"integer": "integer", "float": "double precision", "string": "text", "datetime": "timestamptz"},
    "clickhouse": {"integer": "Nullable(Int32)", "float": "Nullable(Float64)", "string": "Nullable(String)",
                   "datetime": "Nullable(DateTime('UTC'))"},
    "sqlite": {"integer": "INTEGER", "float": "REAL", "string": "TEXT", "datetime": "TEXT"},
}


def kind_of(column: str) -> str:
    for kind, columns in (("integer", INTEGER_COLUMNS), ("float", FLOAT_COLUMNS), ("string", STRING_COLUMNS)):
        if column in columns:
            return kind
    return "datetime"


def create_table(dialect: str, table: str, *, engine: str = "") -> str:
    types = _TYPES[dialect]
    columns = ", ".join(f"{name} {types[kind_of(name)]}" for name in FLIGHTS_COLUMNS)
    return f"CREATE TABLE {table} ({columns}){engine}"
