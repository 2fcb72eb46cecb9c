import csv

import pytest
from django.core.management import call_command

from pipelines.demo import PIPELINE_CONFIGURATION
from pipelines.models import Pipeline
from sources.models import DataSource


@pytest.mark.django_db
def test_load_demo_creates_the_specifications_example(tmp_path):
    call_command("load_demo", "--rows", "500", "--data-dir", str(tmp_path))
    call_command("load_demo", "--rows", "500", "--data-dir", str(tmp_path))  # idempotent

    source = DataSource.objects.get()
    assert (source.name, source.source_type) == ("Sales CSV file", "file")
    assert source.connection_config == {"file_path": str(tmp_path / "sales_2024.csv"), "delimiter": ",",
                                        "encoding": "utf-8"}
    pipeline = Pipeline.objects.get()
    pipeline.full_clean()
    assert (pipeline.name, pipeline.status, pipeline.schedule_cron, pipeline.max_retries) == (
        "Sales processing", "active", "0 2 * * *", 3)
    assert pipeline.tags == ["sales", "monthly", "critical"]
    assert pipeline.configuration == PIPELINE_CONFIGURATION

    with open(tmp_path / "sales_2024.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 500 + 500 // 200
    assert set(rows[0]) >= {"date", "amount", "product_id"}
    assert len({tuple(r.values()) for r in rows}) < len(rows), "the file carries duplicated lines to clean"
    with open(tmp_path / "products.csv", newline="", encoding="utf-8") as fh:
        product_ids = {r["product_id"] for r in csv.DictReader(fh)}
    assert {r["product_id"] for r in rows} <= product_ids
