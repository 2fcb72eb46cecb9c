import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipelines.demo import PIPELINE_CONFIGURATION
from pipelines.models import Pipeline
from sources.models import DataSource


@pytest.mark.django_db
def test_load_demo_creates_the_specifications_example(tmp_path):
    call_command("load_demo", "--rows", "500", "--data-dir", str(tmp_path), "--no-run")
    call_command("load_demo", "--rows", "500", "--data-dir", str(tmp_path), "--no-run")  # idempotent

    source = DataSource.objects.get(name="Sales CSV file")
    products = DataSource.objects.get(name="Product reference")
    assert products.connection_config["file_path"] == str(tmp_path / "products.csv")
    assert (source.name, source.source_type) == ("Sales CSV file", "file")
    assert source.connection_config == {"file_path": str(tmp_path / "sales_2024.csv"), "delimiter": ",",
                                        "encoding": "utf-8"}
    pipeline = Pipeline.objects.get()
    pipeline.full_clean()
    assert (pipeline.name, pipeline.status, pipeline.schedule_cron, pipeline.max_retries) == (
        "Sales processing", "active", "0 2 * * *", 3)
    assert pipeline.tags == ["sales", "monthly", "critical"]
    assert {k: pipeline.configuration[k] for k in PIPELINE_CONFIGURATION} == PIPELINE_CONFIGURATION
    assert pipeline.configuration["references"] == {"products": {"source": "Product reference"}}

    with open(tmp_path / "sales_2024.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 500 + 500 // 200
    assert set(rows[0]) >= {"date", "amount", "product_id"}
    assert len({tuple(r.values()) for r in rows}) < len(rows), "the file carries duplicated lines to clean"
    with open(tmp_path / "products.csv", newline="", encoding="utf-8") as fh:
        product_ids = {r["product_id"] for r in csv.DictReader(fh)}
    assert {r["product_id"] for r in rows} <= product_ids


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_load_demo_runs_the_pipeline(tmp_path, clickhouse, capsys):
    from pipelines.models import PipelineRun

    call_command("load_demo", "--rows", "300", "--data-dir", str(tmp_path))
    run = PipelineRun.objects.get()
    assert run.status == "success", run.error_message
    assert run.records_processed == 300 + 300 // 200
    out = capsys.readouterr().out
    assert "Demo ready" in out and f"Run {run.pk} Success" in out
    assert clickhouse.command("SELECT count() FROM sales_processing") == run.execution_context["rows_loaded"]


@pytest.mark.django_db
def test_load_demo_writes_into_the_upload_folder_by_default_and_only_into_readable_folders(tmp_path, settings):
    """Its sources are file sources like any other: var/ is not a folder they may read (sources/fileroots.py)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", "--rows", "50", "--no-run")
    path = DataSource.objects.get(name="Sales CSV file").connection_config["file_path"]
    assert path == str((tmp_path / "media" / "uploads" / "demo" / "sales_2024.csv").resolve())
    with pytest.raises(CommandError, match="no source may read"):
        call_command("load_demo", "--rows", "50", "--no-run", "--data-dir", str(settings.VAR_DIR / "demo"))
