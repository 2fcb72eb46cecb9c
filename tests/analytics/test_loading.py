"""Exactly-once loading: nothing visible before commit, a re-run replaces, an abort leaves nothing."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from analytics.clickhouse import ClickHouseError
from analytics.loading import TargetLoad, clickhouse_type, run_rows_delete, target_table_ddl

SCHEMA = pa.schema([
    ("_row_number", pa.int64()),
    ("date", pa.date32()),
    ("amount", pa.float64()),
    ("product_id", pa.int64()),
    ("price", pa.decimal128(38, 9)),
    ("paid", pa.bool_()),
    ("at", pa.timestamp("us", tz="UTC")),
    ("channel", pa.string()),
])


def _batch(start: int, n: int) -> pa.Table:
    rows = range(start, start + n)
    return pa.table({
        "_row_number": pa.array(list(rows), pa.int64()),
        "date": pa.array([date(2024, 1, 1 + i % 28) for i in rows], pa.date32()),
        "amount": pa.array([None if i % 10 == 0 else i * 1.5 for i in rows], pa.float64()),
        "product_id": pa.array([i % 7 for i in rows], pa.int64()),
        "price": pa.array([Decimal(i) / 4 for i in rows], pa.decimal128(38, 9)),
        "paid": pa.array([i % 2 == 0 for i in rows], pa.bool_()),
        "at": pa.array([datetime(2024, 1, 1, tzinfo=timezone.utc)] * n, pa.timestamp("us", tz="UTC")),
        "channel": pa.array(["online" if i % 3 else None for i in rows], pa.string()),
    }, schema=SCHEMA)


def _load(target, run_id: int, batches: list[pa.Table], table="sales") -> TargetLoad:
    load = TargetLoad(target, table=table, pipeline_run_id=run_id)
    load.begin(SCHEMA)
    for batch in batches:
        load.append(batch)
    return load


def test_types_map_to_nullable_clickhouse_types():
    assert [clickhouse_type(f.type) for f in SCHEMA][1:] == [
        "Nullable(Date32)", "Nullable(Float64)", "Nullable(Int64)", "Nullable(Decimal(38, 9))", "Nullable(Bool)",
        "Nullable(DateTime64(6, 'UTC'))", "Nullable(String)"]
    assert "ORDER BY (_pipeline_run_id, _row_number)" in target_table_ddl("sales", SCHEMA)


def test_rows_are_invisible_until_commit_and_equal_the_source_after(clickhouse):
    batches = [_batch(1, 500), _batch(501, 500)]
    load = _load(clickhouse, 1, batches)
    assert clickhouse.command("SELECT count() FROM sales") == 0
    assert load.commit() == 1000
    got = clickhouse.rows(
        "SELECT count() AS n, countIf(amount IS NULL) AS null_amounts, sum(amount) AS total, "
        "uniqExact(product_id) AS products, sum(price) AS prices, countIf(paid) AS paid, "
        "countIf(channel IS NULL) AS null_channels, min(date) AS first_day FROM sales WHERE _pipeline_run_id = 1")[0]
    source = pa.concat_tables(batches).to_pylist()
    assert got == {
        "n": 1000,
        "null_amounts": sum(r["amount"] is None for r in source),
        "total": pytest.approx(sum(r["amount"] for r in source if r["amount"] is not None)),
        "products": len({r["product_id"] for r in source}),
        "prices": sum(r["price"] for r in source),
        "paid": sum(r["paid"] for r in source),
        "null_channels": sum(r["channel"] is None for r in source),
        "first_day": date(2024, 1, 1),
    }
    assert clickhouse.command("EXISTS TABLE _load_sales_1") == 0


def test_rerunning_a_run_replaces_its_rows_and_keeps_other_runs(clickhouse):
    _load(clickhouse, 1, [_batch(1, 100)]).commit()
    _load(clickhouse, 2, [_batch(1, 50)]).commit()
    _load(clickhouse, 1, [_batch(1, 100)]).commit()  # the same run again (a retry)
    counts = dict(clickhouse.query("SELECT _pipeline_run_id, count() FROM sales GROUP BY 1 ORDER BY 1").result_rows)
    assert counts == {1: 100, 2: 50}
    assert clickhouse.command("SELECT uniqExact(_row_number) FROM sales WHERE _pipeline_run_id = 1") == 100


def test_an_aborted_or_crashed_attempt_leaves_nothing_and_the_retry_loads_once(clickhouse):
    crashed = _load(clickhouse, 3, [_batch(1, 200)])  # a worker dies here: no commit, no abort
    crashed.abort()
    assert clickhouse.command("SELECT count() FROM sales") == 0
    _load(clickhouse, 3, [_batch(1, 120)])  # crashed again before commit, temp table left behind
    retry = _load(clickhouse, 3, [_batch(1, 200)])  # begin() discards the previous attempt's temp table
    assert retry.commit() == 200
    assert clickhouse.command("SELECT count() FROM sales") == 200


def test_run_rows_delete(clickhouse):
    _load(clickhouse, 4, [_batch(1, 10)]).commit()
    run_rows_delete(clickhouse, table="sales", pipeline_run_id=4)
    assert clickhouse.command("SELECT count() FROM sales") == 0


def test_new_source_columns_are_added_and_retyped_ones_refused(clickhouse):
    _load(clickhouse, 1, [_batch(1, 5)]).commit()
    wider = SCHEMA.append(pa.field("region", pa.string()))
    load = TargetLoad(clickhouse, table="sales", pipeline_run_id=2)
    assert load.begin(wider) == ["region"]
    load.append(_batch(1, 5).append_column("region", pa.array(["north"] * 5)))
    load.commit()
    assert clickhouse.command("SELECT countIf(region IS NULL) FROM sales") == 5

    retyped = pa.schema([f if f.name != "amount" else pa.field("amount", pa.string()) for f in SCHEMA])
    with pytest.raises(ClickHouseError, match="Column amount of target table sales is Nullable\\(Float64\\)"):
        TargetLoad(clickhouse, table="sales", pipeline_run_id=3).begin(retyped)


def test_hostile_table_names_are_refused(clickhouse):
    with pytest.raises(ClickHouseError, match="Invalid target table name"):
        TargetLoad(clickhouse, table="x`; DROP TABLE sales", pipeline_run_id=1)


def test_a_replay_replaces_only_its_rows_and_is_idempotent(clickhouse):
    _load(clickhouse, 5, [_batch(1, 10)]).commit()  # rows 1..10 loaded by the run
    for _ in range(2):  # replaying the corrected rows 3 and 7 twice leaves one copy of each
        replay = TargetLoad(clickhouse, table="sales", pipeline_run_id=5, replace_rows=[3, 7])
        replay.begin(SCHEMA)
        fixed = _batch(3, 1).set_column(2, "amount", pa.array([999.0]))
        replay.append(pa.concat_tables([fixed, _batch(7, 1)]))
        assert replay.commit() == 2
    rows = clickhouse.query("SELECT _row_number, amount FROM sales ORDER BY _row_number").result_rows
    assert [r[0] for r in rows] == list(range(1, 11))
    assert dict(rows)[3] == 999.0


def _background_load(target, run_id: int, batches: list[pa.Table], *, insert_rows: int) -> TargetLoad:
    load = TargetLoad(target, table="sales", pipeline_run_id=run_id, insert_rows=insert_rows)
    load.send_in_background()
    load.begin(SCHEMA)
    for batch in batches:
        load.append(batch)
    return load


def test_inserts_sent_from_a_thread_commit_the_same_rows_in_order(clickhouse):
    """Each INSERT goes out from the load's own thread; the commit waits for all of them."""
    batches = [_batch(1 + i * 100, 100) for i in range(12)]
    load = _background_load(clickhouse, 7, batches, insert_rows=150)  # an INSERT every second batch
    assert load.staged_count() == 1200  # waits for the thread's INSERTs
    assert load.commit() == 1200
    got = [n for (n,) in clickhouse.query("SELECT _row_number FROM sales WHERE _pipeline_run_id = 7 "
                                          "ORDER BY _row_number").result_rows]
    assert got == list(range(1, 1201))
    assert clickhouse.command("SELECT sum(amount) FROM sales") == pytest.approx(
        sum(v for b in batches for v in b.column("amount").to_pylist() if v is not None))


def test_an_insert_failing_in_the_thread_fails_the_load_at_its_next_step(clickhouse):
    load = _background_load(clickhouse, 8, [_batch(1, 100)], insert_rows=50)
    clickhouse.command("DROP TABLE _load_sales_8")  # the thread's next INSERT has no table to go to
    with pytest.raises(ClickHouseError):
        for start in range(101, 2001, 100):  # the error surfaces at a later append, or at the commit
            load.append(_batch(start, 100))
        load.commit()
    load.abort()
    assert clickhouse.command("SELECT count() FROM sales") == 0


def test_an_abandoned_background_load_stops_its_thread_and_leaves_nothing(clickhouse):
    import threading

    load = _background_load(clickhouse, 9, [_batch(1, 100), _batch(101, 100)], insert_rows=100)
    load.abort()
    assert not [t for t in threading.enumerate() if t.name == "clickhouse-insert"]
    assert clickhouse.command("SELECT count() FROM sales") == 0
    assert clickhouse.command("EXISTS TABLE _load_sales_9") == 0
