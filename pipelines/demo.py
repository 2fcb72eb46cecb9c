"""The specification's example: a monthly sales CSV source and the "Sales processing" pipeline.

The data are generated (seeded, so every machine gets the same file): daily sales of a small product range,
with the kind of flaws real exports have — a few duplicated lines, a few negative or missing amounts — so the
pipeline's rules and transformations have something to do.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction

from analytics.business import DEMO_BUSINESS_METRICS
from pipelines.models import Pipeline, PipelineStatus
from sources.models import DataSource, SourceType

SOURCE_NAME = "Sales CSV file"
PIPELINE_NAME = "Sales processing"
PRODUCTS_SOURCE_NAME = "Product reference"

PRODUCTS = [
    (1, "Coffee beans 1 kg", "grocery", 1290.0),
    (2, "Green tea 100 g", "grocery", 350.0),
    (3, "French press", "kitchen", 2490.0),
    (4, "Milk frother", "kitchen", 1990.0),
    (5, "Ceramic mug", "tableware", 590.0),
    (6, "Espresso cups, set of 6", "tableware", 1490.0),
    (7, "Chocolate bar", "grocery", 120.0),
    (8, "Paper filters", "grocery", 190.0),
]

# The specification's pipeline configuration, exactly as written there.
PIPELINE_CONFIGURATION = {
    "validation_rules": {
        "required_columns": ["date", "amount", "product_id"],
        "data_types": {"date": "date", "amount": "float", "product_id": "integer"},
    },
    "transformations": ["clean_duplicates", "validate_amounts", "enrich_product_data"],
}


def write_sales_csv(path: Path, *, rows: int = 10_000, seed: int = 2024) -> int:
    """Write the demo sales file; returns the number of data lines written."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = date(2024, 1, 1)
    lines = []
    for order_id in range(1, rows + 1):
        product_id, _name, _category, price = rng.choice(PRODUCTS)
        quantity = rng.choices([1, 2, 3, 4, 5], weights=[50, 25, 12, 8, 5])[0]
        amount: str = f"{price * quantity * rng.uniform(0.9, 1.0):.2f}"
        roll = rng.random()
        if roll < 0.004:
            amount = ""  # missing amount
        elif roll < 0.008:
            amount = f"-{amount}"  # a refund booked as a sale
        day = start + timedelta(days=rng.randrange(366))
        lines.append([order_id, day.isoformat(), product_id, quantity, amount, rng.choice(["online", "store"])])
    # Exports are often appended twice in part: repeat a few lines verbatim.
    lines += [list(line) for line in rng.sample(lines, k=max(1, rows // 200))]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "date", "product_id", "quantity", "amount", "channel"])
        writer.writerows(lines)
    return len(lines)


def write_products_csv(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["product_id", "product_name", "category", "list_price"])
        writer.writerows(PRODUCTS)
    return len(PRODUCTS)


@transaction.atomic
def demo_load(*, data_dir: Path, rows: int = 10_000) -> Pipeline:
    """Create (or refresh) the example source and pipeline with their files under `data_dir`."""
    sales_path = data_dir / "sales_2024.csv"
    products_path = data_dir / "products.csv"
    write_sales_csv(sales_path, rows=rows)
    write_products_csv(products_path)
    DataSource.objects.update_or_create(
        name=PRODUCTS_SOURCE_NAME,
        defaults={
            "description": "Product reference for enrich_product_data",
            "source_type": SourceType.FILE,
            "connection_config": {"file_path": str(products_path), "delimiter": ",", "encoding": "utf-8"},
            "is_active": True,
        },
    )
    source, _ = DataSource.objects.update_or_create(
        name=SOURCE_NAME,
        defaults={
            "description": "Monthly sales data in CSV format",
            "source_type": SourceType.FILE,
            "connection_config": {"file_path": str(sales_path), "delimiter": ",", "encoding": "utf-8"},
            "is_active": True,
        },
    )
    pipeline, _ = Pipeline.objects.update_or_create(
        name=PIPELINE_NAME,
        defaults={
            "description": "Load and process sales data",
            "data_source": source,
            "status": PipelineStatus.ACTIVE,
            # The specification's configuration, plus where enrich_product_data finds its products.
            "configuration": {**PIPELINE_CONFIGURATION,
                              "references": {"products": {"source": PRODUCTS_SOURCE_NAME}},
                              "business_metrics": DEMO_BUSINESS_METRICS},
            "schedule_cron": "0 2 * * *",
            "max_retries": 3,
            "tags": ["sales", "monthly", "critical"],
        },
    )
    return pipeline
