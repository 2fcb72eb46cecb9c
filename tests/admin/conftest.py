import pytest

from tests.factories import (
    AnalysisResultFactory,
    DataSourceFactory,
    FileMetadataFactory,
    PipelineFactory,
    PipelineRunFactory,
    ProcessingLogFactory,
    StagingTableFactory,
)


@pytest.fixture
def data(db):
    """One row of every model, linked: source -> pipeline -> run -> result, and the run's staging rows."""
    source = DataSourceFactory(name="Sales CSV file")
    pipeline = PipelineFactory(name="Sales processing", data_source=source)
    run = PipelineRunFactory(pipeline=pipeline)
    result = AnalysisResultFactory(pipeline_run=run)
    return {
        "source": source,
        "pipeline": pipeline,
        "run": run,
        "result": result,
        "table": StagingTableFactory(table_name="stg_sales_run", pipeline_run_id=run.pk),
        "file": FileMetadataFactory(original_filename="sales_2024.csv", pipeline_run_id=run.pk),
        "log": ProcessingLogFactory(table_name="stg_sales_run", pipeline_run_id=run.pk),
    }
