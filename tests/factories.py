"""factory_boy factories for the relational models (metadata and staging databases)."""

import copy
from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from pipelines.models import (
    AnalysisResult,
    AnalysisType,
    Pipeline,
    PipelineRun,
    PipelineStatus,
    RunStatus,
)
from sources.models import DataSource, SourceType
from staging.models import (
    FileMetadata,
    FileStatus,
    OperationType,
    ProcessingLog,
    ProcessingStatus,
    StagingSourceType,
    StagingTable,
)

# The specification's example pipeline configuration, as written there.
SPEC_PIPELINE_CONFIGURATION = {
    "validation_rules": {
        "required_columns": ["date", "amount", "product_id"],
        "data_types": {"date": "date", "amount": "float", "product_id": "integer"},
    },
    "transformations": ["clean_duplicates", "validate_amounts", "enrich_product_data"],
}


class DataSourceFactory(DjangoModelFactory):
    class Meta:
        model = DataSource

    name = factory.Sequence(lambda n: f"Sales CSV file {n}")
    description = "Monthly sales data in CSV format"
    source_type = SourceType.FILE
    connection_config = factory.LazyFunction(
        lambda: {"file_path": "/data/sales_2024.csv", "delimiter": ",", "encoding": "utf-8"}
    )


class PipelineFactory(DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Sales processing {n}")
    description = "Load and process sales data"
    data_source = factory.SubFactory(DataSourceFactory)
    status = PipelineStatus.ACTIVE
    configuration = factory.LazyFunction(lambda: copy.deepcopy(SPEC_PIPELINE_CONFIGURATION))
    schedule_cron = "0 2 * * *"
    max_retries = 3
    tags = factory.LazyFunction(lambda: ["sales", "monthly", "critical"])


class PipelineRunFactory(DjangoModelFactory):
    class Meta:
        model = PipelineRun

    pipeline = factory.SubFactory(PipelineFactory)
    status = RunStatus.SUCCESS
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    finished_at = factory.LazyAttribute(lambda run: run.started_at + timedelta(seconds=83) if run.started_at else None)
    duration_seconds = 83.0
    records_processed = 10000
    records_failed = 0
    triggered_by = "scheduler"
    execution_context = factory.LazyFunction(lambda: {"progress": {"step": "analyze", "percent": 100}})


class AnalysisResultFactory(DjangoModelFactory):
    class Meta:
        model = AnalysisResult

    pipeline_run = factory.SubFactory(PipelineRunFactory)
    analysis_type = AnalysisType.DATA_QUALITY
    result_data = factory.LazyFunction(lambda: {"checked_rows": 10000})
    metrics = factory.LazyFunction(lambda: {"completeness": 0.998})
    recommendations = factory.LazyFunction(lambda: ["Fill missing product_id values"])
    is_alert = False
    alert_level = ""


class StagingTableFactory(DjangoModelFactory):
    class Meta:
        model = StagingTable
        database = "staging"

    table_name = factory.Sequence(lambda n: f"stg_sales_{n}")
    schema_name = "public"
    source_type = StagingSourceType.CSV
    source_config = factory.LazyFunction(lambda: {"file_path": "/data/sales_2024.csv"})
    row_count = 10000
    column_count = 3
    file_size_bytes = 512_000
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    pipeline_run_id = None


class FileMetadataFactory(DjangoModelFactory):
    class Meta:
        model = FileMetadata
        database = "staging"

    filename = factory.Sequence(lambda n: f"upload_{n}.csv")
    original_filename = factory.Sequence(lambda n: f"sales_2024_{n}.csv")
    file_path = factory.LazyAttribute(lambda f: f"/var/uploads/{f.filename}")
    file_size = 512_000
    file_hash = factory.Sequence(lambda n: f"{n:064x}")
    mime_type = "text/csv"
    encoding = "utf-8"
    status = FileStatus.PROCESSED
    uploaded_by = "admin"
    metadata = factory.LazyFunction(lambda: {"delimiter": ","})
    pipeline_run_id = None


class ProcessingLogFactory(DjangoModelFactory):
    class Meta:
        model = ProcessingLog
        database = "staging"

    table_name = factory.Sequence(lambda n: f"stg_sales_{n}")
    operation_type = OperationType.LOAD
    status = ProcessingStatus.COMPLETED
    records_processed = 10000
    records_success = 9990
    records_failed = 10
    processing_time_seconds = 2.5
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=3))
    finished_at = factory.LazyFunction(timezone.now)
    execution_context = factory.LazyFunction(lambda: {"batch_size": 50000})
    pipeline_run_id = None
