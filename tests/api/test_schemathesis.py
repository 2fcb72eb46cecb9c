"""schemathesis against the live OpenAPI schema, in-process through the WSGI application: for every
operation, generated requests (authenticated as a superuser) never get a server error and every response
matches the schema. Bounded: a few examples per operation, no shrinking database, no deadline."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import (
    AnalysisResultFactory,
    FileMetadataFactory,
    PipelineRunFactory,
    ProcessingLogFactory,
    StagingTableFactory,
)

MAX_EXAMPLES = 8


@pytest.fixture
def token(db, superuser, clickhouse, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = PipelineRunFactory(status="failed")
    AnalysisResultFactory(pipeline_run=run)
    FileMetadataFactory(pipeline_run_id=run.pk)
    StagingTableFactory(pipeline_run_id=run.pk)
    ProcessingLogFactory(pipeline_run_id=run.pk)
    clickhouse.insert("data_quality_metrics", [["sales", "amount", "null_rate", 0.1, None, 0.05, False,
                                                         run.pk]],
                               ["table_name", "column_name", "metric_name", "metric_value", "threshold_min",
                                "threshold_max", "is_passed", "pipeline_run_id"])
    return Token.objects.create(user=superuser).key


CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def keep_test_connections():
    """The WSGI handler closes database connections at the end of each request; in a test they hold the
    test's transaction, so keep them open (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _check_operation(operation, token: str) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

    check()


@pytest.mark.django_db(databases=["default", "staging"])
def test_every_operation_conforms_to_the_schema(token, keep_test_connections, subtests):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(),
                                           headers={"Authorization": f"Token {token}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 39
    for operation in operations:
        with subtests.test(operation=operation.label):
            _check_operation(operation, token)
