"""Exactly-once loading of a run's rows into a ClickHouse target table.

A run's batches go to a temporary table of their own (`_load_<table>_<run>`). Only when every batch is in
and the counts reconcile does `commit()` make them visible, in one atomic ClickHouse operation per partition
(``ATTACH PARTITION ... FROM``), after removing whatever an earlier attempt of the same run committed. So:
a failed run leaves nothing in the target; re-running or retrying a run never duplicates rows; readers never
see half a run. A pipeline's write mode (replace, merge) changes what the commit does with the rows already
there: analytics/write_modes.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pyarrow as pa

from analytics import write_modes
from analytics.clickhouse import cluster
from analytics.clickhouse.client import ClickHouseError, ClickHouseTarget, quote_identifier
from etlsite.handoff import HandOff
from etlsite.messages import _msg, messages_join

RUN_ID_COLUMN = "_pipeline_run_id"
LOADED_AT_COLUMN = "_loaded_at"
ROW_NUMBER_COLUMN = "_row_number"
# Every table the loader creates has these: how a pipeline's table is told from any other.
LOADER_COLUMNS = (ROW_NUMBER_COLUMN, RUN_ID_COLUMN, LOADED_AT_COLUMN)
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PARTITION_ID = re.compile(r"^[0-9A-Za-z_-]+$")
# Rows gathered before one INSERT: every insert makes a part (files per column, then merges), which costs
# about as much as inserting a few hundred thousand rows more, so small batches are sent together.
INSERT_ROWS = 262_144
INSERT_BYTES = 24 << 20  # ... and memory stays bounded whatever the row width


def clickhouse_type(arrow_type: pa.DataType) -> str:
    """The ClickHouse column type for an Arrow type; data columns are Nullable (sources have gaps)."""
    if pa.types.is_boolean(arrow_type):
        inner = "Bool"
    elif pa.types.is_integer(arrow_type):
        bits = arrow_type.bit_width
        inner = f"{'UInt' if pa.types.is_unsigned_integer(arrow_type) else 'Int'}{bits}"
    elif pa.types.is_floating(arrow_type):
        inner = "Float32" if arrow_type.bit_width == 32 else "Float64"
    elif pa.types.is_decimal(arrow_type):
        inner = f"Decimal({min(arrow_type.precision, 76)}, {arrow_type.scale})"
    elif pa.types.is_date(arrow_type):
        inner = "Date32"
    elif pa.types.is_timestamp(arrow_type):
        precision = {"s": 0, "ms": 3, "us": 6, "ns": 9}[arrow_type.unit]
        inner = f"DateTime64({precision}, 'UTC')"
    elif pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        inner = "String"
    else:
        raise ClickHouseError(_msg("Arrow type %(type)s cannot be loaded into ClickHouse; cast it first.")
                              % {"type": arrow_type})
    return f"Nullable({inner})"


def target_table_ddl(table: str, schema: pa.Schema) -> str:
    columns = [f"{quote_identifier(ROW_NUMBER_COLUMN)} Int64"]
    columns += [f"{quote_identifier(f.name)} {clickhouse_type(f.type)}" for f in schema if f.name != ROW_NUMBER_COLUMN]
    columns += [f"{quote_identifier(RUN_ID_COLUMN)} UInt64",
                f"{quote_identifier(LOADED_AT_COLUMN)} DateTime64(3, 'UTC')"]
    # One run's rows lie together (ORDER BY run, row): per-run counts, deletes and previews read little.
    # Monthly partitions by load time keep partition counts low and let old loads be dropped cheaply.
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(table)} (\n    " + ",\n    ".join(columns) + "\n)\n"
        f"ENGINE = MergeTree\nPARTITION BY toYYYYMM({LOADED_AT_COLUMN})\n"
        f"ORDER BY ({RUN_ID_COLUMN}, {ROW_NUMBER_COLUMN})"
    )


def table_columns(target: ClickHouseTarget, table: str) -> dict[str, str]:
    rows = target.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "ORDER BY position", {"db": target.database, "t": table}).result_rows
    return dict(rows)


class TargetTypeConflict(ClickHouseError):
    """The data's column types differ from the target table's: `conflicts` is [(column, stored, wanted)].
    Permanent (a retry meets the same table); pipelines.type_changes records it for a migration."""

    def __init__(self, table: str, conflicts: list[tuple[str, str, str]]):
        self.table = table
        self.conflicts = list(conflicts)
        super().__init__(messages_join([
            _msg("Column %(column)s of target table %(table)s is %(have)s, the data is now %(want)s; "
                 "change the pipeline's data types or migrate the table.")
            % {"column": column, "table": table, "have": have, "want": want} for column, have, want in conflicts]))


class TargetLoad:
    """Load one run into `table`: begin(schema), append(batch)..., then commit() or abort()."""

    def __init__(self, target: ClickHouseTarget, *, table: str, pipeline_run_id: int,
                 loaded_at: datetime | None = None, replace_rows: list[int] | None = None,
                 insert_rows: int = INSERT_ROWS, temp_suffix: str = "", write_mode: str = write_modes.APPEND,
                 merge_key: tuple[str, ...] = ()):
        """`replace_rows`: commit replaces only these source rows of the run (a quarantine replay), not
        the whole run (whatever the write mode). `write_mode`, `merge_key`: analytics.write_modes."""
        if not _TABLE_NAME.match(table):
            raise ClickHouseError(_msg("Invalid target table name: %(name)s") % {"name": table})
        self.target = target
        self.table = table
        self.run_id = int(pipeline_run_id)
        self.loaded_at = (loaded_at or datetime.now(timezone.utc)).replace(microsecond=0)
        # A split run's attempt has a table of its own (temp_suffix), so a straggling part of an earlier
        # attempt can never write into a later attempt's rows.
        self.temp_table = f"_load_{table}_{self.run_id}{temp_suffix}"[:200]
        self.rows_appended = 0
        self.replace_rows = sorted(set(replace_rows)) if replace_rows is not None else None
        self._columns: list[str] | None = None
        self.insert_rows = max(1, int(insert_rows))
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.write_mode = write_mode if replace_rows is None else write_modes.APPEND
        self.merge_key = tuple(merge_key)
        self.rows_replaced = 0  # rows of other runs the commit removed (replace: the old content; merge: keys)
        self._background = False
        self._sender: _Sender | None = None

    def send_in_background(self) -> None:
        """From now on each INSERT goes out from a thread of its own (with its own client, started with the
        first INSERT), so the caller prepares the next rows while ClickHouse takes these; every step that
        reads or changes the temporary table waits for the inserts first, and an insert's error is raised
        at the caller's next step. The load must end in commit() or abort(), which end the thread."""
        self._background = True

    def _sent(self) -> None:
        """Every INSERT handed to the thread is in (or its error raised here)."""
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.close()

    def check_target(self) -> dict[str, str]:
        """The target table's columns ({} when it does not exist yet); TargetTableRefused when it is a table no
        pipeline may load into (analytics.target_tables)."""
        from analytics.target_tables import TargetTableRefused, foreign_table_error, reserved_table_error

        problem = reserved_table_error(self.table)
        existing = {} if problem else table_columns(self.target, self.table)
        problem = problem or foreign_table_error(self.table, existing, LOADER_COLUMNS)
        if problem:
            raise TargetTableRefused(problem)
        return existing

    def begin(self, schema: pa.Schema) -> list[str]:
        """Create the target table if needed, add columns the source gained, and a fresh temporary table.

        Returns the columns added to an existing target table (schema evolution, never a drop).
        """
        existing = self.check_target()
        write_modes.write_mode_check(self.target, mode=self.write_mode, merge_key=self.merge_key)
        added: list[str] = []
        with self.target.connection() as client:
            if not existing:
                for sql in cluster.loaded_table_statements(self.target, self.table,
                                                           target_table_ddl(self.table, schema)):
                    client.command(sql)
            else:
                wanted = {f.name: clickhouse_type(f.type) for f in schema if f.name != ROW_NUMBER_COLUMN}
                # Every differing column at once, before anything changes: one migration covers them all.
                conflicts = [(name, existing[name], kind) for name, kind in wanted.items()
                             if name in existing and existing[name] != kind]
                if conflicts:
                    raise TargetTypeConflict(self.table, conflicts)
                for name, kind in wanted.items():
                    if name not in existing:
                        sql = (f"ALTER TABLE {quote_identifier(self.table)} ADD COLUMN IF NOT EXISTS "
                               f"{quote_identifier(name)} {kind}")
                        for statement in cluster.statements(self.target, sql):
                            client.command(statement)
                        added.append(name)
            client.command(f"DROP TABLE IF EXISTS {quote_identifier(self.temp_table)}")
            client.command(cluster.load_temp_table_ddl(self.target, self.temp_table, self.table))
        self._columns = [f.name for f in schema if f.name != ROW_NUMBER_COLUMN]
        return added

    def extend(self, schema: pa.Schema) -> list[str]:
        """Columns that appeared mid-run (a growing API schema): add them to the target and this load."""
        if self._columns is None:
            raise RuntimeError("TargetLoad.begin() must come first")
        new = [f for f in schema if f.name != ROW_NUMBER_COLUMN and f.name not in self._columns]
        if not new:
            return []
        self.flush()
        self._sent()  # the rows sent so far go in before the table changes
        with self.target.connection() as client:
            for field in new:
                for table in (self.table, self.temp_table):
                    sql = (f"ALTER TABLE {quote_identifier(table)} ADD COLUMN IF NOT EXISTS "
                           f"{quote_identifier(field.name)} {clickhouse_type(field.type)}")
                    # The temporary table lives on this node only; the target spans the cluster.
                    for statement in cluster.statements(self.target, sql) if table == self.table else [sql]:
                        client.command(statement)
        self._columns += [f.name for f in new]
        return [f.name for f in new]

    def resume(self, schema: pa.Schema) -> None:
        """Append to a temporary table that another task began (a part of a split run)."""
        self._columns = [f.name for f in schema if f.name != ROW_NUMBER_COLUMN]

    def append(self, batch: pa.Table | pa.RecordBatch) -> int:
        if self._columns is None:
            raise RuntimeError("TargetLoad.begin() must come first")
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows == 0:
            return 0
        n = table.num_rows
        table = table.append_column(RUN_ID_COLUMN, pa.repeat(pa.scalar(self.run_id, pa.uint64()), n))
        table = table.append_column(LOADED_AT_COLUMN, pa.repeat(
            pa.scalar(self.loaded_at, pa.timestamp("ms", tz="UTC")), n))
        if self._pending and not self._pending[0].schema.equals(table.schema):
            self.flush()  # the columns changed (a growing source): the gathered rows go first
        self._pending.append(table)
        self._pending_rows += n
        self.rows_appended += n
        if self._pending_rows >= self.insert_rows or sum(t.nbytes for t in self._pending) >= INSERT_BYTES:
            self.flush()
        return n

    def flush(self, *, wait: bool = False) -> None:
        """Insert the rows gathered so far (one INSERT); `wait`: until every INSERT sent so far is in (progress
        then counts only rows the temporary table holds)."""
        if wait:
            self.flush()
            if self._sender is not None:
                self._sender.wait()
            return
        if not self._pending:
            return
        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        if self._background:
            if self._sender is None:
                self._sender = _Sender(self.target, self.temp_table)
            self._sender.put(table)
        else:
            self.target.insert_arrow(self.temp_table, table)

    def staged_count(self) -> int:
        self.flush()
        self._sent()
        return int(self.target.command(f"SELECT count() FROM {quote_identifier(self.temp_table)}"))

    def repeats_remove(self) -> int:
        """merge: keep the run's last row per key (analytics.write_modes); how many rows went."""
        if self.write_mode != write_modes.MERGE:
            return 0
        self.flush()
        self._sent()
        removed = write_modes.run_repeats_remove(self.target, temp_table=self.temp_table, merge_key=self.merge_key)
        self.rows_appended -= removed
        return removed

    def commit(self) -> int:
        """Replace whatever this run had in the target with the temporary table's rows; returns the count.

        With write_mode replace the table's whole content is replaced, with merge the older rows of the run's
        keys go (analytics.write_modes); `rows_replaced` counts what went."""
        temp = quote_identifier(self.temp_table)
        self.flush()
        self._sent()
        with self.target.connection() as client:
            expected = int(client.command(f"SELECT count() FROM {temp}"))
            if expected != self.rows_appended:
                raise ClickHouseError(_msg("ClickHouse holds %(have)d rows of this run, %(sent)d were sent.")
                                      % {"have": expected, "sent": self.rows_appended})
            if self.write_mode == write_modes.REPLACE:
                # Afterwards the temporary table holds the old content, dropped below.
                self.rows_replaced = write_modes.table_swap(client, database=self.target.database, table=self.table,
                                                            temp_table=self.temp_table)
            else:
                self._delete_committed(client)
                self._attach(client)
                if self.write_mode == write_modes.MERGE:
                    self.rows_replaced = write_modes.older_versions_delete(
                        self.target, table=self.table, temp_table=self.temp_table, run_id=self.run_id,
                        merge_key=self.merge_key)
            loaded = self.committed_count()
            client.command(f"DROP TABLE IF EXISTS {temp}")
        if loaded != expected:
            raise ClickHouseError(_msg("The target holds %(have)d rows of run %(run)d after the load, expected "
                                       "%(want)d.") % {"have": loaded, "run": self.run_id, "want": expected})
        return loaded

    def _attach(self, client) -> None:
        """Move the temporary table's rows into the target, one atomic ATTACH PARTITION per partition."""
        # On a cluster: attach into the replicated local table of this node's shard (Keeper copies the parts
        # to the shard's other replicas); the temporary table is on this node.
        temp, table = quote_identifier(self.temp_table), cluster.storage_table(self.target, self.table)
        partitions = client.query(
            "SELECT DISTINCT partition_id FROM system.parts WHERE database = {db:String} AND table = {t:String} "
            "AND active", parameters={"db": self.target.database, "t": self.temp_table}).result_rows
        for (partition_id,) in partitions:
            # Partition ids come from system.parts (digits for toYYYYMM); checked, since DDL takes no binds.
            if not _PARTITION_ID.match(partition_id):
                raise ClickHouseError(_msg("Unexpected partition id %(id)s") % {"id": partition_id})
            client.command(f"ALTER TABLE {table} ATTACH PARTITION ID '{partition_id}' FROM {temp}")

    def _scope(self) -> tuple[str, dict]:
        where = f"{RUN_ID_COLUMN} = {{run:UInt64}}"
        params: dict = {"run": self.run_id}
        if self.replace_rows is not None:
            where += f" AND {ROW_NUMBER_COLUMN} IN {{rows:Array(Int64)}}"
            params["rows"] = self.replace_rows
        return where, params

    def committed_count(self) -> int:
        """Rows of this run (or of its replayed rows) in the target."""
        where, params = self._scope()
        return int(self.target.command(f"SELECT count() FROM {quote_identifier(self.table)} WHERE {where}", params))

    def _delete_committed(self, client) -> None:
        if self.committed_count():
            where, params = self._scope()
            # Synchronous, so the attach below cannot race the deletion of the earlier attempt's rows.
            # On a cluster on every shard: an earlier attempt may have committed through another node.
            table = cluster.mutation_table(self.target, self.table, quoted=True)
            client.command(f"ALTER TABLE {table} DELETE WHERE {where} SETTINGS mutations_sync = 2",
                           parameters=params)

    def abort(self) -> None:
        """Drop the temporary table: nothing of this attempt reaches the target."""
        self._pending, self._pending_rows = [], 0
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.stop()
        self.target.command(f"DROP TABLE IF EXISTS {quote_identifier(self.temp_table)}")


class _Sender:
    """A load's INSERTs, sent in order from a thread of its own with a client of its own."""

    def __init__(self, target: ClickHouseTarget, table: str):
        self.target = target
        self.table = table
        self._client = None
        # One INSERT waiting while one goes out: each is up to INSERT_BYTES of the worker's memory.
        self._thread = HandOff(self._insert, name="clickhouse-insert", depth=1, on_exit=self._client_close)

    def put(self, table: pa.Table) -> None:
        self._thread.put(table)

    def wait(self) -> None:
        self._thread.wait()

    def close(self) -> None:
        self._thread.close()

    def stop(self) -> None:
        self._thread.stop()

    def _insert(self, table: pa.Table) -> None:
        if self._client is None:
            self._client = self.target.own_client()
        self.target.insert_arrow(self.table, table, client=self._client)

    def _client_close(self) -> None:
        if self._client is not None:
            self._client.close()


def run_rows_delete(target: ClickHouseTarget, *, table: str, pipeline_run_id: int) -> None:
    """Remove a run's committed rows (used when a run is re-run from scratch or rolled back)."""
    TargetLoad(target, table=table, pipeline_run_id=pipeline_run_id).abort()
    load = TargetLoad(target, table=table, pipeline_run_id=pipeline_run_id)
    with target.connection() as client:
        load._delete_committed(client)
