"""Staging rows are machine-written: the admin never adds or edits them; a superuser may delete them."""

import pytest
from django.urls import reverse

from staging.models import FileMetadata, ProcessingLog, StagingTable

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

STAGING = [(StagingTable, "table"), (FileMetadata, "file"), (ProcessingLog, "log")]
IDS = ["StagingTable", "FileMetadata", "ProcessingLog"]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "key"), STAGING, ids=IDS)
def test_add_is_refused(admin_client, data, model, key):
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    assert admin_url(model, "add") not in admin_client.get(admin_url(model, "changelist")).text


@pytest.mark.parametrize(("model", "key"), STAGING, ids=IDS)
def test_change_page_is_read_only(admin_client, data, model, key):
    row = data[key]
    url = admin_url(model, "change", row.pk)
    response = admin_client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert response.context["adminform"].form.fields == {}
    assert admin_client.post(url, {"status": "failed", "table_name": "changed"}).status_code == 403
    assert model.objects.get(pk=row.pk).updated_at == row.updated_at


@pytest.mark.parametrize(("model", "key"), STAGING, ids=IDS)
def test_superuser_can_delete(admin_client, data, model, key):
    pk = data[key].pk
    response = admin_client.post(admin_url(model, "delete", pk), {"post": "yes"})
    assert response.status_code == 302
    assert not model.objects.filter(pk=pk).exists()
