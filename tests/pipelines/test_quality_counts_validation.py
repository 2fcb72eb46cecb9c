"""The quality analysis counts the validation results it was given: a rule that rows failed is a failed check
(data_quality_metrics.validation_<rule>, is_passed false), so a run whose rows fail validation no longer reads
"pass rate 1.0 with 0 checks"; a clean run passes its rules, counted."""

import pyarrow as pa
import pytest

from analytics.loading import TargetLoad
from analytics.quality import quality_measure
from analytics.recommendations import recommendation_texts
from pipelines.engine.runner import run_execute
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

SCHEMA = pa.schema([("_row_number", pa.int64()), ("id", pa.int64())])


def test_every_row_quarantined_is_a_pass_rate_of_zero_with_the_rule_counted(clickhouse):
    load = TargetLoad(clickhouse, table="penguins", pipeline_run_id=1)  # an earlier run made the table
    load.begin(SCHEMA)
    load.append(pa.table({"_row_number": [1], "id": [1]}, schema=SCHEMA))
    load.commit()
    # Run 2 read 344 rows; every date failed to parse, nothing was loaded.
    report = quality_measure(target=clickhouse, table="penguins", run_id=2, rows_read=344,
                             invalid_by_column={"date": 344}, config={}, history_run_ids=[],
                             validation=[{"rule": "data_types", "column": "date", "rows_checked": 344,
                                          "rows_failed": 344, "severity": "error"}])
    quality = report.analysis_results()[0]
    assert (quality["metrics"]["checks_run"], quality["metrics"]["checks_passed"]) == (1, 0)
    assert quality["metrics"]["pass_rate"] == 0
    assert (quality["metrics"]["rows_checked"], quality["metrics"]["rule_failures"]) == (344, 344)
    assert quality["is_alert"] and quality["alert_level"] == "high"
    assert recommendation_texts(quality["recommendations"]) == [
        "Rule data_types on date of penguins passed for 0% of the rows checked (allowed at least 100%): review "
        "this run's quarantined rows, then fix the source data or the rule."]
    stored = clickhouse.rows(
        "SELECT metric_value, threshold_min, is_passed FROM data_quality_metrics WHERE pipeline_run_id = 2 "
        "AND metric_name = 'validation_data_types' AND column_name = 'date'")
    assert stored == [{"metric_value": 0.0, "threshold_min": 1.0, "is_passed": False}]


def _run(tmp_path, name: str, text: str, **rules):
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    pipeline = PipelineFactory(name=name, data_source=source, max_retries=0, configuration={
        "target": {"table": name},
        "validation_rules": {"data_types": {"day": "date"}, "date_formats": ["%Y-%m-%d"], **rules}})
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    return run, run.analysis_results.get(analysis_type="data_quality", result_data__table=name)


def test_a_run_with_failing_rows_has_the_matching_pass_rate(clickhouse, tmp_path):
    text = ("id,day,amount\n1,2012-01-01,1.5\n2,2012/01/02,2.5\n3,2012/01/03,3.5\n4,2012/01/04,4.5\n"
            "5,2012-01-05,5.5\n")
    run, quality = _run(tmp_path, "dates_some_bad", text, max_failed_ratio=0.8)
    # Rules checked: day's declared date type, and the types inferred for id and amount; day failed 3 of 5.
    assert {(v["rule"], v["column"], v["rows_checked"], v["rows_failed"])
            for v in quality.result_data["validation"]} == {
        ("data_types", "day", 5, 3), ("data_types", "id", 5, 0), ("data_types", "amount", 5, 0)}
    assert (quality.metrics["checks_run"], quality.metrics["checks_passed"]) == (3, 2)
    assert quality.metrics["pass_rate"] == pytest.approx(0.6667)
    # 60 % failed: more than the 50 % default allows, but within this pipeline's 80 %: a warning, no alert.
    assert [(f["metric"], f["column"], f["severity"]) for f in quality.result_data["failed_checks"]] == [
        ("validation_data_types", "day", "warn")]
    assert not quality.is_alert
    stored = clickhouse.rows(
        "SELECT column_name, metric_value, is_passed FROM data_quality_metrics WHERE pipeline_run_id = {r:UInt64} "
        "AND metric_name = 'validation_data_types' ORDER BY column_name", {"r": run.pk})
    assert stored == [{"column_name": "amount", "metric_value": 1.0, "is_passed": True},
                      {"column_name": "day", "metric_value": 0.4, "is_passed": False},
                      {"column_name": "id", "metric_value": 1.0, "is_passed": True}]


def test_a_clean_run_passes_its_rules_counted(clickhouse, tmp_path):
    text = "id,day,amount\n1,2012-01-01,1.5\n2,2012-01-02,2.5\n"
    _run_, quality = _run(tmp_path, "dates_clean", text, not_null=["amount"])
    assert quality.metrics["checks_run"] == 4  # day, id and amount typed; amount not null
    assert quality.metrics["pass_rate"] == 1.0 and quality.result_data["failed_checks"] == []
    assert (quality.metrics["rows_checked"], quality.metrics["rule_failures"]) == (2, 0)


def test_a_run_that_quarantines_every_row_fails_and_its_quality_result_says_which_rule(clickhouse, tmp_path):
    path = tmp_path / "penguin_days.csv"
    path.write_text("day,note\n2012/01/01,a\n2012/01/02,b\n2012/01/03,c\n")  # not the declared format
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    pipeline = PipelineFactory(name="penguin_days", data_source=source, max_retries=0, configuration={
        "validation_rules": {"data_types": {"day": "date"}, "date_formats": ["%Y-%m-%d"]}})
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.FAILED and "none was loaded" in run.error_message
    quality = run.analysis_results.get(analysis_type="data_quality")
    assert (quality.metrics["checks_run"], quality.metrics["pass_rate"]) == (1, 0)
    assert quality.result_data["validation"] == [
        {"rule": "data_types", "column": "day", "rows_checked": 3, "rows_failed": 3}]
    assert not quality.is_alert  # the failed run is the alert
    assert clickhouse.rows("SELECT metric_name, column_name, metric_value, is_passed FROM data_quality_metrics "
                           "WHERE pipeline_run_id = {r:UInt64}", {"r": run.pk}) == [
        {"metric_name": "validation_data_types", "column_name": "day", "metric_value": 0.0, "is_passed": False}]
