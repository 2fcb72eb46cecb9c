"""The quarantine page shows each failing value inside its whole row as read, with the rule it broke."""

import re
from datetime import timedelta

import pyarrow as pa
import pytest
from django.urls import reverse

from staging.quarantine import QuarantinedRow
from staging.writer import StagingWriter
from tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def _staged(run, table="stg_run_qrows"):
    schema = pa.schema([("_row_number", pa.int64()), ("date", pa.string()), ("amount", pa.string()),
                        ("product", pa.string())])
    writer = StagingWriter.create(table_name=table, schema=schema, pipeline_run_id=run.pk, source_type="csv",
                                  source_config={}, expires_in=timedelta(days=7))
    writer.append(pa.RecordBatch.from_pylist([
        {"_row_number": 1, "date": "2024-01-02", "amount": "10.5", "product": "Mug"},
        {"_row_number": 2, "date": "2024-01-03", "amount": "lots", "product": "Ceramic bowl"},
        {"_row_number": 3, "date": "yesterday", "amount": "-4", "product": "Plate"}], schema=schema))
    return table


def _entry(run, table, row, column, value, rule, reason):
    return QuarantinedRow.objects.create(pipeline_run_id=run.pk, staging_table=table, row_number=row,
                                         column_name=column, value=value, rule=rule, reason=reason)


def test_the_whole_row_is_shown_beside_its_failing_values(admin_client):
    run = PipelineRunFactory()
    table = _staged(run)
    _entry(run, table, 2, "amount", "lots", "data_types", 'not a number: "lots"')
    _entry(run, table, 3, "date", "yesterday", "data_types", 'not a date: "yesterday"')
    _entry(run, table, 3, "amount", "-4", "min", "below the minimum 0")
    text = admin_client.get(reverse("webui:quarantine-run", args=[run.pk])).content.decode()
    whole = re.findall(r'data-whole-row="(\d+)"', text)
    assert whole == ["2", "3"]  # once per row, not once per failing value
    row2 = text[text.index('data-whole-row="2"'):text.index('data-whole-row="3"')]
    cells = re.findall(r"<td(?: class=\"failing\"[^>]*)?>([^<]*)</td>", row2)
    assert cells[:3] == ["2024-01-03", "lots", "Ceramic bowl"]
    assert '<td class="failing" title="This value failed a rule">lots</td>' in row2
    row3 = text[text.index('data-whole-row="3"'):]
    assert row3.count('<td class="failing"') == 2  # the date and the amount
    assert "<code>min</code>" in text and "below the minimum 0" in text


def test_a_row_no_longer_staged_says_so(admin_client):
    run = PipelineRunFactory()
    _entry(run, "stg_run_gone", 7, "amount", "x", "data_types", "not a number")
    page = admin_client.get(reverse("webui:quarantine-run", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 200
    assert "Строки 7 в исходном виде больше нет в промежуточной базе" in page.content.decode()


def test_the_whole_row_is_masked_for_someone_without_the_sensitive_permission(client, django_user_model, settings):
    from tests.webui.conftest import user_with

    # no ClickHouse to read the catalog from: every value is hidden from such a person (fail closed)
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "HOST": "127.0.0.1", "PORT": 9,
                                  "EMBEDDED": False}
    run = PipelineRunFactory()
    table = _staged(run)
    _entry(run, table, 2, "amount", "lots", "data_types", 'not a number: "lots"')
    client.force_login(user_with(django_user_model, "viewer", "staging.view_quarantinedrow"))
    page = client.get(reverse("webui:quarantine-run", args=[run.pk]))
    assert page.status_code == 200
    row = page.content.decode().split('data-whole-row="2"')[1].split("</table>")[0]
    assert "Ceramic bowl" not in row and "lots" not in row and row.count("•••") == 3
