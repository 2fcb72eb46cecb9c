"""The dashboards, the lineage graph and the catalog in Chromium, over a real run of the demo pipeline:
charts drawn with data, the graph drawn and a node's catalog entry on click, a catalog search and edit, the
pages in Russian; screenshots of each; no console errors (the harness fails the test on any)."""

import pytest

from pipelines.demo import demo_load
from pipelines.engine.runner import run_execute
from pipelines.services import run_claim, run_create
from tests.browser.conftest import switch_language

DASHBOARDS = {
    "quality": ("/dashboards/quality/", ["pass-rate-chart", "null-rate-chart"]),
    "business": ("/dashboards/business/?category=sales&metric=average_check", ["series-chart", "breakdown-chart"]),
    "runs": ("/dashboards/runs/", ["records-chart", "success-chart"]),
    "health": ("/dashboards/health/", ["disk-chart"]),
}

# Chart.js drew the chart with data points, and the canvas has painted (non-transparent) pixels.
CHART_DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  if (!chart) return {points: 0, painted: 0};
  const points = chart.data.datasets.reduce((n, d) => n + d.data.filter(v => v !== null).length, 0);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return {points, painted};
}"""


@pytest.fixture
def demo(browser_clickhouse, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=300)
    run = run_create(pipeline=pipeline, triggered_by="browser test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    return run


def _assert_charts_drawn(page, chart_ids):
    for chart_id in chart_ids:
        page.wait_for_selector(f"canvas#{chart_id}[data-drawn]")
        drawn = page.evaluate(CHART_DRAWN, chart_id)
        assert drawn["points"] > 0 and drawn["painted"] > 500, (chart_id, drawn)


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_each_dashboard_draws_its_charts_with_data(browser_page, demo, screenshot, name):
    url, chart_ids = DASHBOARDS[name]
    browser_page.goto(url)
    _assert_charts_drawn(browser_page, chart_ids)
    screenshot(browser_page, f"dashboard-{name}")


def test_the_lineage_graph_is_drawn_and_a_click_shows_the_catalog_entry(browser_page, demo, screenshot):
    page = browser_page
    page.goto("/lineage/")
    graph = page.locator("#lineage-graph[data-nodes]")
    graph.wait_for()
    assert int(graph.get_attribute("data-nodes")) > 5 and int(graph.get_attribute("data-edges")) > 5
    assert page.locator("#lineage-graph canvas").count() > 0
    # click where cytoscape drew the target column "amount"
    position = page.evaluate("""() => {
      const node = window.lineageGraph.getElementById("c:sales_processing.amount");
      return node.renderedPosition();
    }""")
    box = graph.bounding_box()
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    entry = page.locator("#lineage-entry dl.catalog-entry")
    entry.first.wait_for()
    assert "sales_processing.amount" in page.locator("#lineage-entry h2").inner_text()
    assert "Nullable(Float64)" in entry.first.inner_text()
    screenshot(page, "lineage")


def test_catalog_search_and_edit(browser_page, demo, screenshot):
    page = browser_page
    page.goto("/catalog/")
    page.fill("#id_name", "amount")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "name=amount" in page.url
    row = page.locator("#catalog-entries tbody tr", has_text="sales_processing").filter(has_text="amount").first
    row.locator("summary").click()
    row.locator("textarea[name$=description]").fill("Sale amount in roubles")
    row.locator("input[name$=owner]").fill("Finance")
    row.locator("input[name$=tags]").fill("money, sales")
    with page.expect_navigation():
        row.locator("form.catalog-edit button[type=submit]").click()
    assert "name=amount" in page.url
    assert "Saved the catalog entry of sales_processing.amount" in page.locator(".messages").inner_text()
    row = page.locator("#catalog-entries tbody tr", has_text="Sale amount in roubles")
    assert row.count() == 1 and "Finance" in row.inner_text() and "money" in row.inner_text()
    screenshot(page, "catalog")


def test_the_dashboards_in_russian(browser_page, demo, screenshot):
    page = browser_page
    page.goto("/dashboards/quality/")
    switch_language(page, "ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    _assert_charts_drawn(page, DASHBOARDS["quality"][1])
    screenshot(page, "dashboard-quality-ru")
    page.goto("/lineage/")
    page.locator("#lineage-graph[data-nodes]").wait_for()
    screenshot(page, "lineage-ru")
