"""Engine errors and quarantine reasons are shown in the reader's language, not the worker's (issue 16).

Real runs of a real small file on the embedded ClickHouse, recorded while the worker's language is English or
Russian; the run page, the quarantine page and the API then show each text in the language the reader asked
for, while pipeline_runs.error_message and quarantined_rows.reason keep the English text.
"""

import pytest
from django.urls import reverse
from django.utils import translation

from etlsite.messages import _msg
from pipelines.engine.runner import run_execute
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create, run_fail
from sources.secrets import PLACEHOLDER
from staging.models import ProcessingLog
from staging.quarantine import QuarantinedRow
from staging.services import processing_log_finish, processing_log_start
from tests.factories import DataSourceFactory, PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

LACKS_EN = "The source lacks required columns: region (it has: date, amount, product_id, email)."
LACKS_RU = "В источнике нет обязательных столбцов: region (есть: date, amount, product_id, email)."
WORKERS = ["en", "ru"]


def _run(pipeline, worker: str, **context):
    with translation.override(worker):
        run = run_create(pipeline=pipeline, triggered_by="test", execution_context=context)
        assert run_claim(run=run)
        return run_execute(run=run)


def _page(client, name: str, run, language: str) -> str:
    return client.get(reverse(name, args=[run.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.parametrize("worker", WORKERS)
def test_a_run_error_shows_in_the_readers_language_whatever_the_workers(admin_client, file_pipeline, clickhouse,
                                                                         worker):
    file_pipeline.configuration["validation_rules"]["required_columns"].append("region")
    file_pipeline.save()
    run = _run(file_pipeline, worker)
    assert run.status == RunStatus.FAILED
    assert run.error_message == LACKS_EN  # the spec's column: English, whoever wrote it
    english, russian = (_page(admin_client, "webui:run-detail", run, language) for language in ("en", "ru"))
    assert LACKS_EN in english and LACKS_RU not in english
    assert LACKS_RU in russian and LACKS_EN not in russian
    logs = admin_client.get(reverse("webui:run-logs", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert LACKS_RU in logs and LACKS_EN not in logs
    api = admin_client.get(f"/api/v1/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="ru").json()
    assert api["error_message"] == LACKS_RU
    assert admin_client.get(f"/api/v1/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()["error_message"] == LACKS_EN
    admin = _page(admin_client, "admin:pipelines_pipelinerun_change", run, "ru")
    assert LACKS_RU in admin and LACKS_EN not in admin


def test_a_type_conflict_quoting_two_messages_shows_both_in_the_readers_language(admin_client, file_pipeline,
                                                                                 clickhouse):
    file_pipeline.configuration["validation_rules"]["max_failed_ratio"] = 0.9
    file_pipeline.save()
    assert _run(file_pipeline, "en").status == RunStatus.SUCCESS
    file_pipeline.configuration["validation_rules"]["data_types"]["product_id"] = "string"
    file_pipeline.save()
    run = _run(file_pipeline, "ru", load_again=True)  # the worker speaks Russian this time
    assert run.status == RunStatus.FAILED
    assert run.error_message.startswith("Column product_id of target table ")
    assert "A migration of the table waits for approval" in run.error_message
    english, russian = (_page(admin_client, "webui:run-detail", run, language) for language in ("en", "ru"))
    assert "Column product_id of target table " in english and "Столбец" not in english
    assert "Столбец product_id таблицы " in russian and "Column product_id" not in russian
    assert "waits for approval" not in russian


def test_a_skipped_runs_reason_shows_in_the_readers_language(admin_client, file_pipeline, clickhouse):
    file_pipeline.configuration["validation_rules"]["max_failed_ratio"] = 0.9
    file_pipeline.save()
    first = _run(file_pipeline, "ru")
    run = _run(file_pipeline, "ru")  # the same file again: nothing to do
    assert run.status == RunStatus.CANCELLED
    assert run.error_message.startswith(f"This file was already loaded by run {first.pk} ")
    english, russian = (_page(admin_client, "webui:run-detail", run, language) for language in ("en", "ru"))
    assert run.error_message in english
    assert f"This file was already loaded by run {first.pk}" not in russian
    with translation.override("ru"):
        assert run.error_text in russian and str(first.pk) in run.error_text


@pytest.mark.parametrize("worker", WORKERS)
def test_a_quarantine_reason_shows_in_the_readers_language(admin_client, file_pipeline, clickhouse, worker):
    file_pipeline.configuration["validation_rules"]["max_failed_ratio"] = 0.9
    file_pipeline.save()
    run = _run(file_pipeline, worker)
    assert run.status == RunStatus.SUCCESS, run.error_message
    row = QuarantinedRow.objects.get(pipeline_run_id=run.pk, column_name="amount")
    assert row.reason == 'not a number: "lots"'
    english, russian = (_page(admin_client, "webui:quarantine-run", run, language) for language in ("en", "ru"))
    assert "not a number: &quot;lots&quot;" in english and "не число" not in english
    assert "не число: &quot;lots&quot;" in russian and "not a number" not in russian
    url = "/api/v1/quarantined-rows/"
    reasons = {language: [item["reason"] for item in admin_client.get(
        url, {"pipeline_run_id": run.pk, "column_name": "amount"}, HTTP_ACCEPT_LANGUAGE=language).json()["results"]
        if item["column_name"] == "amount"] for language in ("en", "ru")}
    assert reasons == {"en": ['not a number: "lots"'], "ru": ['не число: "lots"']}
    admin = admin_client.get(reverse("admin:staging_quarantinedrow_changelist"), {"pipeline_run_id": run.pk},
                             HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "не число: &quot;lots&quot;" in admin


def test_a_secret_in_a_messages_parameters_is_scrubbed(admin_client):
    token = "Tk-9f8e7d6c5b4a"
    source = DataSourceFactory(source_type="api", connection_config={
        "url": "https://api.example.com/orders", "auth": {"type": "bearer", "token": token}})
    run = run_create(pipeline=PipelineFactory(data_source=source, configuration={}), triggered_by="test")
    assert run_claim(run=run)
    message = _msg("The request to the API failed: %(reason)s") % {"reason": f"the server echoed {token}"}
    log = processing_log_start(table_name="stg_x", operation_type="load", pipeline_run_id=run.pk)
    processing_log_finish(log, status="failed", records_processed=0, records_success=0, records_failed=0,
                          error_message=message)
    run = run_fail(run=run, error_message=message)
    log = ProcessingLog.objects.get(pk=log.pk)
    stored = [run.execution_context["error"], log.execution_context["error"], run.error_message, log.error_message]
    assert token not in repr(stored)
    assert run.execution_context["error"]["params"]["reason"] == f"the server echoed {PLACEHOLDER}"
    with translation.override("ru"):
        assert run.error_text == f"Запрос к API не удался: the server echoed {PLACEHOLDER}"
        assert log.error_text == run.error_text


def test_rows_stored_before_messages_show_their_text(admin_client):
    run = PipelineRunFactory(status=RunStatus.FAILED, error_message="An old error, stored as text.")
    QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table="stg_gone", row_number=3,
                                  column_name="amount", value="x", rule="data_types", reason='not a number: "x"')
    assert "An old error, stored as text." in _page(admin_client, "webui:run-detail", run, "ru")
    assert "not a number: &quot;x&quot;" in _page(admin_client, "webui:quarantine-run", run, "ru")


def test_a_cancelled_runs_reason_shows_in_the_readers_language(admin_client, file_pipeline):
    from pipelines.services import run_cancel

    run = run_create(pipeline=file_pipeline, triggered_by="test")
    with translation.override("ru"):
        assert run_cancel(run=run, by="bob")
    run.refresh_from_db()
    assert run.error_message == "Cancelled by bob."
    assert "Cancelled by bob." in _page(admin_client, "webui:run-detail", run, "en")
    russian = _page(admin_client, "webui:run-detail", run, "ru")
    assert "Cancelled by bob." not in russian
    with translation.override("ru"):
        assert run.error_text in russian and "bob" in run.error_text
