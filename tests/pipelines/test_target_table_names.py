"""configuration.target.table is a table name as the pipelines make them (tester's finding: "x; DROP TABLE
zakazy_2024" was accepted and renamed at run time): refused on save with a field error; a stored configuration
written before the rule still reads and loads as before."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pipelines.config import PipelineConfig
from pipelines.models import Pipeline
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.mark.parametrize("table", ["x; DROP TABLE zakazy_2024", "Sales", "sales-2024", "2024_sales", "_sales",
                                   "продажи", "a" * 64, "sales 2024"])
def test_an_unsafe_name_is_refused(table):
    _config, errors = PipelineConfig.parse({"target": {"table": table}})
    assert any(message.startswith("target.table: a table name has lower-case Latin letters")
               for message in errors["configuration"]), errors


@pytest.mark.parametrize("table", ["sales", "zakazy_2024", "a" * 63, "s", ""])
def test_a_table_name_or_none_is_accepted(table):
    assert PipelineConfig.parse({"target": {"table": table}})[1] == {}


def test_the_api_answers_400_with_the_sanitized_example_in_russian(admin_user):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="ru")
    api.force_authenticate(admin_user)
    response = api.post("/api/v1/pipelines/", {"name": "Orders", "data_source": DataSourceFactory().pk,
                                               "configuration": {"target": {"table": "x; DROP TABLE zakazy_2024"}}},
                        format="json")
    assert response.status_code == 400
    text = " ".join(response.json()["error"]["fields"]["configuration"])
    assert "target.table: имя таблицы" in text and "x_drop_table_zakazy_2024" in text
    assert not Pipeline.objects.filter(name="Orders").exists()


def test_a_stored_configuration_still_reads_as_before():
    pipeline = PipelineFactory(name="Orders", configuration={})
    Pipeline.all_objects.filter(pk=pipeline.pk).update(configuration={"target": {"table": "Orders 2024"}})
    pipeline = Pipeline.objects.get(pk=pipeline.pk)
    assert pipeline.config.target_table == "Orders 2024"
    assert pipeline.target_table == "orders_2024"
