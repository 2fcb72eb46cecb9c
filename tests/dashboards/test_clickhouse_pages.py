"""Quality, business, lineage, catalog and health pages over a real run of the demo pipeline; every number is
checked against an independent computation over the same tables."""

import json
from collections import defaultdict

import pytest

from tests.test_monitoring_queries import BUSINESS_SUMMARY, FAILED_QUALITY

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _chart(page, name):
    return page.context[name]


def test_quality_dashboard(client, viewer, clickhouse, demo_run):
    # one failed check of our own, so the failed-checks table has a row to compare
    clickhouse.insert("data_quality_metrics", [["sales_processing", "amount", "null_rate", 0.5, 0.0, 0.1, False,
                                                demo_run.pk]],
                      ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
                       "is_passed", "pipeline_run_id"])
    client.force_login(viewer)
    page = client.get("/dashboards/quality/")
    assert page.status_code == 200
    rows = clickhouse.query("SELECT toDate(created_at), is_passed, metric_name, table_name, column_name, "
                            "metric_value, created_at FROM data_quality_metrics").result_rows
    assert page.context["totals"]["checked"] == len(rows) > 10
    assert page.context["totals"]["passed"] == sum(1 for r in rows if r[1])
    per_day = defaultdict(list)
    for r in rows:
        per_day[r[0].isoformat()].append(r[1])
    chart = _chart(page, "pass_rate_chart")
    assert chart["labels"] == sorted(per_day)
    assert chart["datasets"][0]["data"] == [pytest.approx(sum(v) / len(v)) for _, v in sorted(per_day.items())]

    latest = {}
    for r in sorted((r for r in rows if r[2] == "null_rate"), key=lambda r: r[6]):
        latest[(r[3], r[4])] = r[5]
    assert {(n["table_name"], n["column_name"]): n["null_rate"] for n in page.context["nulls"]} == latest

    spec_failed = clickhouse.query(FAILED_QUALITY).result_rows
    assert [(f["table_name"], f["metric_name"], f["metric_value"]) for f in page.context["failed"]] == [
        (r[0], r[1], r[2]) for r in spec_failed]

    other = client.get("/dashboards/quality/", {"table": "no_such_table"})
    assert other.context["totals"]["checked"] == 0
    assert "No quality metrics in this period" in other.content.decode()
    assert client.get("/dashboards/quality/", {"table": "bad-name;"}).status_code == 400


def test_business_dashboard(client, viewer, clickhouse, demo_run):
    client.force_login(viewer)
    page = client.get("/dashboards/business/")
    assert page.status_code == 200
    spec = clickhouse.query(BUSINESS_SUMMARY).result_rows
    assert [(r["metric_category"], r["metric_name"], pytest.approx(r["avg_value"]), r["last_calculated"])
            for r in page.context["summary"]] == [tuple(r) for r in spec]

    revenue = client.get("/dashboards/business/", {"category": "sales", "metric": "revenue", "period": "all"})
    per_day = dict(clickhouse.query("SELECT date, sum(amount) FROM sales_processing WHERE date IS NOT NULL "
                                    "GROUP BY date").result_rows)
    chart = revenue.context["series_chart"]
    assert chart["labels"] == [d.isoformat() for d in sorted(per_day)]
    assert chart["datasets"][0]["data"] == [pytest.approx(per_day[d]) for d in sorted(per_day)]
    assert '<option value="all" selected>' in revenue.content.decode()

    check = client.get("/dashboards/business/", {"category": "sales", "metric": "average_check"})
    by_product = dict(clickhouse.query("SELECT product_name, avg(amount) FROM sales_processing "
                                       "GROUP BY product_name").result_rows)
    parts = check.context["breakdown_chart"]
    assert {label.removeprefix("product_name: "): value for label, value in
            zip(parts["labels"], parts["datasets"][0]["data"], strict=True)} == pytest.approx(by_product)

    unknown = client.get("/dashboards/business/", {"category": "sales", "metric": "nope"})
    assert unknown.status_code == 400 and "There is no metric nope in sales" in unknown.content.decode()


def test_lineage_page_and_catalog_entry_of_a_node(client, viewer, clickhouse, demo_run):
    client.force_login(viewer)
    page = client.get("/lineage/", {"run": demo_run.pk})
    assert page.status_code == 200
    edges = clickhouse.query("SELECT source_table, source_column, target_table, target_column, "
                             "transformation_type FROM data_lineage WHERE pipeline_run_id = {r:UInt64}",
                             {"r": demo_run.pk}).result_rows
    graph = page.context["graph"]
    drawn = [e["data"] for e in graph["elements"] if "source" in e["data"]]
    assert sorted((d["source"], d["target"], d["label"]) for d in drawn) == sorted(
        (f"c:{s}.{sc}", f"c:{t}.{tc}", kind) for s, sc, t, tc, kind in edges)
    tables = {r[0] for r in edges} | {r[2] for r in edges}
    assert {n["data"]["id"] for n in graph["elements"] if n.get("classes", "").startswith("table")} == {
        f"t:{t}" for t in tables}
    assert graph["tables"]["target"] == ["sales_processing"] and graph["tables"]["source"]

    default = client.get("/lineage/")  # no filter: the newest run with lineage
    assert default.context["run_id"] == demo_run.pk
    by_pipeline = client.get("/lineage/", {"pipeline": demo_run.pipeline_id})
    assert by_pipeline.context["run_id"] == demo_run.pk
    none = client.get("/lineage/", {"run": demo_run.pk + 100})
    assert none.status_code == 200 and "recorded no lineage" in none.content.decode()
    assert client.get("/lineage/", {"run": "x"}).status_code == 400

    entry = client.get("/catalog/entry.json", {"table": "sales_processing", "column": "amount"}).json()["entry"]
    assert (entry["table_name"], entry["column_name"]) == ("sales_processing", "amount")
    missing = client.get("/catalog/entry.json", {"table": "no_such"})
    assert missing.status_code == 200 and missing.json()["entry"] is None
    assert "no_such has no catalog entry" in missing.json()["error"]


def test_catalog_search_and_edit(client, viewer, editor, clickhouse, demo_run):
    client.force_login(viewer)
    page = client.get("/catalog/")
    everything = clickhouse.query("SELECT table_name, column_name FROM data_catalog FINAL").result_rows
    assert len(page.context["entries"]) == len(everything) > 5
    assert 'class="catalog-edit"' not in page.content.decode()  # a viewer gets no edit forms

    named = client.get("/catalog/", {"name": "AMOUNT"})
    assert {(e["table_name"], e["column_name"]) for e in named.context["entries"]} == {
        r for r in everything if "amount" in r[0].lower() or "amount" in r[1].lower()}
    assert 'value="AMOUNT"' in named.content.decode()

    client.force_login(editor)
    schema = clickhouse.query("SELECT schema_name FROM data_catalog FINAL WHERE table_name = 'sales_processing' "
                              "LIMIT 1").result_rows[0][0]
    response = client.post("/catalog/edit/", {
        "prefix": "e0", "e0-schema_name": schema, "e0-table_name": "sales_processing", "e0-column_name": "amount",
        "e0-description": "Sale amount", "e0-business_meaning": "Revenue of one order line", "e0-owner": "Finance",
        "e0-tags": "money, sales , money", "e0-sensitivity_level": "internal", "e0-decision": "",
        "next_query": "name=amount"})
    assert response.status_code == 302 and response["Location"] == "/catalog/?name=amount"
    stored = clickhouse.query("SELECT description, business_meaning, owner, tags, sensitivity_level FROM "
                              "data_catalog FINAL WHERE table_name = 'sales_processing' AND column_name = 'amount'"
                              ).result_rows
    assert stored == [("Sale amount", "Revenue of one order line", "Finance", ["money", "sales"], "internal")]
    assert clickhouse.command("SELECT count() FROM etl_audit_log WHERE table_name = 'data_catalog'") == 1

    for query, expected in (({"tag": "money"}, 1), ({"owner": "fin"}, 1), ({"sensitivity": "internal"}, 1),
                            ({"tag": "mon"}, 0)):
        assert len(client.get("/catalog/", query).context["entries"]) == expected, query
    assert client.get("/catalog/", {"sensitivity": "top-secret"}).status_code == 400

    bad = client.post("/catalog/edit/", {"prefix": "e0", "e0-schema_name": schema, "e0-table_name": "sales_processing",
                                         "e0-column_name": "nope", "e0-sensitivity_level": "public"}, follow=True)
    assert "No catalog entry for nope" in bad.content.decode()


def test_health_page_shows_sizes_and_query_timings(client, viewer, clickhouse, demo_run):
    client.force_login(viewer)
    client.get("/dashboards/quality/")
    page = client.get("/dashboards/health/")
    assert page.status_code == 200
    tables = {t["table"]: t for t in page.context["clickhouse_tables"]}
    assert tables["sales_processing"]["rows"] == clickhouse.command("SELECT count() FROM sales_processing")
    sizes = {d["name"].split(" ")[0]: d["bytes"] for d in page.context["databases"]}
    # background merges and the audit log change the bytes between two reads: same order of magnitude
    assert sizes["Target"] >= tables["sales_processing"]["bytes"] > 0
    assert sizes["Target"] == pytest.approx(clickhouse.command(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = {db:String}",
        {"db": clickhouse.database}), rel=0.25)
    assert {t["name"] for t in page.context["timings"]} >= {"quality.pass_rate_by_day", "quality.failed_checks"}
    assert "query log" in page.content.decode()
    assert json.loads(json.dumps(page.context["disk_chart"]))["datasets"][0]["data"]
