"""A pipeline loads only into its own tables (issue 12, medium): `configuration.target.table = "etl_audit_log"`
made a run ALTER the audit log. The application's tables, the migrations table, a cluster's _local tables and
any existing table no pipeline created are refused on save (admin, API) and before a run reads anything."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.target_tables import schema_tables
from pipelines.engine.runner import run_execute
from pipelines.models import Pipeline, RunStatus
from pipelines.services import run_claim, run_create
from staging.models import StagingTable
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

RESERVED = ["etl_audit_log", "data_quality_metrics", "business_metrics", "data_lineage", "data_catalog",
            "clickhouse_migrations", "ETL_Audit_Log", "sales_local"]


def test_the_reserved_names_are_the_schemas_tables():
    assert {"etl_audit_log", "data_quality_metrics", "business_metrics", "data_lineage", "data_catalog",
            "clickhouse_migrations"} <= schema_tables()


@pytest.mark.parametrize("table", RESERVED)
def test_a_reserved_target_is_refused_on_save_in_the_configuration(table):
    pipeline = PipelineFactory.build(data_source=DataSourceFactory(), configuration={"target": {"table": table}})
    with pytest.raises(ValidationError) as refused:
        pipeline.full_clean()
    assert "configuration" in refused.value.message_dict
    assert "cannot load into it" in " ".join(refused.value.message_dict["configuration"]) or "_local" in table


def test_a_name_that_becomes_a_reserved_table_is_refused_on_the_name():
    pipeline = PipelineFactory.build(name="ETL audit log", data_source=DataSourceFactory(), configuration={})
    with pytest.raises(ValidationError) as refused:
        pipeline.full_clean()
    assert "etl_audit_log is a table of the application's own schema" in " ".join(refused.value.message_dict["name"])


def test_the_admin_and_the_api_refuse_it_with_a_field_error(admin_client, admin_user):
    source = DataSourceFactory()
    response = admin_client.post(reverse("admin:pipelines_pipeline_add"), {
        "name": "Audit", "data_source": source.pk, "status": "draft", "tags": "[]", "schedule_cron": "",
        "max_retries": 3, "timeout_seconds": 3600, "configuration": json.dumps({"target": {"table": "etl_audit_log"}})})
    assert response.status_code == 200
    assert "etl_audit_log is a table" in " ".join(response.context["adminform"].form.errors["configuration"])
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post("/api/v1/pipelines/", {"name": "Audit", "data_source": source.pk,
                                               "configuration": {"target": {"table": "etl_audit_log"}}},
                        format="json")
    assert response.status_code == 400
    assert "etl_audit_log is a table" in json.dumps(response.json()["error"]["fields"]["configuration"])
    response = api.post("/api/v1/pipelines/", {"name": "Audit", "data_source": source.pk,
                                               "configuration": {"target": ["etl_audit_log"]}}, format="json")
    assert response.status_code == 400
    assert not Pipeline.objects.exists()


def _run_on(pipeline: Pipeline):
    # load_again: these tests read the same file twice and mean to load it twice
    run = run_create(pipeline=pipeline, triggered_by="test", execution_context={"load_again": True})
    assert run_claim(run=run)
    return run_execute(run=run, batch_rows=100)


@pytest.fixture
def csv_source(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "media" / "uploads" / "sales.csv"
    path.parent.mkdir(parents=True)
    path.write_text("id,amount\n1,2.5\n2,3.5\n")
    return DataSourceFactory(connection_config={"file_path": str(path)})


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_a_run_whose_row_was_edited_to_the_audit_log_fails_before_touching_it(csv_source, clickhouse):
    pipeline = PipelineFactory(name="Sales", data_source=csv_source, configuration={})
    Pipeline.all_objects.filter(pk=pipeline.pk).update(configuration={"target": {"table": "etl_audit_log"}})
    columns = clickhouse.query("SELECT name FROM system.columns WHERE database = currentDatabase() "
                               "AND table = 'etl_audit_log' ORDER BY position").result_rows
    run = _run_on(Pipeline.objects.get(pk=pipeline.pk))
    assert run.status == RunStatus.FAILED
    assert "etl_audit_log is a table of the application's own schema" in run.error_message
    assert run.retry_count == 0 and not run.execution_context.get("transient")
    assert clickhouse.query("SELECT name FROM system.columns WHERE database = currentDatabase() "
                            "AND table = 'etl_audit_log' ORDER BY position").result_rows == columns
    assert not StagingTable.objects.filter(pipeline_run_id=run.pk).exists()


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_an_existing_table_no_pipeline_created_is_refused_and_a_pipelines_own_table_is_not(csv_source, clickhouse):
    clickhouse.command("CREATE TABLE manual (id Int64, note String) ENGINE = MergeTree ORDER BY id")
    pipeline = PipelineFactory(name="Sales", data_source=csv_source, configuration={"target": {"table": "manual"}})
    run = _run_on(pipeline)
    assert run.status == RunStatus.FAILED and "was not created by a pipeline" in run.error_message
    assert [name for (name,) in clickhouse.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'manual'").result_rows] == [
        "id", "note"]

    Pipeline.objects.filter(pk=pipeline.pk).update(configuration={"target": {"table": "sales_loaded"}})
    for _ in range(2):  # the second run loads into the table the first one created
        run = _run_on(Pipeline.objects.get(pk=pipeline.pk))
        assert run.status == RunStatus.SUCCESS, run.error_message
    assert clickhouse.command("SELECT count() FROM sales_loaded") == 4


@pytest.mark.parametrize(("name", "configuration", "table"), [
    ("Daily Sales", {}, "daily_sales"),
    ("Daily Sales", {"target": {"table": "Sales 2024"}}, "sales_2024"),
    ("Daily Sales", {"target": {"table": "  "}}, "daily_sales"),
])
def test_the_target_table_is_a_property_of_the_pipeline(name, configuration, table):
    # Pages and the API read it here, without loading the engine (pipelines.targets).
    assert PipelineFactory.build(name=name, configuration=configuration).target_table == table
