"""The dashboards run the specification's monitoring queries: the same text, narrowed only by filters."""

from analytics.queries.spec import (
    BUSINESS_SUMMARY,
    FAILED_QUALITY,
    LATEST_RUNS,
    LATEST_RUNS_ID_COLUMN,
    narrowed,
    with_columns,
)
from tests import test_monitoring_queries as spec


def test_the_texts_are_the_specifications():
    assert LATEST_RUNS == spec.LATEST_RUNS.rstrip(";")
    assert FAILED_QUALITY == spec.FAILED_QUALITY.rstrip(";")
    assert BUSINESS_SUMMARY == spec.BUSINESS_SUMMARY.rstrip(";")


def test_without_filters_only_a_limit_is_added():
    assert narrowed(FAILED_QUALITY, []) == FAILED_QUALITY + "\nLIMIT {limit:UInt32}"
    assert narrowed(LATEST_RUNS, [], limit_param=None) == LATEST_RUNS


def test_filters_join_the_where_or_open_one_before_group_and_order():
    assert narrowed(FAILED_QUALITY, ["a = {a:UInt8}"]) == (
        "SELECT table_name, metric_name, metric_value, is_passed, created_at\n"
        "FROM data_quality_metrics WHERE is_passed = false AND a = {a:UInt8} ORDER BY created_at DESC\n"
        "LIMIT {limit:UInt32}")
    assert narrowed(BUSINESS_SUMMARY, ["b = 1", "c = 2"]).startswith(
        BUSINESS_SUMMARY.split(" GROUP BY")[0] + "\nWHERE b = 1 AND c = 2 GROUP BY metric_category, metric_name")
    assert narrowed(LATEST_RUNS, ["pr.pipeline_id = %s"], limit_param=None) == LATEST_RUNS.replace(
        "pr.pipeline_id\nORDER BY", "pr.pipeline_id\nWHERE pr.pipeline_id = %s\nORDER BY")


def test_the_latest_runs_id_is_one_more_column_after_the_specifications():
    sql = with_columns(LATEST_RUNS, [LATEST_RUNS_ID_COLUMN])
    assert sql == LATEST_RUNS.replace("pr.records_processed\nFROM", "pr.records_processed, pr.id AS run_id\nFROM")
    assert narrowed(sql, ["pr.pipeline_id = %s"], limit_param=None).endswith(
        "pr.pipeline_id\nWHERE pr.pipeline_id = %s\nORDER BY pr.created_at DESC LIMIT 10")
