"""The engine's helpers that look like reads write nothing; the one that writes says so in its name."""

import pyarrow as pa
import pytest

from pipelines.engine.finish import file_link_to_run, file_of_run
from pipelines.engine.source import connector_for, drift_check, drift_progress
from staging.models import FileMetadata
from tests.factories import FileMetadataFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_reading_the_runs_file_does_not_link_it_and_linking_it_does():
    file = FileMetadataFactory()
    run = PipelineRunFactory(execution_context={"file_id": file.pk})
    assert file_of_run(run).pk == file.pk
    assert FileMetadata.objects.get(pk=file.pk).pipeline_run_id is None
    assert file_link_to_run(run).pipeline_run_id == run.pk
    assert FileMetadata.objects.get(pk=file.pk).pipeline_run_id == run.pk
    other = PipelineRunFactory(execution_context={})
    assert file_of_run(other) is None and file_link_to_run(other) is None


def test_the_source_side_returns_what_the_caller_records_and_records_nothing_itself(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,name\n1,a\n")
    run = PipelineRunFactory(execution_context={"step": "extract"})
    connector, start = connector_for(run.pipeline.data_source, {"file_path": str(path)}, run)
    assert start == {} and connector is not None  # a file has no position to start from
    drift = drift_check(run, pa.schema([("id", pa.string()), ("name", pa.string())]), policy="evolve")
    assert drift_progress(drift) == {"source_columns": [["id", "string"], ["name", "string"]],
                                     "schema_diff": {"added": [], "removed": [], "retyped": []}}
    run.refresh_from_db()
    assert run.execution_context == {"step": "extract"}
