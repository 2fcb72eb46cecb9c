"""The run page as issue 16 asked for it: numbers people read, the run's whole time, each step's own status and
error, the reconciliation explained, logs that open in the browser, a quality summary instead of a dict."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from etlsite.formatting import format_duration, format_percent, humanize_identifier
from pipelines.models import AnalysisType
from tests.factories import AnalysisResultFactory, PipelineRunFactory, ProcessingLogFactory
from webui.progress import run_progress_payload

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.mark.parametrize(("language", "share", "text"), [
    ("en", 1.0, "100\xa0%"), ("en", 0.8, "80\xa0%"), ("en", 0.995, "99.5\xa0%"), ("en", 0.9996, "99.96\xa0%"),
    ("ru", 0.995, "99,5\xa0%"), ("ru", 0.0, "0\xa0%"), ("en", None, "\u2014"),
])
def test_shares_are_percentages(language, share, text):
    with translation.override(language):
        assert format_percent(share) == text


@pytest.mark.parametrize(("language", "seconds", "text"), [
    ("en", 0.04, "40 ms"), ("en", 1.1, "1.1 s"), ("en", 42, "42 s"), ("en", 190.4, "3 min 10 s"),
    ("en", 3900, "1 h 5 min"),
    ("ru", 1.1, "1,1 с"), ("ru", 190.4, "3 мин 10 с"), ("ru", 7200, "2 ч"),
])
def test_durations_are_humanised(language, seconds, text):
    with translation.override(language):
        assert format_duration(seconds) == text


def test_identifiers_become_words():
    assert humanize_identifier("average_check") == "Average check"


def _page(client, run, language="en"):
    response = client.get(reverse("webui:run-detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _retried_run():
    """Two attempts of about a second each, 189 s of waiting between them: 191 s in all."""
    start = timezone.now() - timedelta(minutes=10)
    first_end = start + timedelta(seconds=1)
    second = first_end + timedelta(seconds=189)
    run = PipelineRunFactory(status="success", retry_count=1, started_at=second,
                             finished_at=second + timedelta(seconds=1.1), duration_seconds=1.1,
                             execution_context={"step": "done", "attempt": 2, "attempts": [
                                 {"attempt": 1, "started_at": start.isoformat(), "finished_at": first_end.isoformat(),
                                  "duration_seconds": 1.0, "error_message": "ClickHouse refused the connection"}]})
    ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="load", status="failed",
                         processing_time_seconds=0.4, execution_context={"attempt": 1},
                         error_message="ClickHouse refused the connection")
    ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="load", status="completed",
                         processing_time_seconds=0.5, execution_context={"attempt": 2}, error_message="")
    ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="export", status="completed",
                         processing_time_seconds=0.3, execution_context={"attempt": 2}, error_message="")
    return run


@pytest.mark.parametrize(("language", "total", "note"), [
    ("en", "3 min 11 s", "2 attempts: 2.1 s working, 3 min 9 s waiting to retry."),
    ("ru", "3 мин 11 с", "2 попытки: 2,1 с работы, 3 мин 9 с ожидания повторов."),
])
def test_the_duration_includes_retries_and_their_waits(admin_client, language, total, note):
    text = _page(admin_client, _retried_run(), language)
    assert f'<dd id="run-duration">{total}</dd>' in text
    assert note in text
    # the last attempt's 1.1 s is that attempt's row in the timeline, not the run's duration
    assert re.search(r'aria-label="[^"]+ 2: 1[.,]1 с?s?"', text)


def test_the_timeline_draws_attempts_waits_and_steps_with_their_own_status(admin_client):
    text = _page(admin_client, _retried_run())
    timeline = text[text.index('id="run-timeline"'):text.index("</table>", text.index('id="run-timeline"'))]
    rows = re.findall(r'<tr class="timeline-level-(\d)" data-status="(\w+)"><th scope="row">([^<]+)</th>', timeline)
    assert rows == [("0", "failed", "Attempt 1"), ("1", "failed", "Load"), ("0", "waiting", "Waiting to retry"),
                    ("0", "success", "Attempt 2"), ("1", "completed", "Load"), ("1", "completed", "Export")]
    assert timeline.count("<rect ") == 6
    # the failed step's own error, once; the later steps that completed carry none
    assert timeline.count("ClickHouse refused the connection") == 1


def test_an_ended_run_shows_no_step_named_after_its_status(admin_client):
    run = PipelineRunFactory(status="success", execution_context={"step": "done"})
    text = _page(admin_client, run)
    assert 'id="run-step"' not in text
    assert run_progress_payload(run)["step_label"] == "All steps done"
    run.status = "failed"
    assert run_progress_payload(run)["step_label"] == "Stopped by an error"


def test_a_log_row_shows_only_its_own_error(admin_client):
    run = PipelineRunFactory(status="failed", error_message="Counts do not reconcile")
    ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="load", status="completed",
                         execution_context={"attempt": 1}, error_message="")
    ProcessingLogFactory(pipeline_run_id=run.pk, operation_type="export", status="failed",
                         execution_context={"attempt": 1}, error_message="Counts do not reconcile")
    text = _page(admin_client, run)
    logs = text[text.index('class="logs-table"'):]
    logs = logs[:logs.index("</table>")]
    assert logs.count("Counts do not reconcile") == 1


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_log_table_headers_are_all_different(admin_client, language):
    run = PipelineRunFactory()
    ProcessingLogFactory(pipeline_run_id=run.pk, execution_context={"attempt": 1})
    text = _page(admin_client, run, language)
    head = re.search(r'<table class="logs-table">\s*<thead><tr>(.*?)</tr></thead>', text, re.S).group(1)
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", head)
    assert len(headers) == 8 and len(set(headers)) == 8, headers
    if language == "ru":
        assert "С ошибками" in headers and "Сообщение об ошибке" in headers


@pytest.mark.parametrize(("language", "explanation"), [
    ("en", "The run stopped before it committed, so nothing of it stays in the target: of the 1,000 rows read"),
    ("ru", "Запуск остановился до фиксации, поэтому в целевой базе от него ничего не осталось: из 1\xa0000 "
           "прочитанных строк"),
])
def test_a_failed_run_explains_its_counts_instead_of_calling_them_wrong(admin_client, language, explanation):
    run = PipelineRunFactory(status="failed", error_message="boom", execution_context={
        "step": "failed", "rows_read": 1000, "rows_loaded": 0, "rows_quarantined": 3, "rows_removed": {}})
    text = _page(admin_client, run, language)
    assert explanation in text
    assert '<p id="reconciliation-text" class="stopped">' in text
    assert "do not add up" not in text and "не сходятся:" not in text


def test_balanced_and_unbalanced_counts_of_a_finished_run():
    from webui.progress import reconciliation

    ok = PipelineRunFactory(status="success", execution_context={"rows_read": 10, "rows_loaded": 9,
                                                                 "rows_quarantined": 1})
    assert reconciliation(ok)["state"] == "balanced"
    wrong = PipelineRunFactory(status="success", execution_context={"rows_read": 10, "rows_loaded": 7,
                                                                    "rows_quarantined": 1})
    result = reconciliation(wrong)
    assert result["state"] == "unbalanced" and "(2 rows unaccounted for)" in str(result["text"])


def test_logs_open_in_the_browser_as_utf8_text(admin_client):
    run = PipelineRunFactory()
    ProcessingLogFactory(pipeline_run_id=run.pk, execution_context={"attempt": 1}, error_message="нет числа")
    response = admin_client.get(reverse("webui:run-logs", args=[run.pk]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'inline; filename="run-{run.pk}-logs.txt"'
    assert "нет числа" in response.content.decode("utf-8")
    page = _page(admin_client, run)
    assert f'href="{reverse("webui:run-logs", args=[run.pk])}?attempt=1" target="_blank"' in page


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Checks run", "Pass rate", "80\xa0%", "Empty values", "84\xa0%", "at most 5\xa0%", "amount"]),
    ("ru", ["Выполнено проверок", "80\xa0%", "Пустые значения", "84\xa0%", "не более 5\xa0%"]),
])
def test_the_quality_summary_is_readable(admin_client, language, words):
    run = PipelineRunFactory()
    AnalysisResultFactory(
        pipeline_run=run, analysis_type=AnalysisType.DATA_QUALITY, is_alert=True, alert_level="high",
        metrics={"checks_run": 5, "checks_passed": 4, "pass_rate": 0.8, "metrics_written": 12, "row_count": 10},
        result_data={"table": "sales", "checks_run": 5, "failed_checks": [
            {"metric": "null_rate", "column": "amount", "value": 0.84, "threshold_min": None, "threshold_max": 0.05,
             "severity": "error", "learned": False, "baseline": None, "history_size": 0}]},
        recommendations=["Fill the amounts"])
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.SCHEMA_DRIFT, is_alert=False,
                          metrics={"added": 1, "removed": 0, "retyped": 0},
                          result_data={"added": ["colour"], "removed": [], "retyped": []}, recommendations=[])
    text = _page(admin_client, run, language)
    for word in words:
        assert word in text, word
    assert "{&#x27;" not in text and "{'" not in text  # no printed dict
    assert 'class="pass-rate">80\xa0%<' in text


def test_a_passing_quality_result_says_100_percent(admin_client):
    run = PipelineRunFactory()
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.DATA_QUALITY,
                          metrics={"checks_run": 3, "checks_passed": 3, "pass_rate": 1.0},
                          result_data={"table": "sales", "failed_checks": []}, recommendations=[])
    text = _page(admin_client, run)
    assert 'class="pass-rate">100\xa0%<' in text and "Every check passed." in text


@pytest.mark.parametrize("stored", [None, 1.0])  # null as analytics.quality writes it; 1 in older results
def test_a_table_nothing_checked_shows_no_pass_rate(admin_client, stored):
    run = PipelineRunFactory()
    AnalysisResultFactory(pipeline_run=run, analysis_type=AnalysisType.DATA_QUALITY,
                          metrics={"checks_run": 0, "checks_passed": 0, "pass_rate": stored},
                          result_data={"table": "sales", "failed_checks": []}, recommendations=[])
    text = _page(admin_client, run)
    assert 'class="pass-rate">\u2014<' in text and "No check ran on this table yet" in text
    assert "Every check passed." not in text
