"""Staging tables with a paged preview of their rows, processing logs, quarantined rows, analysis results."""

from datetime import timedelta

import pyarrow as pa
import pytest

from staging.models import QuarantinedRow
from staging.writer import StagingWriter
from tests.api.conftest import error_of
from tests.factories import AnalysisResultFactory, PipelineRunFactory, ProcessingLogFactory, StagingTableFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def staged_table(run_id: int, rows: int = 5, name: str = "stg_run_api"):
    schema = pa.schema([("email", pa.string()), ("amount", pa.float64())])
    writer = StagingWriter.create(table_name=name, schema=schema, pipeline_run_id=run_id, source_type="csv",
                                  source_config={"file_path": "/data/x.csv", "password": "Pa55"},
                                  expires_in=timedelta(days=1))
    writer.append(pa.record_batch([pa.array([f"user{i}@example.com" for i in range(rows)]),
                                   pa.array([float(i) for i in range(rows)])], schema=schema))
    return writer.finish()


def test_staging_table_list_detail_and_paged_rows(api):
    run = PipelineRunFactory()
    table = staged_table(run.pk)
    listed = api.get("/api/v1/staging-tables/", {"pipeline_run_id": run.pk}).json()
    assert [t["table_name"] for t in listed["results"]] == ["stg_run_api"]
    detail = api.get(f"/api/v1/staging-tables/{table.pk}/").json()
    assert detail["row_count"] == 5 and detail["source_config"]["password"] == "********"

    page = api.get(f"/api/v1/staging-tables/{table.pk}/rows/", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 5 and page["columns"] == ["_row_number", "email", "amount"]
    assert [r["amount"] for r in page["results"]] == [2.0, 3.0]
    assert page["next"] and page["previous"]
    last = api.get(f"/api/v1/staging-tables/{table.pk}/rows/", {"page_size": 2, "page": 3}).json()
    assert [r["email"] for r in last["results"]] == ["user4@example.com"] and last["next"] is None
    response = api.get(f"/api/v1/staging-tables/{table.pk}/rows/", {"page_size": 2, "page": 4})
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = api.get(f"/api/v1/staging-tables/{table.pk}/rows/", {"page_size": "many"})
    assert response.status_code == 400 and "page_size" in error_of(response)["fields"]


def test_rows_of_a_dropped_or_missing_table_are_a_404(api):
    gone = StagingTableFactory(table_name="stg_gone", is_active=False)
    response = api.get(f"/api/v1/staging-tables/{gone.pk}/rows/")
    assert response.status_code == 404 and "dropped" in error_of(response)["message"]
    missing = StagingTableFactory(table_name="stg_never_created")
    assert api.get(f"/api/v1/staging-tables/{missing.pk}/rows/").status_code == 404


def test_processing_logs_filter_and_order(api):
    run = PipelineRunFactory()
    load = ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="load", processing_time_seconds=9.0)
    validate = ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="validate", status="failed",
                                    processing_time_seconds=1.0, execution_context={"token": "T0k"})
    ProcessingLogFactory(pipeline_run_id=run.pk + 1)
    url = "/api/v1/processing-logs/"
    assert [r["id"] for r in api.get(url, {"pipeline_run_id": run.pk, "ordering": "processing_time_seconds"})
            .json()["results"]] == [validate.pk, load.pk]
    failed = api.get(url, {"status": "failed"}).json()["results"]
    assert [r["id"] for r in failed] == [validate.pk] and failed[0]["execution_context"]["token"] == "********"


def test_analysis_results_filter(api):
    run = PipelineRunFactory()
    alert = AnalysisResultFactory(pipeline_run=run, is_alert=True, alert_level="high")
    AnalysisResultFactory(pipeline_run=run)
    AnalysisResultFactory()
    url = "/api/v1/analysis-results/"
    assert api.get(url, {"pipeline_run": run.pk}).json()["count"] == 2
    assert [r["id"] for r in api.get(url, {"is_alert": "true"}).json()["results"]] == [alert.pk]
    assert [r["id"] for r in api.get(url, {"pipeline": run.pipeline_id, "alert_level": "high"})
            .json()["results"]] == [alert.pk]
    assert api.get(f"{url}{alert.pk}/").json()["alert_level"] == "high"


def test_quarantined_rows_list_and_filter(api):
    run = PipelineRunFactory()
    QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table="stg_run_api", row_number=3,
                                  column_name="amount", value="abc", reason="not a number", rule="data_types")
    QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table="stg_run_api", row_number=4,
                                  column_name="date", value="", reason="required", rule="required_columns")
    body = api.get("/api/v1/quarantined-rows/", {"pipeline_run_id": run.pk, "rule": "data_types"}).json()
    assert body["count"] == 1 and body["results"][0]["value"] == "abc"


# --- masking of sensitive columns (issue 4) ------------------------------------------------------------------

def _sensitive_setup(clickhouse):
    from analytics.catalog import catalog_edit, catalog_refresh
    from pipelines.targets import target_table_name

    run = PipelineRunFactory()
    table = staged_table(run.pk, rows=3, name=f"stg_run_{run.pk}")
    target_table = target_table_name(run.pipeline)
    catalog_refresh(target=clickhouse, schema_name=clickhouse.database, table_name=target_table, columns=[
        {"name": "email", "data_type": "String", "is_nullable": True, "default_value": None},
        {"name": "amount", "data_type": "Float64", "is_nullable": True, "default_value": None}])
    catalog_edit(target=clickhouse, schema_name=clickhouse.database, table_name=target_table, column_name="email",
                 sensitivity_state="confirmed")
    QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table=table.table_name, row_number=2,
                                  column_name="email", value="bad@@example.com",
                                  reason="bad@@example.com is not an e-mail address", rule="regex")
    QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table=table.table_name, row_number=3,
                                  column_name="amount", value="abc", reason="abc is not a number", rule="data_types")
    return run, table


@pytest.mark.clickhouse
def test_staged_rows_and_quarantined_values_are_masked_without_the_permission(clickhouse, api, viewer_api,
                                                                             viewer):
    from django.contrib.auth.models import Permission

    from analytics.masking import MASK

    run, table = _sensitive_setup(clickhouse)
    rows_url = f"/api/v1/staging-tables/{table.pk}/rows/"
    quarantine_url = "/api/v1/quarantined-rows/"

    masked = viewer_api.get(rows_url).json()["results"]
    assert [r["email"] for r in masked] == [MASK] * 3 and [r["amount"] for r in masked] == [0.0, 1.0, 2.0]
    shown = api.get(rows_url).json()["results"]
    assert [r["email"] for r in shown] == ["user0@example.com", "user1@example.com", "user2@example.com"]

    quarantined = viewer_api.get(quarantine_url, {"pipeline_run_id": run.pk}).json()["results"]
    by_column = {r["column_name"]: r for r in quarantined}
    assert by_column["email"]["value"] == MASK and "bad@@example.com" not in by_column["email"]["reason"]
    assert by_column["amount"]["value"] == "abc"
    detail = viewer_api.get(f"{quarantine_url}{by_column['email']['id']}/").json()
    assert detail["value"] == MASK
    assert "bad@@example.com" not in viewer_api.get(quarantine_url).content.decode()
    assert api.get(f"{quarantine_url}{by_column['email']['id']}/").json()["value"] == "bad@@example.com"

    viewer.user_permissions.add(Permission.objects.get(codename="view_sensitive_data"))
    from tests.api.conftest import client_for

    allowed = client_for(type(viewer).objects.get(pk=viewer.pk))
    assert allowed.get(rows_url).json()["results"][0]["email"] == "user0@example.com"
