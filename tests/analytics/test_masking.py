"""Columns the catalog marks sensitive are masked in previews, pages and alerts for users without
analytics.view_sensitive_data; staging columns are catalogued too."""

from __future__ import annotations

import csv

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from analytics.catalog import STAGING_SCHEMA, catalog_edit, catalog_entries
from analytics.masking import MASK, RunMasker, can_view_sensitive, mask_records, sensitive_columns
from pipelines.alerts import sample_rows
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import PipelineRun, RunStatus
from pipelines.services import run_claim, run_create
from staging.models import StagingTable
from staging.quarantine import QuarantinedRow
from staging.services import staging_cleanup_expired
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

BAD_EMAILS = {7: "not an address", 19: "nobody-at-example", 33: "jane.doe(at)mail"}


@pytest.fixture
def customers_csv(tmp_path):
    path = tmp_path / "customers.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "email", "product", "amount"])
        for n in range(1, 61):
            email = BAD_EMAILS.get(n, f"customer{n}@example.org")
            writer.writerow([n, email, ["Laptop", "Desk lamp", "Coffee beans"][n % 3], f"{n * 1.5:.2f}"])
    return path


@pytest.fixture
def loaded(customers_csv, clickhouse):
    source = DataSourceFactory(connection_config={"file_path": str(customers_csv), "delimiter": ",",
                                                  "encoding": "utf-8"})
    pipeline = PipelineFactory(data_source=source, configuration={
        "validation_rules": {"required_columns": ["order_id", "email"],
                             "data_types": {"order_id": "integer", "amount": "float"},
                             "regex": {"email": r"[^@\s]+@[^@\s]+\.[a-z]+"}},
        "transformations": []})
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    staging_table = StagingTable.objects.get(pipeline_run_id=run.pk).table_name
    return {"run": run, "table": target_table_name(pipeline), "staging_table": staging_table,
            "target": clickhouse}


@pytest.fixture
def viewer(django_user_model):
    """Staff who may look at quarantined rows but not at sensitive values."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_quarantinedrow"))
    return user


def test_staging_columns_are_catalogued_with_personal_data_detected(loaded):
    entries = {e["column_name"]: e for e in catalog_entries(target=loaded["target"], schema_name=STAGING_SCHEMA,
                                                            table_name=loaded["staging_table"])}
    assert set(entries) == {"order_id", "email", "product", "amount"}  # _row_number is bookkeeping
    assert entries["email"]["sensitivity_state"] == "suggested"
    assert entries["email"]["sensitivity_evidence"]["kind"] == "email"
    assert entries["product"]["sensitivity_state"] == "none"
    assert all(e["data_type"] for e in entries.values())


def test_expired_staging_tables_leave_the_catalog(loaded):
    StagingTable.objects.filter(table_name=loaded["staging_table"]).update(expires_at="2000-01-01T00:00:00Z")
    assert staging_cleanup_expired() == 1
    assert catalog_entries(target=loaded["target"], schema_name=STAGING_SCHEMA,
                           table_name=loaded["staging_table"]) == []
    assert catalog_entries(target=loaded["target"], table_name=loaded["table"])  # the target's stay


def test_sensitive_columns_follow_the_catalog_decision(loaded):
    target, table = loaded["target"], loaded["table"]
    assert sensitive_columns(target, table, target.database) == {"email"}
    masker = RunMasker(None, target)
    assert masker.hidden(target_table=table, staging_table=loaded["staging_table"]) == {"email"}

    catalog_edit(target=target, schema_name=target.database, table_name=table, column_name="email",
                 sensitivity_state="rejected")
    # A person's rejection on the target stands for the run's staging copy of the column too.
    assert RunMasker(None, target).hidden(target_table=table, staging_table=loaded["staging_table"]) == set()

    catalog_edit(target=target, schema_name=target.database, table_name=table, column_name="product",
                 sensitivity_level="restricted")
    assert sensitive_columns(target, table, target.database) == {"product"}


def test_mask_records_hides_values_not_their_absence():
    rows = [{"email": "a@b.org", "product": "Laptop"}, {"email": None, "product": "Desk lamp"}]
    assert mask_records(rows, {"email"}) == [{"email": MASK, "product": "Laptop"},
                                             {"email": None, "product": "Desk lamp"}]


def test_the_permission_decides_who_sees(viewer, admin_user):
    assert not can_view_sensitive(viewer)
    assert can_view_sensitive(admin_user)
    viewer.user_permissions.add(Permission.objects.get(codename="view_sensitive_data"))
    viewer = type(viewer).objects.get(pk=viewer.pk)  # permissions are cached per instance
    assert can_view_sensitive(viewer)
    assert not can_view_sensitive(None)


def test_quarantined_values_are_masked_in_the_admin_for_users_without_the_permission(loaded, viewer, client,
                                                                                       admin_client):
    rows = QuarantinedRow.objects.filter(pipeline_run_id=loaded["run"].pk, column_name="email")
    assert sorted(r.value for r in rows) == sorted(BAD_EMAILS.values())
    url = reverse("admin:staging_quarantinedrow_changelist")

    client.force_login(viewer)
    page = client.get(url)
    assert page.status_code == 200
    assert MASK in page.text
    for value in BAD_EMAILS.values():
        assert value not in page.text  # neither as the value nor quoted in the reason
    detail = client.get(reverse("admin:staging_quarantinedrow_change", args=[rows[0].pk]))
    assert detail.status_code == 200
    assert MASK in detail.text and rows[0].value not in detail.text
    # Searching by value would reveal whether a hidden value is there.
    assert client.get(url, {"q": "nobody-at-example"}).context["cl"].result_count == 0

    page = admin_client.get(url)
    for value in BAD_EMAILS.values():
        assert f">{value}<" in page.text
    assert admin_client.get(url, {"q": "nobody-at-example"}).context["cl"].result_count == 1


def test_alert_samples_never_carry_sensitive_values(loaded):
    samples = sample_rows(PipelineRun.objects.get(pk=loaded["run"].pk))
    email_samples = [s for s in samples if s["column"] == "email"]
    assert email_samples and all(s["value"] == MASK for s in email_samples)
    assert not any(value in s["reason"] for s in email_samples for value in BAD_EMAILS.values())


def test_values_are_hidden_when_the_catalog_cannot_be_read(settings, tmp_path, django_user_model):
    """Fail closed: without the catalog nobody can tell which columns are sensitive."""
    # A server that does not answer.
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "HOST": "127.0.0.1",
                                  "PORT": 9, "DATABASE": "absent", "CONNECT_TIMEOUT": 2}
    masker = RunMasker(django_user_model.objects.create_user("someone"))
    assert masker.value("a@b.org", column="anything", target_table="orders") == MASK
    assert masker.value(None, column="anything", target_table="orders") is None
