"""The catalog page shows what was found in a column (kind, pattern, counts), never the values themselves."""

import pytest

from analytics.catalog import catalog_refresh

pytestmark = pytest.mark.django_db

EMAILS = [f"person{i}@example.org" for i in range(40)]


def test_pii_evidence_and_state_without_values(client, viewer, clickhouse):
    catalog_refresh(target=clickhouse, schema_name="etl_target_test", table_name="customers",
                    columns=[{"name": "email", "data_type": "String", "is_nullable": False, "default_value": None},
                             {"name": "city", "data_type": "String", "is_nullable": False, "default_value": None}],
                    samples={"email": EMAILS, "city": ["Moscow", "Kazan"] * 20})
    client.force_login(viewer)
    page = client.get("/catalog/", {"state": "suggested"})
    html = page.content.decode()
    assert [(e["column_name"], e["sensitivity_state"]) for e in page.context["entries"]] == [("email", "suggested")]
    evidence = page.context["entries"][0]["sensitivity_evidence"]
    assert evidence["kind"] == "email" and evidence["matched"] == len(EMAILS)
    assert f"{len(EMAILS)} of {evidence['sample_size']} sampled values match" in html
    assert not any(value in html for value in EMAILS)
    assert "Moscow" not in client.get("/catalog/").content.decode()
