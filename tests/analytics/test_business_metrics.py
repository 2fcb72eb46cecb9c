"""Business metrics: definitions validated, computed in ClickHouse per run, checked against Python."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timezone

import pyarrow as pa
import pytest

from analytics.business import (
    DEMO_BUSINESS_METRICS,
    BusinessMetricError,
    business_metric_errors,
    business_metrics_compute,
)
from analytics.loading import TargetLoad

PRODUCTS = ["Ceramic mug", "Desk lamp", "Notebook"]
SCHEMA = pa.schema([("_row_number", pa.int64()), ("order_id", pa.int64()), ("date", pa.date32()),
                    ("product_id", pa.int64()), ("quantity", pa.int64()), ("amount", pa.float64()),
                    ("channel", pa.string()), ("product_name", pa.string())])


def _rows(seed: int, n: int = 40) -> list[dict]:
    return [{"_row_number": i, "order_id": seed * 1000 + i, "date": date(2024, 3, 1 + (i * seed) % 3),
             "product_id": i % 3, "quantity": 1 + i % 4,
             "amount": None if i % 11 == 5 else round(10.5 * (1 + i % 4) + i, 2),
             "channel": "online" if i % 2 else "store", "product_name": PRODUCTS[i % 3]} for i in range(n)]


def _load(target, run_id: int, rows: list[dict], table: str = "sales") -> None:
    load = TargetLoad(target, table=table, pipeline_run_id=run_id)
    load.begin(SCHEMA)
    load.append(pa.Table.from_pylist(rows, schema=SCHEMA))
    load.commit()


def _by_key(written: list[dict], name: str) -> dict:
    return {(r["calculation_date"], r["dimension_values"]): r["metric_value"]
            for r in written if r["metric_name"] == name}


def test_demo_metrics_match_python(clickhouse):
    rows = _rows(seed=1)
    _load(clickhouse, 7, rows)
    _load(clickhouse, 8, _rows(seed=2))  # another run in the same table must not count
    written = business_metrics_compute(target=clickhouse, table="sales", run_id=7, definitions=DEMO_BUSINESS_METRICS)

    revenue, orders, amounts = defaultdict(float), defaultdict(int), defaultdict(list)
    for row in rows:
        orders[row["date"]] += 1
        if row["amount"] is not None:
            revenue[row["date"]] += row["amount"]
            amounts[row["product_name"]].append(row["amount"])
    got_revenue = _by_key(written, "revenue")
    assert got_revenue.keys() == {(day, "{}") for day in revenue}
    for day, value in revenue.items():
        assert got_revenue[(day, "{}")] == pytest.approx(value)
    assert _by_key(written, "orders") == {(day, "{}"): float(n) for day, n in orders.items()}
    today = datetime.now(timezone.utc).date()
    average = _by_key(written, "average_check")
    assert average.keys() == {(today, json.dumps({"product_name": p}, ensure_ascii=False)) for p in amounts}
    for product, values in amounts.items():
        key = (today, json.dumps({"product_name": product}, ensure_ascii=False))
        assert average[key] == pytest.approx(sum(values) / len(values))

    stored = clickhouse.rows("SELECT metric_category, metric_name, metric_value, metric_unit, dimension_values, "
                             "calculation_date, pipeline_run_id FROM business_metrics ORDER BY metric_name, "
                             "calculation_date, dimension_values")
    assert len(stored) == len(written) == len(revenue) + len(orders) + len(amounts)
    assert {r["pipeline_run_id"] for r in stored} == {7}
    assert {(r["metric_name"], r["metric_unit"]) for r in stored} == {
        ("revenue", "RUB"), ("orders", "orders"), ("average_check", "RUB")}
    assert {json.loads(r["dimension_values"]).get("product_name") for r in stored
            if r["metric_name"] == "average_check"} == set(PRODUCTS)

    # The specification's monitoring query over what was written.
    summary = clickhouse.rows(
        "SELECT metric_category, metric_name, AVG(metric_value) as avg_value, MAX(calculation_date) as "
        "last_calculated FROM business_metrics GROUP BY metric_category, metric_name "
        "ORDER BY metric_category, avg_value DESC")
    assert [r["metric_name"] for r in summary] == sorted(
        ["revenue", "orders", "average_check"],
        key=lambda name: -sum(v for k, v in _by_key(written, name).items()) / len(_by_key(written, name)))
    by_name = {r["metric_name"]: r for r in summary}
    assert by_name["revenue"]["last_calculated"] == max(revenue)
    assert by_name["orders"]["avg_value"] == pytest.approx(len(rows) / len(orders))

    # Computing the run again replaces its rows instead of adding to them.
    business_metrics_compute(target=clickhouse, table="sales", run_id=7, definitions=DEMO_BUSINESS_METRICS)
    assert clickhouse.command("SELECT count() FROM business_metrics") == len(written)


def test_a_daily_metric_over_decades_is_computed(clickhouse):
    """A daily price series over more than 100 months failed with ClickHouse's TOO_MANY_PARTS
    (max_partitions_per_insert_block) and the run still said success."""
    first = date(1995, 1, 1)
    days = [date.fromordinal(first.toordinal() + i) for i in range(0, 30 * 365, 3)]  # 30 years, every 3rd day
    rows = [{**_rows(seed=1, n=1)[0], "_row_number": i, "order_id": i, "date": day, "amount": float(i % 97)}
            for i, day in enumerate(days)]
    _load(clickhouse, 9, rows)
    definitions = [{"category": "sales", "name": "revenue", "column": "amount", "aggregation": "sum",
                    "date_column": "date"}]
    written = business_metrics_compute(target=clickhouse, table="sales", run_id=9, definitions=definitions)
    assert len(written) == len(days)
    stored = clickhouse.rows("SELECT count() AS n, sum(metric_value) AS total, uniqExact(toYYYYMM(calculation_date)) "
                             "AS months FROM business_metrics WHERE pipeline_run_id = 9")
    assert stored == [{"n": len(days), "total": float(sum(i % 97 for i in range(len(days)))), "months": 360}]


def test_other_aggregations_and_two_dimensions(clickhouse):
    rows = _rows(seed=3, n=30)
    _load(clickhouse, 11, rows)
    definitions = [
        {"name": "max_order", "category": "sales", "aggregation": "max", "column": "amount",
         "dimensions": ["channel", "product_name"]},
        {"name": "products", "category": "catalog", "aggregation": "count_distinct", "column": "product_id"},
        {"name": "min_qty", "category": "sales", "aggregation": "min", "column": "quantity", "date_column": "date"},
        {"name": "amounts", "category": "sales", "aggregation": "count", "column": "amount"},
    ]
    written = business_metrics_compute(target=clickhouse, table="sales", run_id=11, definitions=definitions)
    maxima: dict = {}
    for row in rows:
        if row["amount"] is not None:
            key = json.dumps({"channel": row["channel"], "product_name": row["product_name"]}, sort_keys=True)
            maxima[key] = max(maxima.get(key, float("-inf")), row["amount"])
    assert {k[1]: v for k, v in _by_key(written, "max_order").items()} == pytest.approx(maxima)
    assert list(_by_key(written, "products").values()) == [3.0]
    min_qty: dict = {}
    for row in rows:
        min_qty[row["date"]] = min(min_qty.get(row["date"], 99), row["quantity"])
    assert {k[0]: v for k, v in _by_key(written, "min_qty").items()} == min_qty
    assert list(_by_key(written, "amounts").values()) == [float(sum(r["amount"] is not None for r in rows))]


def test_run_without_rows_writes_counts_only(clickhouse):
    _load(clickhouse, 1, _rows(seed=1, n=5))
    written = business_metrics_compute(target=clickhouse, table="sales", run_id=99, definitions=[
        {"name": "n", "category": "c", "aggregation": "count"},
        {"name": "a", "category": "c", "aggregation": "avg", "column": "amount"},
        {"name": "d", "category": "c", "aggregation": "sum", "column": "amount", "date_column": "date"}])
    assert [(r["metric_name"], r["metric_value"]) for r in written] == [("n", 0.0)]


def test_unknown_column_is_refused_before_writing(clickhouse):
    _load(clickhouse, 1, _rows(seed=1, n=5))
    with pytest.raises(BusinessMetricError, match="no column \"price\""):
        business_metrics_compute(target=clickhouse, table="sales", run_id=1, definitions=[
            {"name": "ok", "category": "c", "aggregation": "count"},
            {"name": "bad", "category": "c", "aggregation": "sum", "column": "price"}])
    with pytest.raises(BusinessMetricError, match="no column \"_pipeline_run_id\""):
        business_metrics_compute(target=clickhouse, table="sales", run_id=1, definitions=[
            {"name": "bad", "category": "c", "aggregation": "sum", "column": "_pipeline_run_id"}])
    assert clickhouse.command("SELECT count() FROM business_metrics") == 0


def test_definition_errors_name_index_and_key():
    assert business_metric_errors(DEMO_BUSINESS_METRICS) == []
    assert business_metric_errors({"name": "x"}) == ["business_metrics must be a list of metric definitions."]
    errors = business_metric_errors([
        {"name": "a", "category": "c", "aggregation": "count"},
        {"name": "a", "category": "", "aggregation": "median", "colour": 1},
        {"name": "b", "category": "c", "aggregation": "sum"},
        {"name": "c", "category": "c", "aggregation": "sum", "column": "amount) FROM system.users --"},
        {"name": "d", "category": "c", "aggregation": "avg", "column": "amount", "dimensions": "channel",
         "date_column": "1date", "unit": 5},
        "revenue",
    ])
    text = "\n".join(errors)
    assert "business_metrics[1]: unknown key \"colour\"" in text
    assert "business_metrics[1].category: a non-empty string is required." in text
    assert "business_metrics[1].name: the metric \"a\" is defined twice." in text
    assert "business_metrics[1].aggregation: expected one of sum, count, avg, min, max, count_distinct" in text
    assert "business_metrics[2].column: the aggregation \"sum\" needs a column." in text
    assert "business_metrics[3].column: expected a column name" in text
    assert "business_metrics[4].dimensions: expected a list of column names." in text
    assert "business_metrics[4].date_column: expected a column name" in text
    assert "business_metrics[4].unit: expected a string." in text
    assert "business_metrics[5]: expected a JSON object." in text
    with pytest.raises(BusinessMetricError):
        business_metrics_compute(target=None, table="sales", run_id=1, definitions=[{"name": "x"}])
