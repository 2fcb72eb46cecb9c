"""Numbers and charts of the dashboards as issue 16 asked: percentages, durations, metric labels, charts that
say when they show part of their values and offer the rest, lineage with the file's own headers."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from dashboards.business import metric_label
from dashboards.charts import chart
from dashboards.lineage import lineage_graph
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


@pytest.mark.parametrize(("language", "note"), [
    ("en", "Showing 400 of 1,461 points."),
    ("ru", "Показано 400 из 1\xa0461 точки."),  # "из 1461 точки": 61 takes the singular
])
def test_a_cut_chart_carries_its_total_and_says_so(language, note):
    with translation.override(language):
        spec = chart("line", [f"d{i}" for i in range(400)], [("x", list(range(400)))], total=1461)
    assert (spec["shown"], spec["total"], spec["note"]) == (400, 1461, note)
    whole = chart("line", ["a", "b"], [("x", [1, 2])])
    assert (whole["shown"], whole["total"], whole["note"]) == (2, 2, "")


@pytest.mark.parametrize(("language", "labelled", "unlabelled"), [
    ("en", "Average check", "Gross margin"), ("ru", "Средний чек", "Gross margin")])
def test_metric_names_come_from_their_labels(language, labelled, unlabelled):
    with translation.override(language):
        assert metric_label({"name": "average_check", "label": "Average check"}, "average_check") == labelled
        assert metric_label(None, "gross_margin") == unlabelled


def test_lineage_labels_carry_the_files_own_headers():
    edges = [{"source_table": "Penguins file", "source_column": "body_mass_g", "target_table": "stg_run_1",
              "target_column": "body_mass_g", "transformation_type": "extract", "transformation_logic": "copy",
              "record_count": 3},
             {"source_table": "stg_run_1", "source_column": "body_mass_g", "target_table": "penguins",
              "target_column": "body_mass_g", "transformation_type": "load", "transformation_logic": "copy",
              "record_count": 3}]
    graph = lineage_graph(edges, headers={"body_mass_g": "Body Mass (g)"})
    labels = {n["data"]["id"]: n["data"]["label"] for n in graph["elements"] if n.get("classes") == "column"}
    assert labels == {f"c:{t}.body_mass_g": "body_mass_g\nBody Mass (g)"
                      for t in ("Penguins file", "stg_run_1", "penguins")}
    plain = lineage_graph(edges)
    assert {n["data"]["label"] for n in plain["elements"] if n.get("classes") == "column"} == {"body_mass_g"}


def _daily_metric(clickhouse, run, days=1461):
    first = date(2012, 1, 1)
    clickhouse.insert("business_metrics", [["sales", "revenue", float(i % 50), "RUB", "{}", first + timedelta(days=i),
                                            run.pk] for i in range(days)],
                      ["metric_category", "metric_name", "metric_value", "metric_unit", "dimension_values",
                       "calculation_date", "pipeline_run_id"])
    return first


def test_a_long_daily_series_is_whole_by_week_or_paged_by_day(client, viewer, clickhouse):
    pipeline = PipelineFactory(configuration={"business_metrics": [
        {"name": "revenue", "label": "Revenue", "category": "sales", "aggregation": "sum", "column": "amount",
         "date_column": "date"}]})
    run = PipelineRunFactory(pipeline=pipeline)
    first = _daily_metric(clickhouse, run)
    client.force_login(viewer)

    auto = client.get("/dashboards/business/", {"period": "all", "category": "sales", "metric": "revenue"})
    spec = auto.context["series_chart"]
    weeks = len({(first + timedelta(days=i)).isocalendar()[:2] for i in range(1461)})
    assert auto.context["granularity"] == "week" and spec["shown"] == spec["total"] == weeks
    assert spec["labels"][0] == "2011-12-26" and spec["labels"][-1] >= "2015-12-28"  # the whole range
    assert spec["datasets"][0]["data"][0] == 0.0  # the one day of 2012 in that week
    text = auto.content.decode()
    assert "One point per week" in text and ">Revenue</a>" in text and "Revenue over time" in text

    daily = client.get("/dashboards/business/", {"period": "all", "category": "sales", "metric": "revenue",
                                                 "granularity": "day"})
    spec = daily.context["series_chart"]
    assert (spec["shown"], spec["total"]) == (400, 1461) and spec["labels"][-1] == str(first + timedelta(days=399))
    text = daily.content.decode()
    assert 'class="chart-note" data-shown="400" data-total="1461">Showing 400 of 1,461 points.' in text
    later = re.search(r'href="(\?[^"]*offset=400[^"]*)" rel="next"', text).group(1).replace("&amp;", "&")
    second = client.get("/dashboards/business/" + later)
    assert second.context["series_chart"]["labels"][0] == str(first + timedelta(days=400))
    assert "Showing points 401–800 of 1,461 points." in second.content.decode()


def test_the_null_rate_chart_names_its_cut_and_the_table_has_every_column(client, viewer, clickhouse):
    clickhouse.insert("data_quality_metrics", [["wide", f"col_{i:02d}", "null_rate", 0.84 if i == 0 else i / 100,
                                                None, None, True, 1] for i in range(45)],
                      ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
                       "is_passed", "pipeline_run_id"])
    client.force_login(viewer)
    page = client.get("/dashboards/quality/")
    spec = page.context["null_chart"]
    assert (spec["shown"], spec["total"], spec["horizontal"]) == (40, 45, True)
    assert spec["labels"][0] == "wide.col_00" and spec["datasets"][0]["data"][0] == 0.84
    text = page.content.decode()
    assert "Showing 40 of 45 points." in text and "below lists every column" in text
    assert text.count("<td>col_") == 45 and "<td class=\"num\">84\xa0%</td>" in text


@pytest.mark.parametrize(("language", "rate"), [("en", "80\xa0%"), ("ru", "80\xa0%")])
def test_the_runs_dashboard_shows_rates_as_percentages_and_statuses_in_words(client, viewer, language, rate):
    now = timezone.now()
    pipeline = PipelineFactory()
    for i in range(5):
        started = now - timedelta(hours=i)
        PipelineRunFactory(pipeline=pipeline, status="failed" if i == 0 else "success", created_at=started,
                           started_at=started, finished_at=started + timedelta(seconds=190), duration_seconds=190.0)
    client.force_login(viewer)
    text = client.get("/dashboards/runs/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<span class="kpi-value" data-kpi="success-rate">{rate}</span>' in text
    minutes = "3 min 10 s" if language == "en" else "3 мин 10 с"
    assert f'<td class="num" data-p="50">{minutes}</td>' in text
    status = "Success" if language == "en" else "Успешно"
    assert f'<td class="status-success">{status}</td>' in text


@pytest.mark.parametrize(("language", "rate"), [("en", "100\xa0%"), ("ru", "100\xa0%")])
def test_the_quality_pass_rate_is_a_percentage(client, viewer, clickhouse, language, rate):
    clickhouse.insert("data_quality_metrics", [["t", "c", "null_rate", 0.0, None, 0.1, True, 1]],
                      ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
                       "is_passed", "pipeline_run_id"])
    client.force_login(viewer)
    text = client.get("/dashboards/quality/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<span class="kpi-value" data-kpi="pass-rate">{rate}</span>' in text


def test_the_lineage_page_shows_the_files_headers(client, viewer, clickhouse, tmp_path):
    from pipelines.engine.runner import run_execute
    from pipelines.services import run_claim, run_create

    path = tmp_path / "penguins.csv"
    path.write_text("Species,Body Mass (g)\nAdelie,3750\nGentoo,5000\n", encoding="utf-8")
    source = DataSourceFactory(name="Penguins file", source_type="file", connection_config={"file_path": str(path)})
    run = run_create(pipeline=PipelineFactory(name="Penguins", data_source=source, configuration={}),
                     triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    client.force_login(viewer)
    page = client.get("/lineage/", {"run": run.pk})
    assert "penguins.body_mass_g <span class=\"muted\">(Body Mass (g))</span>" in page.content.decode()
    graph = page.context["graph"]
    labels = {n["data"]["label"] for n in graph["elements"] if n.get("classes") == "column"}
    assert "body_mass_g\nBody Mass (g)" in labels and "species" in labels
