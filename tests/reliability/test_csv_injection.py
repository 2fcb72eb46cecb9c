"""Values starting with = + - @ are loaded as they are, and neutralised (a leading ') in every export of data:
`clickhouse_query --format csv` and `--format pretty`, and the run's processing-log download (/runs/<id>/logs.txt,
tab-separated). Whatever the separator a program splits on, no cell starts a formula; in the unquoted formats a
tab or line break inside a value cannot split its cell or line."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from etlsite.csvsafe import csv_safe, csv_safe_row, text_cell, text_row
from pipelines.models import PipelineRun
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory, ProcessingLogFactory
from tests.reliability.hostile import CORPUS

FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", '=HYPERLINK("http://x")']


@pytest.mark.parametrize(("value", "exported"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\t=1", "'\t'=1"), ("\r=1", "'\r'=1"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, None), (-5, -5), (2.5, 2.5),
    # after a separator some program may split on: comma, semicolon, pipe, tab, line break (spaces between)
    ("a,=1", "a,'=1"), ("a; +1", "a; '+1"), ("a|@x", "a|'@x"), ("a\t-1", "a\t'-1"), ("a\n=1", "a\n'=1"),
    ("1-2", "1-2"), ("a - b", "a - b"),
])
def test_csv_safe(value, exported):
    assert csv_safe(value) == exported


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"), ("a\tb", "a\\tb"), ("a\n=1", "a\\n=1"), ("x\r\n@y", "x\\r\\n@y"), ("\t=1", "\\t=1"),
    ("nul\x00", "nul\\x00"), ("ls\u2028ps\u2029nel\x85", "ls\\u2028ps\\u2029nel\\x85"), ("a;=b", "a;'=b"),
    (None, ""), (-5, "-5"), (2.5, "2.5"), ("plain", "plain"),
])
def test_text_cell(value, cell):
    assert text_cell(value) == cell


@pytest.mark.parametrize("separator", ["\t", ",", ";", "|"])
def test_no_cell_of_a_text_row_starts_a_formula_whatever_the_separator(separator):
    values = ["name\t=cmd|' /C calc'!A0", "path\n+1", "a,=b", "c;@d", "e|-f", "=g", -3]
    line = text_row(values)
    assert "\n" not in line and "\r" not in line and line.count("\t") == len(values) - 1
    cells = [cell.strip() for cell in line.split(separator)]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@")) or cell.startswith("-") and cell != "-3"]


def test_csv_safe_row_keeps_numbers():
    assert csv_safe_row(["=x", -1, "ok"]) == ["'=x", -1, "ok"]


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_clickhouse_query_csv_neutralises_formulas(clickhouse, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    source = DataSourceFactory(connection_config={"file_path": str(CORPUS / "formula_values.csv")})
    pipeline = PipelineFactory(name="formulas", data_source=source, configuration={}, schedule_cron="")
    call_command("run_pipeline", pipeline.name, sync=True, verbosity=0)
    run = PipelineRun.objects.get(pipeline=pipeline)
    # Loaded as they came: neutralising is the exports' job, not a change to the data.
    stored = [v for (v,) in clickhouse.query("SELECT value FROM formulas ORDER BY _row_number").result_rows]
    assert stored == FORMULAS

    out = io.StringIO()
    call_command("clickhouse_query", "SELECT id, value, -1 AS negative FROM formulas WHERE _pipeline_run_id = "
                 "{run:UInt64} ORDER BY _row_number", param=[f"run={run.pk}"], format="csv", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["id", "value", "negative"]
    assert [row[1] for row in rows[1:]] == ["'" + value for value in FORMULAS]
    assert {row[2] for row in rows[1:]} == {"-1"}  # a number stays a number

    out = io.StringIO()
    call_command("clickhouse_query", "SELECT value, 'a' || char(9) || '=1' || char(10) || '@x' AS split FROM formulas "
                 "WHERE _pipeline_run_id = {run:UInt64} ORDER BY _row_number", param=[f"run={run.pk}"],
                 format="pretty", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 + len(FORMULAS) + 1  # header, rule, one line per row, the count
    cells = [cell.strip() for line in lines[2:-1] for cell in line.split("|")]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
    assert "'=1+2" in cells and "a\\t'=1\\n@x" not in cells and "a\\t=1\\n@x" in cells


@pytest.mark.django_db(databases=["default", "staging"])
def test_run_log_download_neutralises_formulas(admin_client):
    run = PipelineRunFactory(status="failed", error_message="=HYPERLINK(\"http://evil\")")
    ProcessingLogFactory(pipeline_run_id=run.pk, table_name="@stg", status="failed",
                         error_message="-2+3 is not a number", execution_context={"attempt": 1})
    response = admin_client.get(f"/runs/{run.pk}/logs.txt")
    assert response.status_code == 200
    cells = [cell for line in response.content.decode().splitlines() for cell in line.split("\t")]
    assert "'@stg" in cells and "'-2+3 is not a number" in cells
    assert "@stg" not in cells and "-2+3 is not a number" not in cells


@pytest.mark.django_db(databases=["default", "staging"])
def test_run_log_download_cannot_be_split_by_tabs_or_newlines(admin_client):
    """Issue 12: a tab or line break inside a pipeline name or a path made cells starting with = + - @."""
    pipeline = PipelineFactory(name="sales\t=HYPERLINK(\"http://evil\")\n+cmd")
    run = PipelineRunFactory(pipeline=pipeline, status="failed", error_message="bad\tvalue\n@SUM(A1)")
    ProcessingLogFactory(pipeline_run_id=run.pk, table_name="stg\t-2+3", status="failed",
                         error_message="line 2;=1+1\r\n=2", execution_context={
                             "attempt": 1, "file_path": "/data/x\t=cmd\n@y.csv"})
    response = admin_client.get(f"/runs/{run.pk}/logs.txt")
    assert response.status_code == 200
    text = response.content.decode()
    lines = text.splitlines()
    log_line = next(line for line in lines if "stg" in line)
    assert len(log_line.split("\t")) == 9  # the log's nine columns, however many tabs its values held
    assert len([line for line in lines if line]) == 5  # title, attempt, log, its context, the run's error
    for separator in ("\t", ",", ";", "|"):
        cells = [cell.strip() for line in lines for cell in line.split(separator)]
        assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))], separator
    assert "sales\\t'=HYPERLINK" not in text and 'sales\\t=HYPERLINK("http://evil")\\n+cmd' in text


@pytest.mark.django_db(databases=["default", "staging"])
def test_run_log_download_opens_in_the_browser(admin_client):
    run = PipelineRunFactory()
    response = admin_client.get(f"/runs/{run.pk}/logs.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'inline; filename="run-{run.pk}-logs.txt"'
