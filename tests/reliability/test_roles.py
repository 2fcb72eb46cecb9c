"""The read-only role: a member of "Viewers" (made by `create_roles`) sees the pages, the admin's lists and
the API's lists, and is refused every change, run, cancel and upload — in the admin, on the pages and in the
API — with nothing changed behind the refusal."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from etlsite.roles import VIEWER_APPS, VIEWERS
from pipelines.models import Pipeline, PipelineRun, RunStatus, SchemaChange
from sources.models import DataSource
from staging.models import FileMetadata
from tests.factories import (
    DataSourceFactory,
    FileMetadataFactory,
    PipelineFactory,
    PipelineRunFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.fixture
def viewer(db):
    call_command("create_roles", stdout=open("/dev/null", "w"))
    user = User.objects.create_user("vera", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=VIEWERS))
    return user


@pytest.fixture
def rows(db):
    pipeline = PipelineFactory(data_source=DataSourceFactory())
    run = PipelineRunFactory(pipeline=pipeline, status=RunStatus.RUNNING)
    failed = PipelineRunFactory(pipeline=pipeline, status=RunStatus.FAILED)
    return {"pipeline": pipeline, "source": pipeline.data_source, "run": run, "failed": failed,
            "file": FileMetadataFactory(),
            "change": SchemaChange.objects.create(
                pipeline=pipeline, diff={"added": ["x"], "removed": [], "retyped": []}, fingerprint="f1")}


def test_the_group_holds_view_permissions_only_and_the_command_is_repeatable(viewer):
    call_command("create_roles", stdout=open("/dev/null", "w"))
    group = Group.objects.get(name=VIEWERS)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert codenames and all(code.startswith("view_") for code in codenames)
    assert "view_sensitive_data" not in codenames and "view_token" not in codenames
    apps = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert apps == set(VIEWER_APPS)
    assert Group.objects.filter(name=VIEWERS).count() == 1


def test_a_viewer_sees_the_pages_admin_lists_and_api_lists(viewer, rows, client):
    client.force_login(viewer)
    pages = [reverse("webui:upload"), reverse("webui:run-detail", args=[rows["run"].pk]),
             reverse("webui:run-logs", args=[rows["run"].pk]), reverse("webui:quarantine"),
             reverse("webui:schema-changes"), reverse("admin:index")]
    for model in ("sources_datasource", "pipelines_pipeline", "pipelines_pipelinerun", "pipelines_analysisresult",
                  "pipelines_schemachange", "pipelines_alert", "staging_stagingtable", "staging_filemetadata",
                  "staging_processinglog", "staging_quarantinedrow", "django_celery_beat_periodictask"):
        pages.append(reverse(f"admin:{model}_changelist"))
    pages += [reverse("admin:pipelines_pipeline_change", args=[rows["pipeline"].pk]),
              reverse("admin:sources_datasource_change", args=[rows["source"].pk])]
    for url in pages:
        assert client.get(url).status_code == 200, url
    api = APIClient()
    api.force_login(viewer)
    for url in ("/api/v1/sources/", "/api/v1/pipelines/", "/api/v1/runs/", "/api/v1/files/",
                "/api/v1/staging-tables/", "/api/v1/processing-logs/", "/api/v1/quarantined-rows/",
                f"/api/v1/runs/{rows['run'].pk}/"):
        assert api.get(url).status_code == 200, url


def test_a_viewer_cannot_change_run_cancel_or_upload_anywhere(viewer, rows, client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    p, s, r, f = rows["pipeline"], rows["source"], rows["run"], rows["failed"]
    client.force_login(viewer)
    runs_before = PipelineRun.objects.count()
    refused = {
        # the admin: add, change, delete
        reverse("admin:sources_datasource_add"): {"name": "x", "source_type": "file"},
        reverse("admin:sources_datasource_change", args=[s.pk]): {"name": "renamed"},
        reverse("admin:sources_datasource_delete", args=[s.pk]): {"post": "yes"},
        reverse("admin:pipelines_pipeline_add"): {"name": "x"},
        reverse("admin:pipelines_pipeline_change", args=[p.pk]): {"name": "renamed"},
        reverse("admin:pipelines_pipeline_delete", args=[p.pk]): {"post": "yes"},
        reverse("admin:pipelines_pipelinerun_change", args=[r.pk]): {"status": "cancelled"},
        # the pages: upload, run, mapping, quarantine, schema changes, catalog
        reverse("webui:upload-session"): {},
        reverse("webui:upload-finish", args=["abc"]): {},
        reverse("webui:upload-run", args=[rows["file"].pk]): {"pipeline": p.pk},
        reverse("webui:upload-mapping", args=[rows["file"].pk]): {"pipeline": p.pk},
        reverse("webui:quarantine-save", args=[f.pk]): {},
        reverse("webui:quarantine-replay", args=[f.pk]): {},
        reverse("webui:schema-change-decide", args=[rows["change"].pk]): {"decision": "approve"},
        reverse("dashboards:catalog-edit"): {},
    }
    for url, data in refused.items():
        response = client.post(url, data)
        assert response.status_code == 403, (url, response.status_code)
    chunk = client.put(reverse("webui:upload-chunk", args=["abc"]), b"x", content_type="application/octet-stream")
    assert chunk.status_code == 403
    # Admin actions that change or run are not offered to a viewer: posting one re-shows the list and does
    # nothing, as the checks at the end prove.
    for url, action, ids in ((reverse("admin:pipelines_pipeline_changelist"), "run_now", [p.pk]),
                             (reverse("admin:pipelines_pipelinerun_changelist"), "cancel_runs", [r.pk]),
                             (reverse("admin:pipelines_pipelinerun_changelist"), "rerun_failed", [f.pk])):
        response = client.post(url, {"action": action, "_selected_action": ids, "index": 0})
        assert response.status_code in (200, 302, 403), (action, response.status_code)

    api = APIClient()
    api.force_login(viewer)
    writes = [("post", "/api/v1/sources/"), ("patch", f"/api/v1/sources/{s.pk}/"),
              ("delete", f"/api/v1/sources/{s.pk}/"), ("post", "/api/v1/pipelines/"),
              ("patch", f"/api/v1/pipelines/{p.pk}/"), ("delete", f"/api/v1/pipelines/{p.pk}/"),
              ("post", "/api/v1/runs/"), ("post", f"/api/v1/runs/{r.pk}/cancel/"),
              ("post", f"/api/v1/runs/{f.pk}/rerun/"), ("post", "/api/v1/files/")]
    for method, url in writes:
        response = getattr(api, method)(url, {"pipeline": p.pk}, format="json")
        assert response.status_code == 403, (method, url, response.status_code)

    # Nothing changed behind the refusals.
    r.refresh_from_db()
    assert r.status == RunStatus.RUNNING and PipelineRun.objects.count() == runs_before
    assert Pipeline.objects.filter(pk=p.pk, is_deleted=False).exclude(name="renamed").exists()
    assert DataSource.objects.filter(pk=s.pk, is_deleted=False).exclude(name="renamed").exists()
    assert FileMetadata.objects.count() == 1
