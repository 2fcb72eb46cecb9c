import pytest
from django.urls import reverse

from pipelines.models import PipelineRun
from tests.factories import PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_cancel_and_rerun_actions(admin_client, django_capture_on_commit_callbacks):
    pipeline = PipelineFactory()
    running = PipelineRunFactory(pipeline=pipeline, status="running")
    failed = PipelineRunFactory(pipeline=pipeline, status="failed")
    url = reverse("admin:pipelines_pipelinerun_changelist")
    admin_client.post(url, {"action": "cancel_runs", "_selected_action": [running.pk, failed.pk]}, follow=True)
    running.refresh_from_db()
    failed.refresh_from_db()
    assert (running.status, failed.status) == ("cancelled", "failed")

    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(url, {"action": "rerun_failed", "_selected_action": [running.pk, failed.pk]})
    new = PipelineRun.objects.exclude(pk__in=[running.pk, failed.pk]).get()
    assert new.status == "pending" and new.pipeline == pipeline and new.triggered_by == "admin"


def test_pipeline_form_shows_the_transformation_registry(admin_client):
    pipeline = PipelineFactory()
    html = admin_client.get(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk])).text
    for step in ("clean_duplicates", "validate_amounts", "enrich_product_data", "derive", "fill_nulls"):
        assert f"<code>{step}</code>" in html
