"""The dry run commits nothing and shows what a run would see; the column mapping is saved per pipeline and
used by the next preview (the engine's use of it is tested in tests/pipelines/test_column_mapping.py)."""

import csv

import pytest
from django.urls import reverse

from pipelines.decisions import MappingError, column_mapping_save
from pipelines.models import PipelineRun
from staging.models import FileMetadata, StagingTable
from staging.quarantine import QuarantinedRow
from staging.uploads import file_register_path
from webui.preview import file_preview

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_the_preview_infers_the_schema_and_validates_a_sample_with_row_numbers(sales_csv, file_pipeline):
    file = file_register_path(path=sales_csv).file
    preview = file_preview(file=file, pipeline=file_pipeline)
    assert (preview.format, preview.delimiter) == ("csv", ",")
    assert preview.encoding in ("utf-8", "ascii")
    types = {c.name: (c.type, c.nullable) for c in preview.columns}
    # The types the load will use: declared ones (whatever the sample holds: its bad rows are errors below),
    # the data's own for the rest.
    assert types == {"date": ("date", False), "amount": ("float", False), "product_id": ("integer", False),
                     "email": ("string", True)}
    assert preview.rows[0] == ["2024-01-02", "10.5", "1", "ann@example.com"]
    assert (preview.rows_checked, preview.rows_failed, preview.missing) == (4, 2, [])
    assert {(e["row"], e["column"], e["value"]) for e in preview.errors} == {(2, "amount", "lots"),
                                                                            (3, "date", "yesterday")}


def test_a_dry_run_through_the_page_commits_nothing(admin_client, sales_csv, file_pipeline):
    client = admin_client
    file = file_register_path(path=sales_csv, uploaded_by="admin").file
    before = (PipelineRun.objects.count(), StagingTable.objects.count(), QuarantinedRow.objects.count(),
              FileMetadata.objects.count())
    response = client.get(reverse("webui:upload-preview", args=[file.pk]), {"pipeline": file_pipeline.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "lots" in page and "yesterday" in page and "nothing is saved" in page
    assert (PipelineRun.objects.count(), StagingTable.objects.count(), QuarantinedRow.objects.count(),
            FileMetadata.objects.count()) == before


def test_a_file_that_cannot_be_read_gives_a_message_not_an_error_page(client, uploader, tmp_path, file_pipeline):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not a parquet file at all")
    file = file_register_path(path=bad, uploaded_by="uploader").file
    response = client.get(reverse("webui:upload-preview", args=[file.pk]), {"pipeline": file_pipeline.pk})
    assert response.status_code == 200 and "cannot be read" in response.content.decode()


def test_someone_elses_file_is_not_found(client, uploader, sales_csv, file_pipeline):
    file = file_register_path(path=sales_csv, uploaded_by="somebody").file
    response = client.get(reverse("webui:upload-preview", args=[file.pk]), {"pipeline": file_pipeline.pk})
    assert response.status_code == 404


def _renamed_csv(tmp_path):
    path = tmp_path / "renamed.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["Sale Date", "Sum", "product_id"], ["2024-01-02", "10.5", "1"]])
    return path


def test_mapping_is_saved_per_pipeline_and_used_by_the_next_preview(admin_client, tmp_path, file_pipeline):
    client = admin_client
    file = file_register_path(path=_renamed_csv(tmp_path), uploaded_by="admin").file
    url = reverse("webui:upload-preview", args=[file.pk])
    first = client.get(url, {"pipeline": file_pipeline.pk}).content.decode()
    assert "expects columns this file lacks: date, amount" in first
    response = client.post(reverse("webui:upload-mapping", args=[file.pk]), {
        "pipeline": file_pipeline.pk, "source": ["sale_date", "sum"], "target": ["date", "amount"]})
    assert response.status_code == 200
    file_pipeline.refresh_from_db()
    assert file_pipeline.configuration["column_mapping"] == {"sale_date": "date", "sum": "amount"}
    after = client.get(url, {"pipeline": file_pipeline.pk}).content.decode()
    assert "lacks" not in after and "0 of the first 1 rows" in after


def test_a_mapping_that_breaks_the_configuration_is_refused_and_nothing_is_saved(file_pipeline):
    before = dict(file_pipeline.configuration)
    with pytest.raises(MappingError, match="same pipeline column"):
        column_mapping_save(pipeline=file_pipeline, pairs=[("a", "date"), ("b", "date")])
    file_pipeline.refresh_from_db()
    assert file_pipeline.configuration == before


def test_an_empty_target_removes_a_columns_mapping(file_pipeline):
    column_mapping_save(pipeline=file_pipeline, pairs=[("sale_date", "date"), ("sum", "amount")])
    assert column_mapping_save(pipeline=file_pipeline, pairs=[("sum", "")]) == {"sale_date": "date"}
    file_pipeline.refresh_from_db()
    assert file_pipeline.configuration["column_mapping"] == {"sale_date": "date"}


def test_saving_a_mapping_needs_change_permission(client, django_user_model, tmp_path, file_pipeline):
    from tests.webui.conftest import user_with

    client.force_login(user_with(django_user_model, "reader", "pipelines.view_pipeline",
                                 "staging.view_filemetadata"))
    file = file_register_path(path=_renamed_csv(tmp_path), uploaded_by="reader").file
    response = client.post(reverse("webui:upload-mapping", args=[file.pk]), {
        "pipeline": file_pipeline.pk, "source": ["sum"], "target": ["amount"]})
    assert response.status_code == 403
    file_pipeline.refresh_from_db()
    assert "column_mapping" not in file_pipeline.configuration


def test_the_preview_says_when_the_encoding_is_a_guess(tmp_path, file_pipeline):
    """cp1252 and cp1250 read these bytes as different letters ("Kèr" / "Kčr"); the user is told to check."""
    path = tmp_path / "guess.csv"
    path.write_bytes(b"date,amount,product_id\n2024-01-02,1.5,vo\n2024-01-03,2,K\xe8r\n")
    registered = file_register_path(path=path).file
    assert registered.encoding == "cp1252" and registered.metadata["encoding_confident"] is False
    preview = file_preview(file=registered, pipeline=file_pipeline)
    assert preview.encoding == "cp1252" and preview.encoding_confident is False
    sure = tmp_path / "sure.csv"
    sure.write_bytes("date,amount,product_id\n2024-01-02,1.5,Málaga\n2024-01-03,2,Zürich\n".encode("cp1252"))
    registered = file_register_path(path=sure).file
    assert registered.encoding == "cp1252" and "encoding_confident" not in registered.metadata
    assert file_preview(file=registered, pipeline=file_pipeline).encoding_confident is True


def test_processing_waits_for_the_missing_columns_to_be_mapped(admin_client, tmp_path, file_pipeline,
                                                                django_capture_on_commit_callbacks):
    file = file_register_path(path=_renamed_csv(tmp_path), uploaded_by="admin").file
    url = reverse("webui:upload-run", args=[file.pk])
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(url, {"pipeline": file_pipeline.pk})
    assert response.status_code == 400
    assert "expects columns this file lacks: date, amount" in response.json()["error"]
    assert not PipelineRun.objects.exists()

    column_mapping_save(pipeline=file_pipeline, pairs=[("sale_date", "date"), ("sum", "amount")])
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(url, {"pipeline": file_pipeline.pk})
    assert response.status_code == 200, response.content
    assert PipelineRun.objects.filter(pk=response.json()["run_id"]).exists()
