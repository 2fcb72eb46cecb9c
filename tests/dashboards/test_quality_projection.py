"""The quality dashboard's per-day queries are answered from the quality_by_day projection (ClickHouse
migration 0003), not by scanning every metric of the period; and they give the same numbers as the table."""

from datetime import timedelta

from django.utils import timezone

from analytics.clickhouse import get_target
from dashboards import quality
from dashboards.filters import Filters


def test_pass_rate_and_null_rates_read_the_projection(clickhouse, monkeypatch):
    now = timezone.now()
    clickhouse.insert("data_quality_metrics", [
        ["sales", "amount", "null_rate", 0.2, i % 3 != 0, 1, now - timedelta(days=i % 5)] for i in range(30)],
        ["table_name", "column_name", "metric_name", "metric_value", "is_passed", "pipeline_run_id", "created_at"])
    seen = []

    class Spy:
        def query(self, sql, parameters=None):
            seen.append((sql, parameters))
            return get_target().query(sql, parameters)

    monkeypatch.setattr("analytics.queries.timing.get_target", Spy)
    filters = Filters(pipeline=None, table="", days=30, until=now)
    days = quality.pass_rate_by_day(filters)
    nulls, columns = quality.null_rates(filters)
    assert (len(nulls), columns) == (1, 1)
    assert sum(d["checked"] for d in days) == 30 and sum(d["passed"] for d in days) == 20
    for sql, parameters in seen:
        plan = "\n".join(r[0] for r in clickhouse.query("EXPLAIN projections = 1 " + sql, parameters).result_rows)
        assert "ReadFromMergeTree (quality_by_day)" in plan, plan


def test_null_rates_count_every_column_beyond_the_ones_shown(clickhouse, monkeypatch):
    now = timezone.now()
    clickhouse.insert("data_quality_metrics", [
        ["sales", f"c{i}", "null_rate", i / 10, True, 1, now] for i in range(5)],
        ["table_name", "column_name", "metric_name", "metric_value", "is_passed", "pipeline_run_id", "created_at"])
    monkeypatch.setattr(quality, "MAX_COLUMNS", 3)
    nulls, columns = quality.null_rates(Filters(pipeline=None, table="", days=30, until=now))
    assert [n["column_name"] for n in nulls] == ["c4", "c3", "c2"] and columns == 5
