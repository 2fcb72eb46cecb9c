import pytest
from django.db import connections, router

from pipelines.models import AnalysisResult, Pipeline, PipelineRun
from sources.models import DataSource
from staging.models import FileMetadata, ProcessingLog, StagingTable

METADATA_MODELS = [DataSource, Pipeline, PipelineRun, AnalysisResult]
STAGING_MODELS = [StagingTable, FileMetadata, ProcessingLog]


@pytest.mark.parametrize("model", METADATA_MODELS)
def test_metadata_models_read_write_and_migrate_in_default(model):
    assert router.db_for_read(model) == "default"
    assert router.db_for_write(model) == "default"
    assert router.allow_migrate("default", model._meta.app_label)
    assert not router.allow_migrate("staging", model._meta.app_label)


@pytest.mark.parametrize("model", STAGING_MODELS)
def test_staging_models_read_write_and_migrate_only_in_staging(model):
    assert router.db_for_read(model) == "staging"
    assert router.db_for_write(model) == "staging"
    assert router.allow_migrate("staging", "staging")
    assert not router.allow_migrate("default", "staging")


@pytest.mark.parametrize("app_label", ["auth", "admin", "django_celery_beat", "sessions", "contenttypes"])
def test_django_apps_stay_in_the_metadata_database(app_label):
    assert router.allow_migrate("default", app_label)
    assert not router.allow_migrate("staging", app_label)


def test_relations_across_databases_are_refused():
    assert router.allow_relation(DataSource(), Pipeline()) is True
    assert router.allow_relation(PipelineRun(), FileMetadata()) is False


@pytest.mark.django_db(databases=["default", "staging"])
def test_tables_exist_only_in_their_own_database():
    default_tables = set(connections["default"].introspection.table_names())
    staging_tables = set(connections["staging"].introspection.table_names())
    assert {"data_sources", "pipelines", "pipeline_runs", "analysis_results"} <= default_tables
    assert {"staging_tables", "file_metadata", "processing_logs"} <= staging_tables
    assert not {"staging_tables", "file_metadata", "processing_logs"} & default_tables
    assert not {"data_sources", "pipelines", "pipeline_runs", "analysis_results", "auth_user"} & staging_tables


def test_system_check_reports_a_mapping_to_an_unknown_alias(settings):
    from etlsite.routers import check_database_mapping

    assert check_database_mapping(None) == []
    settings.DATABASE_APPS_MAPPING = {"staging": "nowhere"}
    errors = check_database_mapping(None)
    assert [e.id for e in errors] == ["etlsite.E001"]
    assert "nowhere" in errors[0].msg
