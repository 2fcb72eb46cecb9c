"""Business metrics' dimension values are values of the run's target table: a viewer without
analytics.view_sensitive_data sees a sensitive column's values masked there too (API and dashboard), and a
column a step derived from a sensitive one is hidden as well (lineage)."""

from __future__ import annotations

import csv

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from analytics.catalog import catalog_edit, catalog_entries
from analytics.masking import MASK, DimensionMasker, RunMasker
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from tests.api.conftest import client_for
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


@pytest.fixture
def leaking_run(tmp_path, clickhouse):
    """Eve's pipeline: a derived column gluing a name to an e-mail, metrics by both and by the glue."""
    path = tmp_path / "clients.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["nomer", "email", "product"])
        for n in range(1, 31):
            writer.writerow([n, f"user{n}@example.org", ["Laptop", "Desk lamp"][n % 2]])
    source = DataSourceFactory(connection_config={"file_path": str(path), "delimiter": ",", "encoding": "utf-8"})
    pipeline = PipelineFactory(data_source=source, configuration={
        "transformations": [{"name": "derive", "params": {"column": "leak",
                                                          "expression": 'concat(product, "|", email)'}}],
        "business_metrics": [{"name": "leak", "category": "x", "aggregation": "count", "column": "nomer",
                              "dimensions": ["email", "product", "leak"]}]})
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    return {"run": run, "table": target_table_name(pipeline), "target": clickhouse}


@pytest.fixture
def eve(django_user_model):
    user = django_user_model.objects.create_user("eve", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_pipelinerun"))
    return user


def test_a_column_derived_from_a_sensitive_one_is_hidden(leaking_run):
    entries = {e["column_name"]: e for e in catalog_entries(target=leaking_run["target"],
                                                            table_name=leaking_run["table"])}
    assert entries["email"]["sensitivity_state"] == "suggested"
    assert entries["leak"]["sensitivity_state"] != "suggested"  # detection alone misses it
    hidden = RunMasker(None, leaking_run["target"]).hidden(target_table=leaking_run["table"])
    assert {"email", "leak"} <= hidden
    assert "product" not in hidden and "nomer" not in hidden
    # a person's decision on the derived column itself stands
    target = leaking_run["target"]
    catalog_edit(target=target, schema_name=target.database, table_name=leaking_run["table"], column_name="leak",
                 sensitivity_state="rejected")
    hidden = RunMasker(None, target).hidden(target_table=leaking_run["table"])
    assert "email" in hidden and "leak" not in hidden


def test_the_api_masks_sensitive_dimensions(leaking_run, eve, admin_user):
    url = f"/api/v1/business-metrics/?pipeline_run_id={leaking_run['run'].pk}"
    rows = client_for(eve).get(url).json()["results"]
    assert len(rows) == 30
    for row in rows:
        values = row["dimension_values"]
        assert values["email"] == MASK and values["leak"] == MASK
        assert values["product"] in ("Laptop", "Desk lamp")
    rows = client_for(admin_user).get(url).json()["results"]
    assert {row["dimension_values"]["email"] for row in rows} == {f"user{n}@example.org" for n in range(1, 31)}
    assert all(row["dimension_values"]["leak"].endswith("@example.org") for row in rows)


def test_the_dashboard_masks_sensitive_dimensions(leaking_run, eve, admin_user, client):
    url = reverse("dashboards:business") + "?category=x&metric=leak"
    client.force_login(eve)
    response = client.get(url)
    assert "@example.org" not in response.content.decode()
    # the masked values merge: one bar per product
    assert sorted(part["dimension"] for part in response.context["breakdown"]) == [
        f"email: {MASK}, leak: {MASK}, product: Desk lamp", f"email: {MASK}, leak: {MASK}, product: Laptop"]
    client.force_login(admin_user)
    response = client.get(url)
    assert "@example.org" in response.content.decode()
    assert len(response.context["breakdown"]) == 20  # one per e-mail, as many as the chart shows


def test_a_run_whose_pipeline_is_unknown_hides_every_dimension(eve):
    masker = DimensionMasker(eve, target_table_of=lambda run_id: "")
    rows = [{"pipeline_run_id": 5, "dimension_values": '{"product": "Laptop"}'}]
    assert masker.records(rows) == [{"pipeline_run_id": 5, "dimension_values": '{"product": "' + MASK + '"}'}]
