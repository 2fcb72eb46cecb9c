"""Values starting with = + - @ are loaded as they are, and neutralised (a leading ') in every export of data:
`clickhouse_query --format csv` and the run's processing-log download."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from etlsite.csvsafe import csv_safe, csv_safe_row
from pipelines.models import PipelineRun
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory, ProcessingLogFactory
from tests.reliability.hostile import CORPUS

FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", '=HYPERLINK("http://x")']


@pytest.mark.parametrize(("value", "exported"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, None), (-5, -5), (2.5, 2.5),
])
def test_csv_safe(value, exported):
    assert csv_safe(value) == exported


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
