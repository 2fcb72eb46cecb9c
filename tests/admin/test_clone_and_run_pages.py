"""Admin: cloning pipelines, and runs showing their progress and linking to their page, logs and quarantine."""

import pytest
from django.urls import reverse

from pipelines.models import Pipeline
from tests.factories import PipelineFactory, PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_clone_makes_a_draft_copy_with_a_free_name(admin_client):
    original = PipelineFactory(name="Sales", schedule_cron="0 2 * * *", tags=["sales"],
                               configuration={"transformations": ["clean_duplicates"],
                                              "column_mapping": {"sum": "amount"}})
    url = reverse("admin:pipelines_pipeline_changelist")
    for _ in range(2):
        response = admin_client.post(url, {"action": "clone", "_selected_action": [original.pk]}, follow=True)
    assert "1 pipeline cloned: Sales (copy 2)." in response.content.decode()
    first, second = Pipeline.objects.filter(name__startswith="Sales (").order_by("pk")
    assert (first.name, second.name) == ("Sales (copy)", "Sales (copy 2)")
    assert first.status == "draft" and first.data_source == original.data_source
    assert first.configuration == original.configuration and first.tags == ["sales"]
    first.configuration["transformations"].append("trim")
    first.save()
    original.refresh_from_db()
    assert original.configuration["transformations"] == ["clean_duplicates"], "the copy is deep"


def test_clone_needs_the_add_permission(client, django_user_model):
    from tests.webui.conftest import user_with

    original = PipelineFactory(name="Sales")
    client.force_login(user_with(django_user_model, "editor", "pipelines.view_pipeline",
                                 "pipelines.change_pipeline"))
    user = django_user_model.objects.get(username="editor")
    user.is_staff = True
    user.save()
    client.post(reverse("admin:pipelines_pipeline_changelist"), {"action": "clone", "_selected_action": [original.pk]})
    assert Pipeline.objects.count() == 1


def test_runs_show_progress_and_link_to_their_page_logs_and_quarantine(admin_client):
    run = PipelineRunFactory(status="running", execution_context={"step": "load", "rows_read": 5})
    listing = admin_client.get(reverse("admin:pipelines_pipelinerun_changelist")).content.decode()
    assert '<progress max="100" value="50"' in listing
    for url in (f"/runs/{run.pk}/", f"/runs/{run.pk}/logs.txt", f"/quarantine/{run.pk}/"):
        assert f'href="{url}"' in listing
    change = admin_client.get(reverse("admin:pipelines_pipelinerun_change", args=[run.pk])).content.decode()
    assert f'href="/runs/{run.pk}/"' in change and "processing logs" in change
