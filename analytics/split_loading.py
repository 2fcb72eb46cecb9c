"""The ClickHouse side of a file run split into parts (pipelines/engine/parts.py; docs/ENGINE.md has the why).

Each attempt of a split run has its own temporary load table (analytics.loading.TargetLoad with a suffix) and,
with `clean_duplicates`, a table of row keys: the 64-bit hash of each row's key columns with its row number.
The commit deletes from the temporary table every row whose key appeared at a smaller row number, so the
first occurrence stays across all parts, exactly as in a one-part run.
"""

from __future__ import annotations

import pyarrow as pa

from analytics.clickhouse.client import ClickHouseTarget, quote_identifier
from analytics.loading import ROW_NUMBER_COLUMN, TargetLoad

KEY_COLUMN = "_key"


def keys_table_name(table: str, run_id: int, attempt: int) -> str:
    return f"_keys_{table}_{int(run_id)}_a{int(attempt)}"[:200]


def keys_table_create(target: ClickHouseTarget, name: str) -> None:
    """An empty keys table (one left by an earlier try of the same attempt is replaced)."""
    target.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
    target.command(f"CREATE TABLE {quote_identifier(name)} ({ROW_NUMBER_COLUMN} Int64, "
                   f"{KEY_COLUMN} UInt64) ENGINE = MergeTree ORDER BY ({KEY_COLUMN}, {ROW_NUMBER_COLUMN})")


def keys_insert(target: ClickHouseTarget, name: str, keys: pa.Table) -> None:
    """`keys`: the columns ROW_NUMBER_COLUMN and KEY_COLUMN."""
    target.insert_arrow(name, keys)


def table_drop(target: ClickHouseTarget, name: str) -> None:
    target.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


def key_repeats_remove(target: ClickHouseTarget, *, keys_table: str, temp_table: str) -> int:
    """Delete from `temp_table` every row whose key appeared at a smaller row number; how many."""
    keys, temp = quote_identifier(keys_table), quote_identifier(temp_table)
    repeats = (f"SELECT {ROW_NUMBER_COLUMN} FROM {keys} WHERE ({KEY_COLUMN}, {ROW_NUMBER_COLUMN}) NOT IN "
               f"(SELECT {KEY_COLUMN}, min({ROW_NUMBER_COLUMN}) FROM {keys} GROUP BY {KEY_COLUMN})")
    count = int(target.command(f"SELECT count() FROM ({repeats})"))
    if count:
        target.command(f"ALTER TABLE {temp} DELETE WHERE {ROW_NUMBER_COLUMN} IN ({repeats}) "
                       "SETTINGS mutations_sync = 2")
    return count


def split_tables_drop(load: TargetLoad) -> None:
    """Drop the temporary and keys tables of every split attempt of the run (after a failure or a death)."""
    prefixes = (f"_load_{load.table}_{load.run_id}_a", f"_keys_{load.table}_{load.run_id}_a")
    names = [name for (name,) in load.target.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND (startsWith(name, {p1:String}) "
        "OR startsWith(name, {p2:String}))", {"db": load.target.database, "p1": prefixes[0],
                                               "p2": prefixes[1]}).result_rows]
    for name in names:
        if name[len(prefixes[0]):].isdigit() or name[len(prefixes[1]):].isdigit():
            table_drop(load.target, name)
