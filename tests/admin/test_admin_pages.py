"""Every admin page answers with data present; search, filters and date drill-down work."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pipelines.models import AnalysisResult, Pipeline, PipelineRun, RunStatus
from sources.models import DataSource, SourceType
from staging.models import FileMetadata, FileStatus, ProcessingLog, StagingTable
from tests.factories import (
    SPEC_PIPELINE_CONFIGURATION,
    AnalysisResultFactory,
    DataSourceFactory,
    FileMetadataFactory,
    PipelineFactory,
    PipelineRunFactory,
    ProcessingLogFactory,
    StagingTableFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

# model, key of the row in the `data` fixture, text its changelist row shows
MODELS = [
    (DataSource, "source", "Sales CSV file"),
    (Pipeline, "pipeline", "Sales processing"),
    (PipelineRun, "run", "Sales processing"),
    (AnalysisResult, "result", "Sales processing, run #"),
    (StagingTable, "table", "public.stg_sales_run"),
    (FileMetadata, "file", "sales_2024.csv"),
    (ProcessingLog, "log", "stg_sales_run"),
]
EDITABLE = [DataSource, Pipeline, PipelineRun, AnalysisResult]
ALL_MODELS = [m for m, _, _ in MODELS]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_index_shows_every_model_and_the_site_header(admin_client, data):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "ETL system" in response.text
    for model in ALL_MODELS:
        assert admin_url(model, "changelist") in response.text


@pytest.mark.parametrize(("model", "key", "text"), MODELS, ids=[m.__name__ for m, _, _ in MODELS])
def test_changelist_and_change_page_show_the_row(admin_client, data, model, key, text):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert text in response.text

    response = admin_client.get(admin_url(model, "change", data[key].pk))
    assert response.status_code == 200
    assert str(data[key]) in response.text


@pytest.mark.parametrize("model", EDITABLE, ids=lambda m: m.__name__)
def test_add_page_answers(admin_client, data, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


def test_a_source_and_a_pipeline_can_be_added_through_the_admin(admin_client, db):
    response = admin_client.post(admin_url(DataSource, "add"), {
        "name": "Sales CSV file", "description": "Monthly sales data in CSV format", "source_type": "file",
        "connection_config": json.dumps({"file_path": "/data/sales_2024.csv", "delimiter": ",", "encoding": "utf-8"}),
        "is_active": "on",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    source = DataSource.objects.get(name="Sales CSV file")
    assert source.connection_config["file_path"] == "/data/sales_2024.csv"

    response = admin_client.post(admin_url(Pipeline, "add"), {
        "name": "Sales processing", "description": "Load and process sales data", "data_source": source.pk,
        "status": "active", "tags": json.dumps(["sales", "monthly", "critical"]),
        "configuration": json.dumps(SPEC_PIPELINE_CONFIGURATION), "schedule_cron": "0 2 * * *",
        "max_retries": 3, "timeout_seconds": 3600,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    pipeline = Pipeline.objects.get(name="Sales processing")
    assert pipeline.configuration == SPEC_PIPELINE_CONFIGURATION
    assert pipeline.data_source == source


def test_an_invalid_pipeline_configuration_is_shown_on_the_form(admin_client, data):
    bad = {**SPEC_PIPELINE_CONFIGURATION, "validation_rules": {"data_types": {"amount": "money"}}}
    response = admin_client.post(admin_url(Pipeline, "add"), {
        "name": "Broken", "data_source": data["source"].pk, "status": "draft", "tags": "[]",
        "configuration": json.dumps(bad), "max_retries": 3, "timeout_seconds": 3600,
    })
    assert response.status_code == 200
    assert "validation_rules.data_types.amount" in response.text
    assert not Pipeline.all_objects.filter(name="Broken").exists()


@pytest.mark.parametrize(("model", "factory", "field", "term"), [
    (DataSource, DataSourceFactory, "name", "Orders API"),
    (Pipeline, PipelineFactory, "name", "Orders loading"),
    (PipelineRun, PipelineRunFactory, "triggered_by", "alice"),
    (StagingTable, StagingTableFactory, "table_name", "stg_orders"),
    (FileMetadata, FileMetadataFactory, "original_filename", "orders.json"),
    (ProcessingLog, ProcessingLogFactory, "table_name", "stg_orders"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_search_finds_only_matching_rows(admin_client, data, model, factory, field, term):
    match = factory(**{field: term})
    response = admin_client.get(admin_url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    assert [obj.pk for obj in response.context["cl"].result_list] == [match.pk]


def test_analysis_results_are_searched_by_pipeline_name(admin_client, data):
    other = AnalysisResultFactory(pipeline_run__pipeline__name="Orders loading")
    response = admin_client.get(admin_url(AnalysisResult, "changelist"), {"q": "orders"})
    assert [obj.pk for obj in response.context["cl"].result_list] == [other.pk]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_filter_choice_answers(admin_client, data, model):
    url = admin_url(model, "changelist")
    changelist = admin_client.get(url).context["cl"]
    assert changelist.filter_specs, "each list has filters"
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            response = admin_client.get(url + choice["query_string"])
            assert response.status_code == 200, (spec.title, choice)


@pytest.mark.parametrize(("model", "params", "expected"), [
    (DataSource, {"source_type__exact": "api"}, "api_source"),
    (DataSource, {"is_active__exact": "0"}, "api_source"),
    (Pipeline, {"status__exact": "draft"}, "draft_pipeline"),
    (Pipeline, {"data_source__id__exact": "<api_source>"}, "draft_pipeline"),
    (Pipeline, {"data_source__source_type__exact": "api"}, "draft_pipeline"),
    (PipelineRun, {"status__exact": "failed"}, "failed_run"),
    (PipelineRun, {"pipeline__id__exact": "<draft_pipeline>"}, "failed_run"),
    (AnalysisResult, {"is_alert__exact": "1"}, "alert"),
    (AnalysisResult, {"alert_level__exact": "critical"}, "alert"),
    (AnalysisResult, {"analysis_type__exact": "schema_drift"}, "alert"),
    (StagingTable, {"source_type__exact": "json"}, "json_table"),
    (StagingTable, {"is_active__exact": "0"}, "json_table"),
    (FileMetadata, {"status__exact": "failed"}, "failed_file"),
    (FileMetadata, {"mime_type": "application/json"}, "failed_file"),
    (ProcessingLog, {"operation_type__exact": "export"}, "failed_log"),
    (ProcessingLog, {"status__exact": "failed"}, "failed_log"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_filters_select_the_right_rows(admin_client, data, model, params, expected):
    rows = {}
    rows["api_source"] = DataSourceFactory(source_type=SourceType.API, is_active=False,
                                           connection_config={"url": "https://api.example.com"})
    rows["draft_pipeline"] = PipelineFactory(status="draft", data_source=rows["api_source"])
    rows["failed_run"] = PipelineRunFactory(pipeline=rows["draft_pipeline"], status=RunStatus.FAILED)
    rows["alert"] = AnalysisResultFactory(is_alert=True, alert_level="critical", analysis_type="schema_drift")
    rows["json_table"] = StagingTableFactory(source_type="json", is_active=False)
    rows["failed_file"] = FileMetadataFactory(status=FileStatus.FAILED, mime_type="application/json")
    rows["failed_log"] = ProcessingLogFactory(operation_type="export", status="failed")
    params = {k: str(rows[v[1:-1]].pk) if v.startswith("<") else v for k, v in params.items()}
    response = admin_client.get(admin_url(model, "changelist"), params)
    assert response.status_code == 200
    assert [obj.pk for obj in response.context["cl"].result_list] == [rows[expected].pk]


# Runs have no date hierarchy (its scan over a long history cost more than the page; see PipelineRunAdmin):
# their period filter is started_at's.
@pytest.mark.parametrize("model", [AnalysisResult, FileMetadata, ProcessingLog], ids=lambda m: m.__name__)
def test_date_hierarchy_drills_down(admin_client, data, model):
    today = timezone.localdate()
    url = admin_url(model, "changelist")
    response = admin_client.get(url, {"created_at__year": today.year, "created_at__month": today.month,
                                       "created_at__day": today.day})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url, {"created_at__year": today.year - 1})
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize("model", [PipelineRun, AnalysisResult, StagingTable, FileMetadata, ProcessingLog],
                         ids=lambda m: m.__name__)
def test_huge_lists_skip_the_full_count(admin_client, data, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.context["cl"].show_full_result_count is False


def test_the_run_list_narrows_by_start_period(admin_client, data):
    old = PipelineRunFactory(started_at=timezone.now() - timedelta(days=40))
    recent = PipelineRunFactory(started_at=timezone.now() - timedelta(hours=1))
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    response = admin_client.get(admin_url(PipelineRun, "changelist"), {"started_at__gte": week_ago})
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert recent.pk in shown and old.pk not in shown
