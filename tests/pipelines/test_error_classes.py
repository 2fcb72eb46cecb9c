"""Only failures worth repeating are retried: a type conflict, bad SQL or a bad file fails at once.

A new user's run whose data types changed was retried three times with backoff (about 190 s with a still
progress bar) before the error reached them: every ClickHouseError without a server code counted as
"the server was not reached".
"""

import pytest

from analytics.clickhouse import ClickHouseError, get_target
from pipelines.engine.runner import run_execute
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(pipeline):
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    return run_execute(run=run)


@pytest.fixture
def penguins(tmp_path):
    path = tmp_path / "penguins.csv"
    path.write_text("sample_number,species\n1,Adelie\n2,Gentoo\n3,Chinstrap\n")
    return path


def test_a_type_conflict_with_the_target_table_is_permanent(clickhouse, penguins):
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(penguins)})
    pipeline = PipelineFactory(data_source=source, configuration={"target": {"table": "penguins"}})
    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS
    pipeline.configuration = {**pipeline.configuration,
                              "validation_rules": {"data_types": {"sample_number": "float"}}}
    pipeline.save()
    penguins.write_text(penguins.read_text() + "4,Adelie\n")  # a new file (the same one would be skipped)
    second = _run(pipeline)
    assert second.status == RunStatus.FAILED
    assert ("Column sample_number of target table penguins is Nullable(Int64), the data is now Nullable(Float64)"
            in second.error_message)
    assert second.execution_context["transient"] is False


def test_clickhouse_errors_say_whether_a_retry_can_help(clickhouse, settings):
    with pytest.raises(ClickHouseError) as bad_sql:
        clickhouse.query("SELEC 1")
    assert bad_sql.value.code == 62 and bad_sql.value.transient is False  # SYNTAX_ERROR
    with pytest.raises(ClickHouseError) as missing:
        clickhouse.query("SELECT * FROM no_such_table")
    assert missing.value.code == 60 and missing.value.transient is False  # UNKNOWN_TABLE


def test_an_unreachable_server_is_transient(clickhouse, settings):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TARGET_CLICKHOUSE = {**clickhouse.config, "BACKEND": "server", "HOST": "127.0.0.1", "PORT": port,
                                  "CONNECT_TIMEOUT": 2}
    with pytest.raises(ClickHouseError) as unreachable:
        get_target().query("SELECT 1")
    assert unreachable.value.transient is True and "could not be reached" in str(unreachable.value)
