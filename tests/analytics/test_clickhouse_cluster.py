"""ClickHouse cluster DDL (TARGET_CLICKHOUSE_CLUSTER): ON CLUSTER, Replicated engines, Distributed tables.

The embedded ClickHouse (chDB) cannot run ON CLUSTER (it has no cluster, no Keeper), so the cluster DDL is
checked as text, and every statement is parsed by ClickHouse's own parser (`formatQuery`, run by the test's
ClickHouse target). The single-node DDL is executed, and must be byte-for-byte the migration files' text.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.clickhouse import ClickHouseError, ClickHouseTarget, cluster, get_target, migrator

DB = "etl_target"
TABLES = ["data_quality_metrics", "business_metrics", "data_lineage", "data_catalog", "etl_audit_log"]
RECORD_TABLE = migrator.MIGRATIONS_TABLE
# Checksums of the migration files as deployed databases recorded them: the single-node text must not change.
DEPLOYED_CHECKSUMS = {"0001_initial": "dd97d5d70316e1dd", "0002_catalog_sensitivity": "e9a8f71a0e21b96b",
                      "0003_quality_by_day_projection": "d3697d71ee9f5795"}

# What each table's local table must be: the single-node engine made Replicated, version columns kept.
EXPECTED_ENGINES = {
    "data_quality_metrics": "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/data_quality_metrics_local', "
                            "'{replica}')",
    "business_metrics": "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/business_metrics_local', "
                        "'{replica}')",
    "data_lineage": "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/data_lineage_local', '{replica}')",
    "data_catalog": "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/data_catalog_local', "
                    "'{replica}', updated_at)",
    "etl_audit_log": "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/etl_audit_log_local', '{replica}')",
    RECORD_TABLE: "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/clickhouse_migrations_local', "
                  "'{replica}', applied_at)",
}
# The Distributed table under each specification name, with its sharding key.
EXPECTED_DISTRIBUTED = {
    "data_quality_metrics": "CREATE TABLE IF NOT EXISTS etl_target.data_quality_metrics ON CLUSTER etl "
                            "AS etl_target.data_quality_metrics_local ENGINE = Distributed('etl', 'etl_target', "
                            "'data_quality_metrics_local', cityHash64(pipeline_run_id))",
    "business_metrics": "CREATE TABLE IF NOT EXISTS etl_target.business_metrics ON CLUSTER etl "
                        "AS etl_target.business_metrics_local ENGINE = Distributed('etl', 'etl_target', "
                        "'business_metrics_local', rand())",
    "data_lineage": "CREATE TABLE IF NOT EXISTS etl_target.data_lineage ON CLUSTER etl "
                    "AS etl_target.data_lineage_local ENGINE = Distributed('etl', 'etl_target', "
                    "'data_lineage_local', cityHash64(pipeline_run_id))",
    "data_catalog": "CREATE TABLE IF NOT EXISTS etl_target.data_catalog ON CLUSTER etl "
                    "AS etl_target.data_catalog_local ENGINE = Distributed('etl', 'etl_target', "
                    "'data_catalog_local', cityHash64(schema_name, table_name, column_name))",
    "etl_audit_log": "CREATE TABLE IF NOT EXISTS etl_target.etl_audit_log ON CLUSTER etl "
                     "AS etl_target.etl_audit_log_local ENGINE = Distributed('etl', 'etl_target', "
                     "'etl_audit_log_local', rand())",
    RECORD_TABLE: "CREATE TABLE IF NOT EXISTS etl_target.clickhouse_migrations ON CLUSTER etl "
                  "AS etl_target.clickhouse_migrations_local ENGINE = Distributed('etl', 'etl_target', "
                  "'clickhouse_migrations_local', cityHash64(name))",
}
EXPECTED_0002 = [
    f"ALTER TABLE etl_target.{table} ON CLUSTER etl (ADD COLUMN IF NOT EXISTS {column} AFTER {after})"
    for column, after in [("`sensitivity_state` LowCardinality(String) DEFAULT 'none'", "sensitivity_level"),
                          ("`sensitivity_evidence` String DEFAULT '{}'", "sensitivity_state"),
                          ("`column_fingerprint` String DEFAULT ''", "sensitivity_evidence")]
    for table in ("data_catalog_local", "data_catalog")
]


def _target(cluster_name: str = "etl", **config) -> ClickHouseTarget:
    """A server target that is never connected to: these tests look at the DDL it would run."""
    return ClickHouseTarget({"DATABASE": DB, "CLUSTER": cluster_name, **config})


def _cluster_statements() -> list[str]:
    target = _target()
    statements = migrator.setup_statements(target)
    for migration in migrator.load_migrations():
        statements += migrator.statements_for(target, migration.operations)
    return statements


def _parsed(clickhouse, sql: str) -> str:
    """ClickHouse's own normalized text of `sql` on one line; a syntax error fails the test."""
    return clickhouse.query("SELECT formatQuerySingleLine({q:String})", {"q": sql}).result_rows[0][0]


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


# --- one node: unchanged ---------------------------------------------------------------------------------

def test_without_a_cluster_the_ddl_is_the_migration_files_text():
    target = _target("")
    assert not target.cluster
    for migration in migrator.load_migrations():
        assert migrator.statements_for(target, migration.operations) == list(migration.operations)
        assert migration.checksum == DEPLOYED_CHECKSUMS[migration.name]
    assert migrator.setup_statements(target) == ["CREATE DATABASE IF NOT EXISTS `etl_target`",
                                                 migrator._RECORD_TABLE_DDL]


def test_a_single_node_migrate_on_chdb_executes_exactly_the_files_statements(clickhouse, settings, monkeypatch):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": f"{clickhouse.database}_bytes"}
    target = get_target()
    target.drop_database()
    executed: list[str] = []
    original = ClickHouseTarget.connection

    @contextmanager
    def recording(self, *, database=True):
        with original(self, database=database) as client:
            command = client.command
            if not getattr(command, "recording", False):  # a nested block reuses the same client

                def record(sql, *args, **kwargs):
                    executed.append(sql)
                    return command(sql, *args, **kwargs)

                record.recording = True
                monkeypatch.setattr(client, "command", record)
            yield client

    monkeypatch.setattr(ClickHouseTarget, "connection", recording)
    try:
        migrator.migrate(target)
        ddl = [sql for sql in executed if sql.lstrip().startswith(("CREATE", "ALTER"))]
        expected = [f"CREATE DATABASE IF NOT EXISTS `{target.database}`", migrator._RECORD_TABLE_DDL]
        expected += [op for migration in migrator.load_migrations() for op in migration.operations]
        assert ddl == expected
        assert "ON CLUSTER" not in "".join(executed)
        engines = dict(target.query("SELECT name, engine FROM system.tables WHERE database = {db:String}",
                                    {"db": target.database}).result_rows)
        assert engines == {**dict.fromkeys(TABLES, "MergeTree"), "data_catalog": "ReplacingMergeTree",
                           RECORD_TABLE: "ReplacingMergeTree"}
    finally:
        monkeypatch.undo()
        target.drop_database()


# --- a cluster: the DDL as text, parsed by ClickHouse ------------------------------------------------------

def test_every_cluster_statement_runs_on_the_cluster_and_names_its_database():
    statements = _cluster_statements()
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `etl_target` ON CLUSTER 'etl'"
    for sql in statements:
        assert "ON CLUSTER 'etl'" in sql, sql
        assert re.match(r"\s*(CREATE (DATABASE|TABLE) IF NOT EXISTS|ALTER TABLE) `?etl_target`?[.\s]", sql), sql


def test_each_table_becomes_a_replicated_local_table_and_a_distributed_table(clickhouse):
    statements = [_parsed(clickhouse, sql) for sql in _cluster_statements()]
    creates = {re.match(r"CREATE TABLE IF NOT EXISTS etl_target\.(\w+) ", sql)[1]: sql
               for sql in statements if sql.startswith("CREATE TABLE")}
    assert set(creates) == {name for table in [*TABLES, RECORD_TABLE] for name in (table, f"{table}_local")}

    single_node = {re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", op)[1]: op
                   for op in [migrator._RECORD_TABLE_DDL, *migrator.load_migrations()[0].operations]}
    for table in [*TABLES, RECORD_TABLE]:
        local = creates[f"{table}_local"]
        assert local.startswith(f"CREATE TABLE IF NOT EXISTS etl_target.{table}_local ON CLUSTER etl (")
        assert f" ENGINE = {EXPECTED_ENGINES[table]}" in local
        # Columns, indexes, constraints, partitioning and sort key: exactly those of the single-node table.
        original = _parsed(clickhouse, single_node[table])
        assert _body(local) == _body(original), table
        assert creates[table] == EXPECTED_DISTRIBUTED[table]


def _body(create_sql: str) -> tuple[str, str]:
    """(column list, everything after the engine) of a normalized CREATE TABLE."""
    match = re.match(r"CREATE TABLE IF NOT EXISTS \S+(?: ON CLUSTER \S+)? (\(.*\)) ENGINE = \w+(?:\(.*?\))?"
                     r"((?: PARTITION BY| ORDER BY).*)$", create_sql)
    assert match, create_sql
    return match[1], match[2]


def test_column_changes_reach_both_the_local_and_the_distributed_table(clickhouse):
    target = _target()
    migration = next(m for m in migrator.load_migrations() if m.name == "0002_catalog_sensitivity")
    statements = migrator.statements_for(target, migration.operations)
    assert [_parsed(clickhouse, sql) for sql in statements] == EXPECTED_0002


def test_engine_variants_keep_their_parameters(clickhouse):
    def engine(single: str) -> str:
        sql = f"CREATE TABLE IF NOT EXISTS totals (k String, v UInt64, n UInt64) ENGINE = {single} ORDER BY k"
        local, _ = cluster.translate(sql, cluster="etl", database=DB, sharding_keys={"totals": "cityHash64(k)"})
        return re.search(r"ENGINE = (.*) ORDER BY", _parsed(clickhouse, local))[1]

    path = "'/clickhouse/tables/{shard}/{database}/totals_local', '{replica}'"
    assert engine("MergeTree()") == f"ReplicatedMergeTree({path})"
    assert engine("SummingMergeTree((v, n))") == f"ReplicatedSummingMergeTree({path}, (v, n))"
    assert engine("ReplacingMergeTree(v)") == f"ReplicatedReplacingMergeTree({path}, v)"
    assert engine("AggregatingMergeTree") == f"ReplicatedAggregatingMergeTree({path})"


def test_drop_and_data_changes_go_to_the_right_tables():
    assert cluster.translate("DROP TABLE IF EXISTS business_metrics SYNC", cluster="etl", database=DB) == [
        "DROP TABLE IF EXISTS etl_target.business_metrics ON CLUSTER 'etl' SYNC",
        "DROP TABLE IF EXISTS etl_target.business_metrics_local ON CLUSTER 'etl' SYNC",
    ]
    # Index and TTL changes and mutations concern the stored data: the local tables only.
    assert cluster.translate("ALTER TABLE data_lineage ADD INDEX idx_t target_table TYPE bloom_filter",
                             cluster="etl", database=DB) == [
        "ALTER TABLE etl_target.data_lineage_local ON CLUSTER 'etl' ADD INDEX idx_t target_table TYPE bloom_filter"]
    assert cluster.mutation_table(_target(), "data_lineage") == "etl_target.data_lineage_local ON CLUSTER 'etl'"
    assert cluster.mutation_table(_target(""), "data_lineage") == "data_lineage"


@pytest.mark.parametrize("sql, message", [
    ("CREATE TABLE IF NOT EXISTS unknown_table (a UInt8) ENGINE = MergeTree ORDER BY a", "No sharding key"),
    ("CREATE TABLE t (a UInt8) ENGINE = Memory", "cannot be turned into cluster DDL"),
    # The translation makes tables replicated itself; a file that already did is not single-node DDL.
    ("CREATE TABLE IF NOT EXISTS data_lineage (a UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY a",
     "cannot be turned into cluster DDL"),
    ("ALTER TABLE data_catalog ADD COLUMN x String, ADD INDEX i x TYPE set(0)", "Split this ALTER"),
    ("RENAME TABLE data_catalog TO data_catalog_old", "cannot be turned into cluster DDL"),
])
def test_statements_the_translation_does_not_understand_are_refused(sql, message):
    with pytest.raises(ClickHouseError, match=message):
        cluster.translate(sql, cluster="etl", database=DB)


def test_a_malformed_cluster_name_is_refused():
    with pytest.raises(ClickHouseError, match="Invalid ClickHouse cluster name"):
        _target("etl' SETTINGS x=1 --")


def test_commas_inside_expressions_do_not_split_an_alter():
    assert cluster.split_actions(" ADD COLUMN a Tuple(x UInt8, y String) DEFAULT (1, 'a,b'), DROP COLUMN b") == [
        " ADD COLUMN a Tuple(x UInt8, y String) DEFAULT (1, 'a,b')", " DROP COLUMN b"]


# --- the commands ------------------------------------------------------------------------------------------

@pytest.fixture
def cluster_settings(clickhouse, settings):
    """The tests' ClickHouse target, with a cluster name and a database of its own (never created)."""
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "CLUSTER": "etl",
                                  "DATABASE": f"{clickhouse.database}_cluster"}
    target = get_target()
    target.drop_database()
    yield target
    target.drop_database()


def test_plan_on_a_cluster_prints_the_cluster_ddl_without_running_it(cluster_settings):
    out = _run("migrate_clickhouse", "--plan")
    database = cluster_settings.database
    assert f"CREATE DATABASE IF NOT EXISTS `{database}` ON CLUSTER 'etl';" in out
    for table in [*TABLES, RECORD_TABLE]:
        assert f"CREATE TABLE IF NOT EXISTS {database}.{table}_local ON CLUSTER 'etl'" in out
        assert f"ENGINE = Distributed('etl', '{database}', '{table}_local', " in out
    assert out.index("0001_initial") < out.index("data_quality_metrics_local") < out.index("0002_catalog")
    assert not cluster_settings.database_exists()


def test_migrating_a_cluster_the_clickhouse_does_not_know_is_a_clear_error(cluster_settings):
    # The embedded ClickHouse is one node with no cluster: ClickHouse itself says so, and nothing is created.
    with pytest.raises(CommandError, match="Requested cluster 'etl' not found"):
        _run("migrate_clickhouse")
    assert not cluster_settings.database_exists()


# --- the load path on a cluster (analytics/loading.py) ----------------------------------------------------

def _orders_schema():
    import pyarrow as pa

    return pa.schema([("order_id", pa.int64()), ("amount", pa.float64())])


def test_a_loaded_table_becomes_a_replicated_local_table_and_a_distributed_table(clickhouse):
    from analytics.loading import target_table_ddl

    ddl = target_table_ddl("orders", _orders_schema())
    assert cluster.loaded_table_statements(_target(""), "orders", ddl) == [ddl]
    local, distributed = [_parsed(clickhouse, sql) for sql in cluster.loaded_table_statements(_target(), "orders", ddl)]
    assert local == (
        "CREATE TABLE IF NOT EXISTS etl_target.orders_local ON CLUSTER etl (`_row_number` Int64, "
        "`order_id` Nullable(Int64), `amount` Nullable(Float64), `_pipeline_run_id` UInt64, "
        "`_loaded_at` DateTime64(3, 'UTC')) "
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/orders_local', '{replica}') "
        "PARTITION BY toYYYYMM(_loaded_at) ORDER BY (_pipeline_run_id, _row_number)")
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS etl_target.orders ON CLUSTER etl AS etl_target.orders_local "
        "ENGINE = Distributed('etl', 'etl_target', 'orders_local', cityHash64(_pipeline_run_id))")
    add = "ALTER TABLE `orders` ADD COLUMN IF NOT EXISTS `region` Nullable(String)"
    assert [_parsed(clickhouse, sql) for sql in cluster.statements(_target(), add)] == [
        f"ALTER TABLE etl_target.{table} ON CLUSTER etl (ADD COLUMN IF NOT EXISTS `region` Nullable(String))"
        for table in ("orders_local", "orders")]
    assert cluster.statements(_target(""), add) == [add]


def test_the_load_names_this_nodes_tables_for_attach_and_every_shard_for_deletes():
    one_node, on_cluster = _target(""), _target()
    assert cluster.load_temp_table_ddl(one_node, "_load_orders_7", "orders") == \
        "CREATE TABLE `_load_orders_7` AS `orders`"
    assert cluster.load_temp_table_ddl(on_cluster, "_load_orders_7", "orders") == \
        "CREATE TABLE `_load_orders_7` AS etl_target.orders_local ENGINE = MergeTree"
    assert cluster.storage_table(one_node, "orders") == "`orders`"
    assert cluster.storage_table(on_cluster, "orders") == "etl_target.orders_local"
    assert cluster.mutation_table(one_node, "orders", quoted=True) == "`orders`"
    assert cluster.mutation_table(on_cluster, "orders", quoted=True) == "etl_target.orders_local ON CLUSTER 'etl'"


def test_the_cluster_loads_node_local_statements_run_on_clickhouse(clickhouse):
    """The temporary table and the ATTACH of the cluster path name no cluster: they run on ClickHouse as
    they are. A plain MergeTree `orders_local` (the loader's own DDL) stands in for the replicated one."""
    import pyarrow as pa

    from analytics.loading import target_table_ddl

    on_cluster = _target(DATABASE=clickhouse.database)
    clickhouse.command(target_table_ddl("orders_local", _orders_schema()))
    clickhouse.command(cluster.load_temp_table_ddl(on_cluster, "_load_orders_7", "orders"))
    rows = pa.table({"_row_number": pa.array([1, 2, 3], pa.int64()), "order_id": pa.array([10, 11, 12], pa.int64()),
                     "amount": [1.5, 2.5, 3.5], "_pipeline_run_id": pa.array([7] * 3, pa.uint64()),
                     "_loaded_at": pa.array([1_700_000_000_000] * 3, pa.timestamp("ms", tz="UTC"))})
    clickhouse.insert_arrow("_load_orders_7", rows)
    (partition,), = clickhouse.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = {db:String} "
                                     "AND table = '_load_orders_7' AND active", {"db": clickhouse.database}).result_rows
    clickhouse.command(f"ALTER TABLE {cluster.storage_table(on_cluster, 'orders')} ATTACH PARTITION ID "
                       f"'{partition}' FROM `_load_orders_7`")
    assert clickhouse.rows("SELECT count() AS n, sum(amount) AS total FROM orders_local "
                           "WHERE _pipeline_run_id = 7") == [{"n": 3, "total": 7.5}]
