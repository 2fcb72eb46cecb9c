"""What a run records for its page (issue 16): each operation's own status and error, and the file's own
headers beside the names the run gave its columns."""

import pytest

from pipelines.engine.runner import run_execute
from pipelines.services import run_claim, run_create
from staging.models import ProcessingLog
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


@pytest.fixture
def penguins(tmp_path):
    path = tmp_path / "penguins.csv"
    path.write_text("Species,Body Mass (g)\nAdelie,3750\nGentoo,5000\nChinstrap,heavy\nAdelie,3800\n",
                    encoding="utf-8")
    return path


def _run(path, configuration):
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    pipeline = PipelineFactory(name="Penguins", data_source=source, configuration=configuration, max_retries=0)
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    return run_execute(run=run, batch_rows=2)


def test_only_the_step_that_failed_carries_the_error(clickhouse, penguins):
    run = _run(penguins, {"transformations": [{"name": "cast", "params": {"columns": {"body_mass_g": "integer"}}}]})
    assert run.status == "failed" and "heavy" in run.error_message
    logs = {log.operation_type: log for log in ProcessingLog.objects.filter(pipeline_run_id=run.pk)}
    assert logs["transform"].status == "failed" and logs["transform"].error_message == run.error_message
    # the first batch went through every step: those steps did their part and carry no error of the run
    for kind in ("load", "validate", "export"):
        assert (logs[kind].status, logs[kind].error_message) == ("completed", ""), kind


def test_a_run_that_cannot_read_its_source_fails_its_load_step_only(clickhouse, tmp_path):
    run = _run(tmp_path / "missing.csv", {})
    assert run.status == "failed"
    logs = list(ProcessingLog.objects.filter(pipeline_run_id=run.pk).values_list("operation_type", "status"))
    assert logs == [("load", "failed")]


def test_the_run_keeps_the_files_own_headers(clickhouse, penguins):
    run = _run(penguins, {})
    assert run.status == "success", run.error_message
    assert run.execution_context["source_headers"] == {"species": "Species", "body_mass_g": "Body Mass (g)"}
