"""The ClickHouse client: bound parameters, inserts, errors, and several processes writing at once."""

import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from analytics.clickhouse import ClickHouseError, get_target
from tests.support.clickhouse import clickhouse_env

ROOT = Path(__file__).resolve().parents[2]


def test_values_are_bound_never_formatted_into_sql(clickhouse):
    hostile = "x'); DROP TABLE data_lineage; --"
    clickhouse.insert("data_lineage", [[hostile, "t", "copy", 1]],
                      ["source_table", "target_table", "transformation_type", "pipeline_run_id"])
    rows = clickhouse.rows("SELECT source_table FROM data_lineage WHERE source_table = {s:String}", {"s": hostile})
    assert rows == [{"source_table": hostile}]
    assert clickhouse.command("EXISTS TABLE data_lineage") == 1


def test_rows_and_arrow_round_trip_keep_types(clickhouse):
    rows = [
        ["orders", "amount", "null_rate", 0.25, None, 0.1, False, 7],
        ["orders", "", "row_count", 1000.0, 1.0, None, True, 7],
    ]
    clickhouse.insert("data_quality_metrics", rows,
                      ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
                       "is_passed", "pipeline_run_id"])
    clickhouse.insert_arrow("business_metrics", pa.table({
        "metric_category": ["sales", "sales"],
        "metric_name": ["revenue", "orders"],
        "metric_value": [1234.5, 10.0],
        "metric_unit": ["RUB", "count"],
        "dimension_values": ['{"product_id": 1}', "{}"],
        "calculation_date": pa.array([date(2024, 3, 1), date(2024, 3, 2)], pa.date32()),
        "pipeline_run_id": pa.array([7, 7], pa.uint64()),
    }))
    quality = clickhouse.rows(
        "SELECT metric_name, metric_value, threshold_min, threshold_max, is_passed, pipeline_run_id, id, created_at "
        "FROM data_quality_metrics WHERE pipeline_run_id = {run:UInt64} ORDER BY metric_name", {"run": 7})
    assert [(r["metric_name"], r["metric_value"], r["threshold_min"], r["threshold_max"], r["is_passed"])
            for r in quality] == [("null_rate", 0.25, None, 0.1, False), ("row_count", 1000.0, 1.0, None, True)]
    assert all(isinstance(r["id"], uuid.UUID) and isinstance(r["created_at"], datetime) for r in quality)
    assert isinstance(quality[0]["pipeline_run_id"], int)

    table = clickhouse.query_arrow(
        "SELECT metric_name, metric_value, calculation_date FROM business_metrics "
        "WHERE calculation_date >= {d:Date} ORDER BY calculation_date", {"d": date(2024, 3, 2)})
    assert table.column("metric_name").to_pylist() == ["orders"]
    assert table.column("calculation_date").to_pylist() == [date(2024, 3, 2)]


def test_datetime_parameters(clickhouse):
    clickhouse.insert("etl_audit_log", [["query", datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)]],
                      ["operation_type", "created_at"])
    since = datetime(2024, 1, 1, 11, 59, tzinfo=timezone.utc)
    assert clickhouse.command("SELECT count() FROM etl_audit_log WHERE created_at > {t:DateTime64(3, 'UTC')}",
                              {"t": since}) == 1


def test_errors_carry_code_and_a_one_line_message(clickhouse):
    with pytest.raises(ClickHouseError) as caught:
        clickhouse.query("SELECT * FROM no_such_table")
    assert caught.value.code == 60
    assert "no_such_table" in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_a_missing_database_tells_the_user_what_to_run(clickhouse, settings):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": "never_created"}
    with pytest.raises(ClickHouseError, match="migrate_all"):
        get_target().query("SELECT 1")


def test_invalid_database_name_is_refused(settings):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": "x; DROP"}
    with pytest.raises(ClickHouseError, match="Invalid ClickHouse database name"):
        get_target()


WRITER = """
import sys, django
django.setup()
from analytics.clickhouse import get_target
target = get_target()
worker = int(sys.argv[1])
for i in range(int(sys.argv[2])):
    target.insert("etl_audit_log", [["create", f"w{worker}", i]], ["operation_type", "table_name", "pipeline_run_id"])
print("done")
"""


def test_several_processes_write_and_read_at_once(clickhouse):
    """Web, worker and beat processes use one ClickHouse at the same time; none fails or waits for another."""
    target = clickhouse
    cfg = target.config
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "etlsite.settings", **clickhouse_env(cfg, cfg["DATABASE"])}
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, str(n), "15"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(3)]
    # This process reads at the same time, as the web app would.
    reads = [target.command("SELECT count() FROM etl_audit_log") for _ in range(5)]
    results = [w.communicate(timeout=180) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], [err[-2000:] for _, err in results]
    assert all(out.strip() == "done" for out, _ in results)
    assert reads == sorted(reads)
    counts = target.rows("SELECT table_name, count() AS n, uniqExact(pipeline_run_id) AS u FROM etl_audit_log "
                         "GROUP BY table_name ORDER BY table_name")
    assert counts == [{"table_name": f"w{n}", "n": 15, "u": 15} for n in range(3)]


INSERT_ROWS = ("from clickhouse_connect.datatypes.registry import get_from_name; "
               "from clickhouse_connect.driver.insert import InsertContext; "
               "InsertContext('t', ['a'], [get_from_name('String')], [['x']]); "
               "import sys; print('pandas' in sys.modules)")


def test_an_insert_of_rows_does_not_import_pandas_where_it_is_installed():
    """clickhouse-connect imports pandas for any row INSERT when it can (0.2 s per process); the client module
    tells it there is nothing to look for."""
    pytest.importorskip("pandas", reason="only where pandas is installed can an insert import it")

    def imports_pandas(prelude: str) -> bool:
        out = subprocess.run([sys.executable, "-c", prelude + INSERT_ROWS], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "etlsite.settings"})
        assert out.returncode == 0, out.stderr
        return out.stdout.strip() == "True"

    assert imports_pandas("")  # clickhouse-connect on its own
    assert not imports_pandas("import analytics.clickhouse.client; ")
