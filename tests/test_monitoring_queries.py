"""The specification's three monitoring queries, verbatim, against the right database, on seeded data."""

from datetime import date, datetime, timedelta, timezone

import pytest
from django.db import connections

from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory

LATEST_RUNS = """SELECT p.name as pipeline_name, pr.status, pr.started_at, pr.finished_at, pr.duration_seconds, pr.records_processed
FROM pipelines p JOIN pipeline_runs pr ON p.id = pr.pipeline_id
ORDER BY pr.created_at DESC LIMIT 10;"""

FAILED_QUALITY = """SELECT table_name, metric_name, metric_value, is_passed, created_at
FROM data_quality_metrics WHERE is_passed = false ORDER BY created_at DESC;"""

BUSINESS_SUMMARY = """SELECT metric_category, metric_name, AVG(metric_value) as avg_value, MAX(calculation_date) as last_calculated
FROM business_metrics GROUP BY metric_category, metric_name ORDER BY metric_category, avg_value DESC;"""

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)


@pytest.mark.django_db
def test_latest_pipeline_runs_in_the_metadata_database():
    source = DataSourceFactory()
    sales = PipelineFactory(name="Sales processing", data_source=source)
    stock = PipelineFactory(name="Stock sync", data_source=source)
    runs = []
    for i in range(12):
        runs.append(PipelineRunFactory(
            pipeline=sales if i % 3 else stock,
            status="success" if i % 4 else "failed",
            created_at=T0 + timedelta(hours=i),
            started_at=T0 + timedelta(hours=i),
            finished_at=T0 + timedelta(hours=i, seconds=30 + i),
            duration_seconds=30.0 + i,
            records_processed=1000 * i,
        ))
    with connections["default"].cursor() as cursor:
        cursor.execute(LATEST_RUNS)
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()

    assert columns == ["pipeline_name", "status", "started_at", "finished_at", "duration_seconds",
                       "records_processed"]
    expected = sorted(runs, key=lambda r: r.created_at, reverse=True)[:10]
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [
        (run.pipeline.name, run.status, run.duration_seconds, run.records_processed) for run in expected]
    assert len(rows) == 10 and rows[0][5] == 11000


def _quality_rows():
    return [
        # table, metric, value, passed, created
        ["sales", "null_rate", 0.30, False, T0 + timedelta(minutes=1)],
        ["sales", "row_count", 10000.0, True, T0 + timedelta(minutes=2)],
        ["orders", "duplicate_rate", 0.05, False, T0 + timedelta(minutes=3)],
        ["orders", "freshness_hours", 2.0, True, T0 + timedelta(minutes=4)],
        ["sales", "invalid_rate", 0.12, False, T0 + timedelta(minutes=5)],
    ]


def test_failed_quality_metrics_in_clickhouse(clickhouse):
    seeded = _quality_rows()
    clickhouse.insert("data_quality_metrics", [row + [1] for row in seeded],
                      ["table_name", "metric_name", "metric_value", "is_passed", "created_at", "pipeline_run_id"])
    result = clickhouse.query(FAILED_QUALITY)
    assert list(result.column_names) == ["table_name", "metric_name", "metric_value", "is_passed", "created_at"]
    failed = sorted((r for r in seeded if not r[3]), key=lambda r: r[4], reverse=True)
    assert [(r[0], r[1], r[2], r[3]) for r in result.result_rows] == [(r[0], r[1], r[2], False) for r in failed]
    assert [r[4].replace(tzinfo=timezone.utc) if r[4].tzinfo is None else r[4] for r in result.result_rows] == [
        r[4] for r in failed]


def test_business_metrics_summary_in_clickhouse(clickhouse):
    seeded = [
        ("sales", "revenue", 100.0, date(2024, 5, 1)),
        ("sales", "revenue", 300.0, date(2024, 5, 3)),
        ("sales", "orders", 10.0, date(2024, 5, 2)),
        ("sales", "orders", 20.0, date(2024, 5, 4)),
        ("sales", "average_check", 20.0, date(2024, 5, 4)),
        ("inventory", "stock_units", 500.0, date(2024, 5, 2)),
    ]
    clickhouse.insert("business_metrics", [list(r) + [1] for r in seeded],
                      ["metric_category", "metric_name", "metric_value", "calculation_date", "pipeline_run_id"])
    result = clickhouse.query(BUSINESS_SUMMARY)
    assert list(result.column_names) == ["metric_category", "metric_name", "avg_value", "last_calculated"]

    groups: dict[tuple, list] = {}
    for category, name, value, day in seeded:
        groups.setdefault((category, name), []).append((value, day))
    expected = sorted(
        ((c, n, sum(v for v, _ in items) / len(items), max(d for _, d in items)) for (c, n), items in groups.items()),
        key=lambda r: (r[0], -r[2]),
    )
    assert [tuple(r) for r in result.result_rows] == expected
    assert expected[1] == ("sales", "revenue", 200.0, date(2024, 5, 3))
