"""Every page in Russian holds no English enumeration value or label left untranslated (issue 16).

A superuser walks the site's pages and the admin's lists and change pages over a real run of the demo
pipeline (quality, business metrics, lineage, catalog with its PII evidence), a failed run, a run waiting to
retry and a pending one, with the language cookie set to Russian. The visible text of each page (tags,
attributes, scripts' data, <code>/<pre> blocks and form values removed: those are data and identifiers) must
not contain a word from ENGLISH_LEFT: the statuses, steps, sensitivity levels and lineage labels the code
knows, as a person would read them in English.
"""

import re
from html import unescape

import pytest
from django.conf import settings
from django.urls import reverse

from pipelines.models import AnalysisResult, PipelineRun, RunStatus
from tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

# Words a Russian page must not show: enumeration values and labels as their English catalogue has them.
ENGLISH_LEFT = [
    "success", "succeeded", "failed", "pending", "running", "cancelled", "retry_wait", "Waiting to retry",
    "public", "internal", "confidential", "restricted", "suggested", "confirmed", "rejected",
    "extract", "load", "copy", "rename", "derive", "lookup",
    "Reading the source", "Staging the rows", "Waiting for a worker", "Worker: answering", "No worker",
    "E-mail address", "Phone number", "Person's name", "digits", "capitalised",
    "Column", "rows", "check the source", "Describe the new columns", "Look at the quarantined rows",
    "data_quality", "anomaly_detection", "schema_drift",
]
# Whole words, not parts of identifiers (public.stg_run_1, pipeline_run, sales_processing.amount).
_WORDS = re.compile(r"(?<![\w.])(" + "|".join(re.escape(w) for w in ENGLISH_LEFT) + r")(?![\w])(?!\.\w)")
_DROP = re.compile(r"<(script|style|code|pre|textarea|select)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def visible_text(html: str) -> str:
    return unescape(_TAG.sub(" ", _DROP.sub(" ", html)))


def english_left(html: str) -> list[str]:
    text = visible_text(html)
    return sorted({f"{m.group(0)!r} in …{text[max(0, m.start() - 50):m.end() + 50]!r}…"
                   for m in _WORDS.finditer(text)})


def test_the_checker_finds_english_words():
    assert english_left("<p>Status: <b>success</b></p>")
    assert not english_left('<p class="status-success">Успешно</p><code>load</code>'
                            '<script type="application/json">{"a": "failed"}</script>')


def _pages(run_ids, result_ids, pipeline_id, source_id):
    pages = ["/upload/", "/dashboards/quality/", "/dashboards/business/", "/dashboards/runs/",
             "/dashboards/health/", "/lineage/", "/catalog/", "/quarantine/", "/schema-changes/", "/admin/",
             reverse("admin:pipelines_pipeline_changelist"), reverse("admin:pipelines_pipelinerun_changelist"),
             reverse("admin:pipelines_analysisresult_changelist"), reverse("admin:sources_datasource_changelist"),
             reverse("admin:pipelines_pipeline_change", args=[pipeline_id]),
             reverse("admin:sources_datasource_change", args=[source_id])]
    for pk in run_ids:
        pages += [reverse("webui:run-detail", args=[pk]), reverse("admin:pipelines_pipelinerun_change", args=[pk]),
                  reverse("webui:quarantine-run", args=[pk])]
    pages += [reverse("admin:pipelines_analysisresult_change", args=[pk]) for pk in result_ids]
    return pages


def test_every_page_in_russian_has_no_english_enumeration_left(client, admin_user, clickhouse, demo_run):
    pipeline = demo_run.pipeline
    failed = PipelineRunFactory(pipeline=pipeline, status=RunStatus.FAILED, error_message="boom",
                                execution_context={"step": "load"})
    waiting = PipelineRunFactory(pipeline=pipeline, status=RunStatus.PENDING, retry_count=1,
                                 execution_context={"step": "retry_wait", "attempts": [{"error_message": "x"}]})
    pending = PipelineRunFactory(pipeline=pipeline, status=RunStatus.PENDING)
    client.force_login(admin_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    runs = [demo_run.pk, failed.pk, waiting.pk, pending.pk]
    results = list(AnalysisResult.objects.filter(pipeline_run__in=runs).values_list("pk", flat=True))
    assert PipelineRun.objects.filter(status=RunStatus.SUCCESS).exists() and results
    problems = {}
    for url in _pages(runs, results, pipeline.pk, pipeline.data_source_id):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="ru"' in response.text, url
        found = english_left(response.text)
        if found:
            problems[url] = found
    assert not problems, "\n".join(f"{url}:\n  " + "\n  ".join(found) for url, found in problems.items())


def test_a_notification_written_in_russian_has_no_english_enumeration_left(db):
    from django.utils import timezone, translation

    from pipelines.alerts import NotificationKind, _render
    from pipelines.models import Alert, AlertCondition
    from tests.factories import AnalysisResultFactory, PipelineFactory

    pipeline = PipelineFactory(name="Sales")
    run = PipelineRunFactory(pipeline=pipeline, status=RunStatus.SUCCESS)
    result = AnalysisResultFactory(pipeline_run=run, recommendations=[
        {"code": "drift_removed", "params": {"columns": ["channel"]}}])
    alert = Alert.objects.create(pipeline=pipeline, condition=AlertCondition.QUALITY, opened_at=timezone.now(),
                                 last_run=run, details={"findings": [{
                                     "analysis_result_id": result.pk, "alert_level": "high", "rule": "null_rate",
                                     "threshold": 0.05, "value": 0.5, "summary": "",
                                     "recommendations": result.recommendation_texts}]})
    with translation.override("ru"):
        subject, body, _payload = _render(alert, NotificationKind.OPENED)
    assert not english_left(f"<p>{subject}</p><p>{body}</p>"), body
    assert "Высокий" in body or "высокий" in body.lower()
