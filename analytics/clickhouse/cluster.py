"""The single-node ClickHouse schema rewritten for a cluster (``TARGET_CLICKHOUSE_CLUSTER``).

With a cluster name, each table of the schema becomes two tables on every node of the cluster:

* ``<table>_local`` holds the data: the same columns, sort key and partitioning with a ``Replicated*MergeTree``
  engine, so the replicas of a shard copy each other's parts through ClickHouse Keeper;
* ``<table>``, the specification's name, is a ``Distributed`` table over the ``_local`` tables of all shards.
  Every query of the application and of the specification's users reads the whole cluster through it, and an
  ``INSERT`` into it is routed to one shard by the table's sharding key (below).

Every statement carries ``ON CLUSTER '<name>'`` and names its table with the database, so it runs once on
every node. A Distributed table stores nothing, so mutations (``ALTER ... DELETE``) and partition operations
must name ``<table>_local ON CLUSTER``: `mutation_table()` gives that name to the code that deletes.

Without a cluster name nothing here is used: the single-node DDL is byte-for-byte the migrations' text.
The embedded ClickHouse (one chDB process) has no cluster, so this DDL is checked as text and by ClickHouse's
own parser (``formatQuery``) in the tests, not executed.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from analytics.clickhouse.client import ClickHouseError, quote_identifier

LOCAL_SUFFIX = "_local"
# ZooKeeper/Keeper path of each replicated table; {shard} and {replica} are macros of each node's config,
# {database} is expanded by ClickHouse when the table is created.
REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/%s"
REPLICA_NAME = "{replica}"

# Where an INSERT into the Distributed table sends a row. Why each key:
SHARDING_KEYS = {
    # One run's checks on one shard: a run's quality report (WHERE pipeline_run_id = ...) reads one shard
    # with optimize_skip_unused_shards, and runs spread evenly over the shards.
    "data_quality_metrics": "cityHash64(pipeline_run_id)",
    # Append-only time series read aggregated over all shards: rand() spreads them evenly.
    "business_metrics": "rand()",
    # Read per run and per target column over all runs: one run's lineage stays together, runs spread.
    "data_lineage": "cityHash64(pipeline_run_id)",
    # ReplacingMergeTree collapses versions only within one shard: every version of a column's entry must
    # land on the same shard, or FINAL would show two.
    "data_catalog": "cityHash64(schema_name, table_name, column_name)",
    # Append-only, read by period across everything.
    "etl_audit_log": "rand()",
    # ReplacingMergeTree keyed by the migration's name: the same reason as data_catalog.
    "clickhouse_migrations": "cityHash64(name)",
}
# Loaded target tables (analytics/loading.py). The loader never inserts through the Distributed table: it
# attaches a run's rows on the shard of the node it talks to (docs/SCALING.md, "The load path on a cluster").
# The key keeps rows inserted by hand together per run too. Because the loader's shard need not be the key's,
# optimize_skip_unused_shards must stay off for queries on loaded tables.
LOADED_TABLE_SHARDING_KEY = "cityHash64(_pipeline_run_id)"

_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# A table name as the migrations and the loader write it: bare or in backquotes (never needing escapes).
_NAME = rf"(?P<quoted>(?P<q>`?)(?P<name>{_IDENT})(?P=q))"
_CREATE = re.compile(
    rf"^(?P<lead>\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+){_NAME}(?P<columns>\s*\(.*\)\s*)"
    r"(?P<engine_clause>ENGINE\s*=\s*(?P<engine>[A-Za-z]*MergeTree)(?:\((?P<args>(?:[^()]|\([^()]*\))*)\))?)"
    r"(?P<tail>.*)$",
    re.S | re.I,
)
_ALTER = re.compile(rf"^(?P<lead>\s*ALTER\s+TABLE\s+){_NAME}(?P<actions>\s+.*)$", re.S | re.I)
_DROP = re.compile(rf"^\s*DROP\s+TABLE\s+IF\s+EXISTS\s+{_NAME}(?:\s+SYNC)?\s*$", re.S | re.I)
# Actions that change the columns: a Distributed table must know the same columns as its local tables.
_COLUMN_ACTION = re.compile(r"^\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.I)


def check_cluster_name(name: str) -> str:
    if not _CLUSTER_NAME.match(name):
        raise ClickHouseError(_("Invalid ClickHouse cluster name: %(name)s") % {"name": name})
    return name


def on_cluster(cluster: str) -> str:
    """`` ON CLUSTER '<name>'``, or nothing for a single node."""
    return f" ON CLUSTER '{check_cluster_name(cluster)}'" if cluster else ""


def local_name(table: str) -> str:
    return f"{table}{LOCAL_SUFFIX}"


def mutation_table(target, table: str, *, quoted: bool = False) -> str:
    """What an ``ALTER TABLE ... DELETE/UPDATE`` names: `table` on one node (backquoted if `quoted`); on a
    cluster the local tables of every shard (a mutation on a Distributed table is refused: it stores nothing)."""
    if not target.cluster:
        return quote_identifier(table) if quoted else table
    return f"{target.database}.{local_name(table)}{on_cluster(target.cluster)}"


def statements(target, sql: str, *, sharding_keys: dict[str, str] | None = None) -> list[str]:
    """`sql` as it must run on `target`: unchanged on one node, translated on a cluster."""
    if not target.cluster:
        return [sql]
    return translate(sql, cluster=target.cluster, database=target.database, sharding_keys=sharding_keys)


def loaded_table_statements(target, table: str, ddl: str) -> list[str]:
    """The CREATE TABLE of a loaded target table (analytics/loading.py) as it must run on `target`."""
    return statements(target, ddl, sharding_keys={table: LOADED_TABLE_SHARDING_KEY})


def storage_table(target, table: str) -> str:
    """The table that stores `table`'s rows on the node this process talks to: the table itself, or on a
    cluster its replicated local table (partition operations such as ATTACH PARTITION need it)."""
    return f"{target.database}.{local_name(table)}" if target.cluster else quote_identifier(table)


def load_temp_table_ddl(target, temp: str, table: str) -> str:
    """A run's temporary load table, on the node this process talks to only (it is never replicated).

    On a cluster it copies the local table's columns, partitioning and sort key (ATTACH PARTITION needs them
    equal) with a plain MergeTree engine: the local table's Replicated engine would claim its Keeper path.
    """
    if not target.cluster:
        return f"CREATE TABLE {quote_identifier(temp)} AS {quote_identifier(table)}"
    return f"CREATE TABLE {quote_identifier(temp)} AS {storage_table(target, table)} ENGINE = MergeTree"


def replicated_engine(engine: str, args: str, table: str) -> str:
    """``ReplacingMergeTree(updated_at)`` -> ``ReplicatedReplacingMergeTree('<path>', '{replica}', updated_at)``."""
    params = [f"'{REPLICA_PATH % table}'", f"'{REPLICA_NAME}'"]
    if args.strip():
        params.append(args.strip())
    return f"ENGINE = Replicated{engine}({', '.join(params)})"


def distributed_table_ddl(table: str, *, cluster: str, database: str, sharding_key: str) -> str:
    local = local_name(table)
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{on_cluster(cluster)}\n"
        f"AS {database}.{local}\n"
        f"ENGINE = Distributed('{check_cluster_name(cluster)}', '{database}', '{local}', {sharding_key})"
    )


def translate(statement: str, *, cluster: str, database: str,
              sharding_keys: dict[str, str] | None = None) -> list[str]:
    """The cluster statements doing what single-node `statement` does. Only the shapes the migrations use
    are understood (CREATE TABLE IF NOT EXISTS ... ENGINE = *MergeTree, ALTER TABLE, DROP TABLE IF EXISTS);
    anything else is refused rather than guessed, so a new kind of statement is translated on purpose."""
    check_cluster_name(cluster)
    keys = SHARDING_KEYS if sharding_keys is None else sharding_keys
    if (match := _CREATE.match(statement)) and not match["engine"].lower().startswith("replicated"):
        return _translate_create(statement, match, cluster=cluster, database=database, keys=keys)
    if match := _ALTER.match(statement):
        return _translate_alter(match, cluster=cluster, database=database)
    if match := _DROP.match(statement):
        name = match["name"]
        return [f"DROP TABLE IF EXISTS {database}.{table}{on_cluster(cluster)} SYNC"
                for table in (name, local_name(name))]
    raise ClickHouseError(_("This ClickHouse statement cannot be turned into cluster DDL; extend "
                            "analytics/clickhouse/cluster.py for it: %(sql)s") % {"sql": " ".join(statement.split())})


def _translate_create(statement: str, match: re.Match, *, cluster: str, database: str, keys: dict) -> list[str]:
    name = match["name"]
    if name not in keys:
        raise ClickHouseError(_("No sharding key for ClickHouse table %(table)s: add one to SHARDING_KEYS in "
                                "analytics/clickhouse/cluster.py.") % {"table": name})
    local = local_name(name)
    local_ddl = (
        statement[:match.start("quoted")] + f"{database}.{local}{on_cluster(cluster)}"
        + statement[match.end("quoted"):match.start("engine_clause")]
        + replicated_engine(match["engine"], match["args"] or "", local)
        + statement[match.end("engine_clause"):]
    )
    return [local_ddl, distributed_table_ddl(name, cluster=cluster, database=database, sharding_key=keys[name])]


def _translate_alter(match: re.Match, *, cluster: str, database: str) -> list[str]:
    name, actions = match["name"], match["actions"]
    parts = split_actions(actions)
    column_changes = [bool(_COLUMN_ACTION.match(part)) for part in parts]
    if any(column_changes) and not all(column_changes):
        raise ClickHouseError(_("Split this ALTER into column changes and other changes for the cluster: "
                                "%(sql)s") % {"sql": " ".join(match.string.split())})
    lead = match["lead"]
    statements = [f"{lead}{database}.{local_name(name)}{on_cluster(cluster)}{actions}"]
    if all(column_changes):
        statements.append(f"{lead}{database}.{name}{on_cluster(cluster)}{actions}")
    return statements


def split_actions(actions: str) -> list[str]:
    """The comma-separated actions of an ALTER, ignoring commas inside parentheses, brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(actions):
        if quote:
            if char == quote and actions[i - 1] != "\\":
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(actions[start:i])
            start = i + 1
    parts.append(actions[start:])
    return [part for part in parts if part.strip()]
