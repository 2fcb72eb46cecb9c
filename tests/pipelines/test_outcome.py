"""No false success: a run that loaded nothing, or quarantined more than it may, fails with the figures and
alerts; an unusual share succeeds with a warning and alerts; a failed analysis step is a warning, not silence.
"""

import pytest
from django.urls import reverse

from pipelines.alerts import alerts_evaluate
from pipelines.engine.runner import run_execute
from pipelines.models import Alert, AlertCondition, RunStatus
from pipelines.services import run_claim, run_create
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(pipeline):
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    alerts_evaluate(run=run)
    return run


def _pipeline(tmp_path, text: str, name: str = "events", **config):
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    return PipelineFactory(name=name, data_source=source, configuration={"target": {"table": name}, **config}), path


def test_a_run_that_quarantines_every_row_fails_and_alerts(clickhouse, tmp_path):
    """Dates typed as date, the file's in %Y/%m/%d with a declared format that does not read them."""
    rows = "".join(f"2012/01/{day:02d},{day}\n" for day in range(1, 21))
    pipeline, _ = _pipeline(tmp_path, "day,value\n" + rows, validation_rules={
        "data_types": {"day": "date"}, "date_formats": ["%d.%m.%Y"]})
    run = _run(pipeline)
    assert run.status == RunStatus.FAILED
    assert run.error_message.startswith("20 rows were read and none was loaded (20 quarantined, 0 removed")
    assert run.execution_context["transient"] is False
    assert Alert.objects.filter(pipeline=pipeline, condition=AlertCondition.RUN_FAILED, status="open").exists()
    assert clickhouse.rows("SELECT count() AS n FROM events") == [{"n": 0}]


def test_more_than_half_quarantined_fails_by_default_and_the_pipeline_may_allow_more(clickhouse, tmp_path):
    text = "id,amount\n" + "".join(f"{i},{'x' if i % 10 < 6 else i}\n" for i in range(100))
    pipeline, _ = _pipeline(tmp_path, text, validation_rules={"data_types": {"amount": "float"}})
    run = _run(pipeline)
    assert run.status == RunStatus.FAILED
    assert run.error_message.startswith("60.0% of the rows failed validation, more than the allowed 50.0%")
    pipeline.configuration["validation_rules"]["max_failed_ratio"] = 0.7
    pipeline.save()
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS and (run.records_processed, run.records_failed) == (100, 60)


def test_an_unusual_share_succeeds_with_a_warning_and_an_alert(clickhouse, tmp_path, admin_client):
    clean = "id,amount\n" + "".join(f"{i},{i}\n" for i in range(50))
    pipeline, path = _pipeline(tmp_path, clean, validation_rules={"data_types": {"amount": "float"}})
    for day in range(3):  # three clean days, each a file of its own
        path.write_text(clean + f"{day + 100},1\n")
        assert _run(pipeline).status == RunStatus.SUCCESS
    path.write_text("id,amount\n" + "".join(f"{i},{'x' if i % 5 == 0 else i}\n" for i in range(50)))
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS and run.records_failed == 10, run.error_message
    assert run.execution_context["warnings"] == [{"code": "quarantine_above_usual", "params": {
        "share": 0.2, "usual": 0.0, "quarantined": 10, "read": 50}}]
    assert Alert.objects.filter(pipeline=pipeline, condition=AlertCondition.QUALITY, status="open").exists()
    page = admin_client.get(reverse("webui:run-detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Succeeded with warnings" in page.content.decode()
    assert "20.0% of the rows were quarantined (10 of 50), far more than this pipeline" in page.content.decode()


def test_a_failed_analysis_step_is_a_warning_with_its_cause(clickhouse, tmp_path, admin_client):
    pipeline, _ = _pipeline(tmp_path, "id,amount\n1,2\n3,4\n", business_metrics=[
        {"category": "sales", "name": "revenue", "aggregation": "sum", "column": "no_such_column"}])
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS
    [warning] = run.execution_context["warnings"]
    assert warning["code"] == "analysis_failed" and warning["params"]["step"] == "business_metrics"
    assert "no_such_column" in warning["params"]["error"]
    for language, words in (("en", "The business metrics analysis failed"),
                            ("ru", "Анализ «бизнес-метрики» не выполнен")):
        page = admin_client.get(reverse("webui:run-detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE=language)
        assert words in page.content.decode()
