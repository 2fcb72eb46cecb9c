"""data_catalog: refreshed per run, people's edits kept, PII suggested from the data and decided by people."""

import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from analytics.catalog import (
    CatalogError,
    catalog_edit,
    catalog_entries,
    catalog_refresh,
    target_columns,
    target_samples,
)
from analytics.loading import TargetLoad

EMAILS = [f"customer{i}@example.com" for i in range(30)]
PRODUCTS = ["Ceramic mug", "Coffee beans 1 kg", "Green Tea", "Desk Lamp", "Paper towels"] * 6
CARDS = ["4111111111111111", "5500000000000004", "4012888888881881", "378282246310005"] * 5
INNS = ["7707083893", "500100732259", "7830002293"] * 5
PHONES = ["+7 916 123-45-67", "8 (495) 123-45-67", "+44 20 7946 0958"] * 5


def _col(name, data_type="Nullable(String)", nullable=True, default=None):
    return {"name": name, "data_type": data_type, "is_nullable": nullable, "default_value": default}


def _entries(target, table="orders"):
    return {e["column_name"]: e for e in catalog_entries(target=target, table_name=table)}


def test_pii_suggested_on_emails_not_on_product_names(clickhouse):
    columns = [_col("email"), _col("product"), _col("card"), _col("bad_card"), _col("inn"), _col("phone"),
               _col("amount", "Nullable(Float64)"), _col("order_date", "Nullable(Date32)")]
    samples = {"email": EMAILS, "product": PRODUCTS, "card": CARDS,
               "bad_card": [c[:-1] + str((int(c[-1]) + 1) % 10) for c in CARDS], "inn": INNS, "phone": PHONES,
               "amount": ["12.5", "100.0", None], "order_date": ["2024-01-15", "2024-02-01"]}
    assert catalog_refresh(target=clickhouse, schema_name="target", table_name="orders", columns=columns,
                           samples=samples) == len(columns)
    entries = _entries(clickhouse)
    email = entries["email"]
    assert email["sensitivity_state"] == "suggested"
    assert email["sensitivity_evidence"]["kind"] == "email"
    assert email["sensitivity_evidence"]["share"] == 1.0 and email["sensitivity_evidence"]["sample_size"] == 30
    assert email["sensitivity_level"] == "public"  # the level stays people's until they decide
    assert {c: entries[c]["sensitivity_evidence"].get("kind") for c in ("card", "inn", "phone")} == \
        {"card": "card", "inn": "inn", "phone": "phone"}
    for name in ("product", "bad_card", "amount", "order_date"):
        assert entries[name]["sensitivity_state"] == "none", name
        assert entries[name]["sensitivity_evidence"] == {}
    assert entries["amount"]["data_type"] == "Nullable(Float64)" and entries["amount"]["is_nullable"] is True


def test_refresh_keeps_peoples_edits(clickhouse):
    catalog_refresh(target=clickhouse, schema_name="target", table_name="orders",
                    columns=[_col("product"), _col("qty", "Int32", False, "0")], samples={"product": PRODUCTS})
    first = _entries(clickhouse)
    edited = catalog_edit(target=clickhouse, schema_name="target", table_name="orders", column_name="product",
                          description="What was sold", business_meaning="Catalogue item", owner="sales",
                          tags=["sales", "core"], sensitivity_level="internal")
    assert edited["owner"] == "sales"
    catalog_refresh(target=clickhouse, schema_name="target", table_name="orders",
                    columns=[_col("product", "String", False, "''"), _col("qty", "Int64", False, "1")],
                    samples={"product": PRODUCTS})
    entries = _entries(clickhouse)
    assert len(catalog_entries(target=clickhouse)) == 2  # one (latest) version per column
    product = entries["product"]
    assert (product["description"], product["business_meaning"], product["owner"], product["tags"],
            product["sensitivity_level"]) == ("What was sold", "Catalogue item", "sales", ["sales", "core"],
                                              "internal")
    assert (product["data_type"], product["is_nullable"], product["default_value"]) == ("String", False, "''")
    assert entries["qty"]["data_type"] == "Int64" and entries["qty"]["default_value"] == "1"
    assert product["id"] == first["product"]["id"] and product["created_at"] == first["product"]["created_at"]
    assert product["last_updated"] > first["product"]["last_updated"]
    assert [e["column_name"] for e in catalog_entries(target=clickhouse, search="CATALOGUE")] == ["product"]
    assert [e["column_name"] for e in catalog_entries(target=clickhouse, search="core")] == ["product"]
    assert catalog_entries(target=clickhouse, table_name="other") == []


def test_decision_kept_while_column_unchanged_and_reopened_when_it_changes(clickhouse):
    def refresh(data_type="Nullable(String)", values=EMAILS):
        catalog_refresh(target=clickhouse, schema_name="target", table_name="orders",
                        columns=[_col("contact", data_type)], samples={"contact": values})
        return _entries(clickhouse)["contact"]

    assert refresh()["sensitivity_state"] == "suggested"
    confirmed = catalog_edit(target=clickhouse, schema_name="target", table_name="orders", column_name="contact",
                             sensitivity_state="confirmed")
    assert confirmed["sensitivity_level"] == "confidential"
    entry = refresh()
    assert (entry["sensitivity_state"], entry["sensitivity_level"]) == ("confirmed", "confidential")
    entry = refresh(values=PRODUCTS)  # same definition: the person's decision stands
    assert entry["sensitivity_state"] == "confirmed" and entry["sensitivity_evidence"]["kind"] == "email"
    entry = refresh("String")  # the column changed: re-evaluated
    assert entry["sensitivity_state"] == "suggested" and entry["sensitivity_evidence"]["kind"] == "email"

    catalog_edit(target=clickhouse, schema_name="target", table_name="orders", column_name="contact",
                 sensitivity_state="rejected")
    assert refresh("String")["sensitivity_state"] == "rejected"
    assert refresh("String", values=None)["sensitivity_state"] == "rejected"
    entry = refresh("Nullable(String)", values=None)  # changed, nothing sampled: re-opened from the evidence
    assert entry["sensitivity_state"] == "suggested"
    assert refresh("LowCardinality(String)", values=PRODUCTS)["sensitivity_state"] == "none"


def test_edit_validation(clickhouse):
    catalog_refresh(target=clickhouse, schema_name="", table_name="orders", columns=[_col("a")], samples=None)
    with pytest.raises(CatalogError):
        catalog_edit(target=clickhouse, schema_name="", table_name="orders", column_name="a", data_type="x")
    with pytest.raises(CatalogError):
        catalog_edit(target=clickhouse, schema_name="", table_name="orders", column_name="a",
                     sensitivity_state="suggested")
    with pytest.raises(CatalogError):
        catalog_edit(target=clickhouse, schema_name="", table_name="orders", column_name="missing", owner="x")
    with pytest.raises(CatalogError):
        catalog_edit(target=clickhouse, schema_name="", table_name="orders", column_name="a", tags="pii")


def test_target_columns_and_samples_feed_the_refresh(clickhouse):
    load = TargetLoad(clickhouse, table="customers", pipeline_run_id=5,
                      loaded_at=datetime(2024, 3, 1, tzinfo=timezone.utc))
    batch = pa.table({"_row_number": pa.array(range(30), pa.int64()), "email": EMAILS,
                      "product": PRODUCTS, "amount": pa.array([float(i) for i in range(30)])})
    load.begin(batch.schema)
    load.append(batch)
    load.commit()
    columns = target_columns(clickhouse, "customers")
    assert [c["name"] for c in columns] == ["email", "product", "amount"]
    assert columns[0] == {"name": "email", "data_type": "Nullable(String)", "is_nullable": True,
                          "default_value": None}
    samples = target_samples(clickhouse, "customers", 5, [c["name"] for c in columns], limit=20)
    assert len(samples["email"]) == 20 and samples["email"][0].endswith("@example.com")
    assert target_samples(clickhouse, "customers", 6, ["email"]) == {"email": []}
    catalog_refresh(target=clickhouse, schema_name="target", table_name="customers", columns=columns,
                    samples=samples)
    states = {e["column_name"]: e["sensitivity_state"]
              for e in catalog_entries(target=clickhouse, table_name="customers")}
    assert states == {"email": "suggested", "product": "none", "amount": "none"}
    raw = clickhouse.rows("SELECT sensitivity_evidence FROM data_catalog FINAL WHERE column_name = 'email'")
    assert json.loads(raw[0]["sensitivity_evidence"])["pattern"]


def test_a_float_column_of_coordinates_is_not_personal_data(clickhouse):
    """Airport longitudes stored as Float64 were flagged "phone: 923 of 1000 sampled values match"."""
    longitudes = [-89.2347222, -122.3090833, -73.7788889, -118.4080486, -84.4280556] * 6
    load = TargetLoad(clickhouse, table="airports", pipeline_run_id=7,
                      loaded_at=datetime(2024, 3, 1, tzinfo=timezone.utc))
    batch = pa.table({"_row_number": pa.array(range(30), pa.int64()), "lon": pa.array(longitudes),
                      "contact": EMAILS})
    load.begin(batch.schema)
    load.append(batch)
    load.commit()
    columns = target_columns(clickhouse, "airports")
    assert columns[0]["data_type"] == "Nullable(Float64)"
    catalog_refresh(target=clickhouse, schema_name="target", table_name="airports", columns=columns,
                    samples=target_samples(clickhouse, "airports", 7, ["lon", "contact"]))
    states = {e["column_name"]: e["sensitivity_state"]
              for e in catalog_entries(target=clickhouse, table_name="airports")}
    assert states == {"lon": "none", "contact": "suggested"}
