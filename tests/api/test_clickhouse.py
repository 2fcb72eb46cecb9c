"""ClickHouse resources: quality and business metrics, lineage, catalog (with edits), audit log — filtered,
ordered and paged in ClickHouse; permissions; the audit log for superusers only."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.audit import audit_send_pending
from analytics.catalog import catalog_refresh
from tests.api.conftest import client_for, error_of, make_user

pytestmark = [pytest.mark.django_db(databases=["default", "staging"]), pytest.mark.clickhouse]

NOW = datetime.now(UTC).replace(microsecond=0)


def seed_quality(target):
    rows = [
        ["sales", "amount", "null_rate", 0.0, None, 0.05, True, 1, NOW - timedelta(days=3)],
        ["sales", "amount", "null_rate", 0.2, None, 0.05, False, 2, NOW - timedelta(days=1)],
        ["sales", "", "row_count", 10000.0, 5000.0, None, True, 2, NOW - timedelta(days=1)],
        ["orders", "id", "distinct_count", 50.0, None, None, True, 3, NOW],
    ]
    target.insert("data_quality_metrics", rows, ["table_name", "column_name", "metric_name", "metric_value",
                                                 "threshold_min", "threshold_max", "is_passed", "pipeline_run_id",
                                                 "created_at"])


def test_quality_metrics_filters_order_and_pages(clickhouse, api):
    seed_quality(clickhouse)
    url = "/api/v1/quality-metrics/"
    body = api.get(url).json()
    assert body["count"] == 4 and [r["pipeline_run_id"] for r in body["results"]][0] == 3  # newest first
    failed = api.get(url, {"is_passed": "false"}).json()
    assert failed["count"] == 1 and failed["results"][0]["metric_value"] == 0.2
    assert failed["results"][0]["threshold_max"] == 0.05 and failed["results"][0]["is_passed"] is False
    assert api.get(url, {"table_name": "sales", "pipeline_run_id": 2}).json()["count"] == 2
    since = (NOW - timedelta(days=2)).isoformat()
    assert api.get(url, {"table_name": "sales", "created_after": since}).json()["count"] == 2
    assert api.get(url, {"table_name": "sales", "created_before": since}).json()["count"] == 1

    ordered = api.get(url, {"ordering": "metric_value", "page_size": 2}).json()
    assert ordered["count"] == 4 and [r["metric_value"] for r in ordered["results"]] == [0.0, 0.2]
    assert ordered["next"] and ordered["previous"] is None
    second = api.get(url, {"ordering": "metric_value", "page_size": 2, "page": 2}).json()
    assert [r["metric_value"] for r in second["results"]] == [50.0, 10000.0]

    response = api.get(url, {"ordering": "metric_value; DROP TABLE x"})
    assert response.status_code == 400 and "ordering" in error_of(response)["fields"]
    response = api.get(url, {"pipeline_run_id": "abc"})
    assert response.status_code == 400 and "pipeline_run_id" in error_of(response)["fields"]
    assert api.get(url, {"table_name": "x' OR 1=1 --"}).json()["count"] == 0  # bound, never formatted


def test_business_metrics_and_lineage(clickhouse, api):
    clickhouse.insert("business_metrics", [
        ["sales", "revenue", 120.5, "RUB", json.dumps({"product_name": "Mug"}), date(2024, 3, 1), 7],
        ["sales", "orders", 3.0, "orders", "{}", date(2024, 3, 2), 7],
        ["hr", "hires", 1.0, "", "{}", date(2024, 2, 1), 8],
    ], ["metric_category", "metric_name", "metric_value", "metric_unit", "dimension_values", "calculation_date",
        "pipeline_run_id"])
    body = api.get("/api/v1/business-metrics/", {"metric_category": "sales"}).json()
    assert [r["metric_name"] for r in body["results"]] == ["orders", "revenue"]  # newest day first
    revenue = body["results"][1]
    assert revenue["dimension_values"] == {"product_name": "Mug"} and revenue["calculation_date"] == "2024-03-01"
    assert api.get("/api/v1/business-metrics/", {"date_from": "2024-03-02"}).json()["count"] == 1
    assert api.get("/api/v1/business-metrics/", {"date_to": "2024-02-28"}).json()["count"] == 1

    clickhouse.insert("data_lineage", [
        ["file:sales.csv", "amount", "stg_run_7", "amount", "extract", "copy", 7, 10],
        ["stg_run_7", "amount", "sales", "amount_rub", "derive", "amount * 90", 7, 10],
    ], ["source_table", "source_column", "target_table", "target_column", "transformation_type",
        "transformation_logic", "pipeline_run_id", "record_count"])
    body = api.get("/api/v1/lineage/", {"target_table": "sales"}).json()
    assert body["count"] == 1 and body["results"][0]["transformation_logic"] == "amount * 90"
    assert api.get("/api/v1/lineage/", {"pipeline_run_id": 7}).json()["count"] == 2


def test_catalog_list_and_edit_is_audited(clickhouse, api, superuser):
    catalog_refresh(target=clickhouse, schema_name="etl_target", table_name="sales", columns=[
        {"name": "amount", "data_type": "Float64", "is_nullable": False, "default_value": None},
        {"name": "email", "data_type": "String", "is_nullable": True, "default_value": None},
    ])
    body = api.get("/api/v1/catalog/", {"table_name": "sales"}).json()
    assert [e["column_name"] for e in body["results"]] == ["amount", "email"]
    email = body["results"][1]
    response = api.patch(f"/api/v1/catalog/{email['id']}/", {"description": "Customer e-mail", "owner": "crm",
                                                              "tags": ["pii"], "sensitivity_state": "confirmed"},
                         format="json")
    assert response.status_code == 200, response.json()
    edited = response.json()
    assert (edited["description"], edited["owner"], edited["tags"]) == ("Customer e-mail", "crm", ["pii"])
    assert edited["sensitivity_level"] == "confidential" and edited["id"] == email["id"]
    assert api.get("/api/v1/catalog/", {"search": "e-mail"}).json()["count"] == 1

    response = api.patch(f"/api/v1/catalog/{email['id']}/", {"sensitivity_state": "maybe"}, format="json")
    assert response.status_code == 400 and "sensitivity_state" in error_of(response)["fields"]
    response = api.patch(f"/api/v1/catalog/{email['id']}/", {"data_type": "Int8"}, format="json")
    assert response.status_code == 400
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.patch(f"/api/v1/catalog/{missing}/", {"owner": "x"}, format="json").status_code == 404

    audit_send_pending()  # the test's transaction never commits: send the outbox as the beat task would
    rows = clickhouse.rows("SELECT * FROM etl_audit_log WHERE table_name = 'data_catalog'")
    assert len(rows) == 1 and rows[0]["user_id"] == superuser.pk
    assert json.loads(rows[0]["operation_details"])["action"] == "catalog_edit"


def test_audit_log_is_superuser_only_and_read_only(clickhouse, api, viewer_api, superuser):
    api.post("/api/v1/sources/", {"name": "Feed", "source_type": "file",
                                  "connection_config": {"file_path": "/data/a.csv"}}, format="json")
    audit_send_pending()
    body = api.get("/api/v1/audit-log/", {"table_name": "data_sources"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["operation_type"] == "create" and row["user_id"] == superuser.pk
    assert row["operation_details"]["action"] == "create"
    assert api.get("/api/v1/audit-log/", {"operation_type": "delete"}).json()["count"] == 0
    assert api.get("/api/v1/audit-log/", {"user_id": superuser.pk}).json()["count"] >= 1

    staff = make_user("staff-with-all-perms", actions=("view", "add", "change", "delete"))
    for client in (viewer_api, client_for(staff)):
        response = client.get("/api/v1/audit-log/")
        assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    assert api.post("/api/v1/audit-log/", {}, format="json").status_code == 405


def test_clickhouse_reads_need_view_permission_and_edits_change_permission(clickhouse, viewer_api):
    nobody = client_for(make_user("nobody"))
    response = nobody.get("/api/v1/quality-metrics/")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    assert viewer_api.get("/api/v1/quality-metrics/").status_code == 200
    catalog_refresh(target=clickhouse, schema_name="", table_name="t", columns=[
        {"name": "c", "data_type": "String", "is_nullable": True, "default_value": None}])
    entry = viewer_api.get("/api/v1/catalog/").json()["results"][0]
    assert viewer_api.get(f"/api/v1/catalog/{entry['id']}/").status_code == 200
    assert viewer_api.patch(f"/api/v1/catalog/{entry['id']}/", {"owner": "me"}, format="json").status_code == 403
