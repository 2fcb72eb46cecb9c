import pytest
from django.urls import reverse

from pipelines.demo import demo_load
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.services import run_claim, run_create
from staging.quarantine import QuarantinedRow

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def test_correct_in_place_then_replay_from_the_admin(admin_client, clickhouse, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=800)
    run = run_create(pipeline=pipeline, triggered_by="test")
    run_claim(run=run)
    run = run_execute(run=run)
    row = QuarantinedRow.objects.filter(pipeline_run_id=run.pk, column_name="amount").first()
    url = reverse("admin:staging_quarantinedrow_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200 and str(row.row_number) in page.content.decode()

    row.corrected_value, row.status = "99.5", "corrected"
    row.save()
    response = admin_client.post(url, {"action": "replay", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    assert f"Run #{run.pk}: 1 rows loaded" in response.content.decode()
    assert clickhouse.query(f"SELECT amount FROM {target_table_name(pipeline)} WHERE _row_number = {{n:Int64}}",
                            {"n": row.row_number}).result_rows == [(99.5,)]
    assert admin_client.get(reverse("admin:staging_quarantinedrow_add")).status_code == 403
