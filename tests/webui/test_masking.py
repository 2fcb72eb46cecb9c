"""Values of sensitive columns are hidden on every page that shows rows — staged rows, quarantined values
and their reasons, the upload preview — from people without analytics.view_sensitive_data."""

import pytest
from django.urls import reverse

from pipelines.engine.runner import run_execute, target_table_name
from pipelines.services import run_claim, run_create
from staging.uploads import file_register_path
from tests.webui.conftest import UPLOADER, user_with

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


@pytest.fixture
def loaded(file_pipeline, clickhouse):
    """A run of the sales file whose e-mail column the catalog marks personal data; e-mails other than
    ann's and bob's are quarantined, so they show up in the quarantine too."""
    file_pipeline.configuration["validation_rules"]["regex"] = {"email": r"(ann|bob)@example\.com"}
    file_pipeline.configuration["validation_rules"]["max_failed_ratio"] = 0.9  # 3 of the 4 rows fail
    file_pipeline.save()
    run = run_create(pipeline=file_pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    table = target_table_name(file_pipeline)
    clickhouse.insert("data_catalog", [[table, clickhouse.database, "email", "pii"]],
                      ["table_name", "schema_name", "column_name", "sensitivity_level"])
    return run


def _pages(client, run, file_pipeline, sales_csv):
    upload = file_register_path(path=sales_csv, uploaded_by="uploader").file
    return {
        "run": client.get(reverse("webui:run-detail", args=[run.pk])).content.decode(),
        "quarantine": client.get(reverse("webui:quarantine-run", args=[run.pk])).content.decode(),
        "preview": client.get(reverse("webui:upload-preview", args=[upload.pk]),
                              {"pipeline": file_pipeline.pk}).content.decode(),
    }


def test_sensitive_values_are_masked_for_people_without_the_permission(client, django_user_model, loaded,
                                                                       file_pipeline, sales_csv):
    client.force_login(user_with(django_user_model, "uploader", *UPLOADER))
    pages = _pages(client, loaded, file_pipeline, sales_csv)
    for name, page in pages.items():
        assert "ann@example.com" not in page and "cy@example.com" not in page, name
        assert "•••" in page, name
    assert "10.5" in pages["run"], "other columns stay visible"
    assert "2024-01-02" in pages["preview"]


def test_holders_of_the_permission_see_the_values(client, django_user_model, loaded, file_pipeline, sales_csv):
    client.force_login(user_with(django_user_model, "uploader", *UPLOADER, "analytics.view_sensitive_data"))
    pages = _pages(client, loaded, file_pipeline, sales_csv)
    assert "ann@example.com" in pages["run"]
    assert "cy@example.com" in pages["quarantine"]
    assert "ann@example.com" in pages["preview"]
