"""`clickhouse_query`: a read query against the target in either mode, printed as pretty, csv or json."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SQL = ("SELECT metric_name, metric_value, is_passed FROM data_quality_metrics "
       "WHERE table_name = {t:String} ORDER BY metric_name")


@pytest.fixture
def metrics(clickhouse):
    clickhouse.insert("data_quality_metrics",
                      [["sales", "null_rate", 0.5, False, 1], ["sales", "row_count", 10.0, True, 1],
                       ["other", "row_count", 3.0, True, 1]],
                      ["table_name", "metric_name", "metric_value", "is_passed", "pipeline_run_id"])
    return clickhouse


def _run(*args) -> str:
    out = io.StringIO()
    call_command("clickhouse_query", *args, stdout=out)
    return out.getvalue()


def test_csv(metrics):
    rows = list(csv.reader(io.StringIO(_run(SQL, "--param", "t=sales", "--format", "csv"))))
    assert rows == [["metric_name", "metric_value", "is_passed"], ["null_rate", "0.5", "False"],
                    ["row_count", "10.0", "True"]]


def test_json(metrics):
    data = json.loads(_run(SQL, "--param", "t=sales", "--format", "json"))
    assert data == [{"metric_name": "null_rate", "metric_value": 0.5, "is_passed": False},
                    {"metric_name": "row_count", "metric_value": 10.0, "is_passed": True}]


def test_pretty_is_an_aligned_table_with_a_row_count(metrics):
    lines = _run(SQL, "--param", "t=sales").splitlines()
    assert lines[0].split(" | ")[0].strip() == "metric_name"
    assert lines[2].startswith("null_rate") and lines[3].startswith("row_count")
    assert len({len(line) for line in lines[:4]}) == 1
    assert lines[-1] == "(2 rows)"


def test_writes_are_refused(metrics):
    with pytest.raises(CommandError, match="Only read statements"):
        _run("INSERT INTO data_quality_metrics (table_name) VALUES ('x')")
    with pytest.raises(CommandError, match="Only read statements"):
        _run("DROP TABLE data_quality_metrics")
    assert metrics.command("SELECT count() FROM data_quality_metrics") == 3


@pytest.mark.parametrize("sql", [
    "SYSTEM STOP MERGES", "SYSTEM STOP TTL MERGES", "system stop moves data_quality_metrics",
    "KILL QUERY WHERE 1", "  /* looks */ SYSTEM STOP MERGES", "-- a comment\nKILL QUERY WHERE 1 SYNC",
    "(SYSTEM STOP MERGES)", "SELECT 1; SYSTEM STOP MERGES", "OPTIMIZE TABLE data_quality_metrics FINAL",
])
def test_only_read_statements_pass_the_guard(metrics, sql):
    """SYSTEM and KILL went through the server's readonly mode and crashed printing their result: now every
    statement but a read is a CommandError naming the rule, before anything reaches ClickHouse."""
    with pytest.raises(CommandError, match="Only read statements|one statement") as refused:
        _run(sql)
    assert "Traceback" not in str(refused.value)


@pytest.mark.parametrize("sql", ["WITH 1 AS x SELECT x", "SHOW TABLES", "DESCRIBE TABLE data_quality_metrics",
                                 "EXPLAIN SELECT 1", "EXISTS TABLE data_quality_metrics", "(SELECT 1)",
                                 "SELECT ';' AS semicolon;"])
def test_read_statements_pass(metrics, sql):
    assert "rows)" in _run(sql)


def test_bad_sql_and_bad_params_are_command_errors(metrics):
    with pytest.raises(CommandError, match="ClickHouse: .*nope"):
        _run("SELECT * FROM nope")
    with pytest.raises(CommandError, match="name=value"):
        _run(SQL, "--param", "t")
