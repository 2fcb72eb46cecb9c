"""Sources and pipelines are soft-deleted by the admin: rows stay, marked, and can be restored."""

import json

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.options import IS_POPUP_VAR
from django.urls import reverse

from pipelines.models import Pipeline, PipelineRun
from sources.models import DataSource
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

SOFT_DELETABLE = [(DataSource, "source"), (Pipeline, "pipeline")]
IDS = ["DataSource", "Pipeline"]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def assert_soft_deleted(model, pk):
    row = model.all_objects.get(pk=pk)
    assert row.is_deleted is True
    assert row.deleted_at is not None
    assert not model.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(("model", "key"), SOFT_DELETABLE, ids=IDS)
def test_soft_delete_action_keeps_the_row(admin_client, data, model, key):
    pk = data[key].pk
    response = admin_client.post(admin_url(model, "changelist"),
                                 {"action": "soft_delete_selected", "_selected_action": [pk]}, follow=True)
    assert response.status_code == 200
    assert "1 row was soft-deleted." in response.text
    assert_soft_deleted(model, pk)
    entry = LogEntry.objects.get(object_id=str(pk), content_type__model=model._meta.model_name)
    assert entry.action_flag == CHANGE
    assert entry.get_change_message() == "Changed deleted and deleted at."


@pytest.mark.parametrize(("model", "key"), SOFT_DELETABLE, ids=IDS)
def test_delete_view_soft_deletes_even_with_related_rows(admin_client, data, model, key):
    pk = data[key].pk  # the source has a pipeline (PROTECT), the pipeline has a run (PROTECT)
    url = admin_url(model, "delete", pk)
    confirmation = admin_client.get(url)
    assert confirmation.status_code == 200
    assert "Cannot delete" not in confirmation.text
    assert "Are you sure" in confirmation.text

    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert_soft_deleted(model, pk)
    assert LogEntry.objects.filter(object_id=str(pk), action_flag=DELETION).exists()
    # rows pointing at it are untouched
    if model is DataSource:
        assert Pipeline.objects.filter(pk=data["pipeline"].pk).exists()
    assert PipelineRun.objects.filter(pk=data["run"].pk).exists()


@pytest.mark.parametrize(("model", "key"), SOFT_DELETABLE, ids=IDS)
def test_builtin_delete_selected_soft_deletes(admin_client, data, model, key):
    pk = data[key].pk
    response = admin_client.post(admin_url(model, "changelist"),
                                 {"action": "delete_selected", "_selected_action": [pk], "post": "yes"})
    assert response.status_code == 302
    assert_soft_deleted(model, pk)


@pytest.mark.parametrize(("model", "key"), SOFT_DELETABLE, ids=IDS)
def test_deleted_rows_are_listed_marked_and_filterable(admin_client, data, model, key):
    deleted = data[key]
    deleted.soft_delete()
    alive = (DataSourceFactory if model is DataSource else PipelineFactory)(name="Still here")
    url = admin_url(model, "changelist")

    response = admin_client.get(url)
    assert {obj.pk for obj in response.context["cl"].result_list} == {deleted.pk, alive.pk}
    assert f"<del>{deleted.name}</del>" in response.text

    only_deleted = admin_client.get(url, {"is_deleted__exact": "1"}).context["cl"].result_list
    assert [obj.pk for obj in only_deleted] == [deleted.pk]
    only_alive = admin_client.get(url, {"is_deleted__exact": "0"}).context["cl"].result_list
    assert [obj.pk for obj in only_alive] == [alive.pk]

    # a deleted row's page still opens
    assert admin_client.get(admin_url(model, "change", deleted.pk)).status_code == 200
    # raw-id pickers offer live rows only
    popup = admin_client.get(url, {IS_POPUP_VAR: "1"}).context["cl"].result_list
    assert [obj.pk for obj in popup] == [alive.pk]


@pytest.mark.parametrize(("model", "key"), SOFT_DELETABLE, ids=IDS)
def test_restore_action_brings_the_row_back(admin_client, data, model, key):
    row = data[key]
    row.soft_delete()
    response = admin_client.post(admin_url(model, "changelist"),
                                 {"action": "restore_selected", "_selected_action": [row.pk]}, follow=True)
    assert "1 row was restored." in response.text
    row = model.objects.get(pk=row.pk)
    assert row.is_deleted is False and row.deleted_at is None


def test_restore_refuses_a_name_taken_by_a_live_row(admin_client, db):
    old = DataSourceFactory(name="Sales CSV file")
    old.soft_delete()
    DataSourceFactory(name="Sales CSV file")
    response = admin_client.post(admin_url(DataSource, "changelist"),
                                 {"action": "restore_selected", "_selected_action": [old.pk]}, follow=True)
    assert response.status_code == 200
    assert "0 rows were restored." in response.text
    assert "Not restored, the name is used by a live row: Sales CSV file" in response.text
    assert DataSource.all_objects.get(pk=old.pk).is_deleted is True


def test_restore_of_two_deleted_namesakes_restores_the_latest_only(admin_client, db):
    first = DataSourceFactory(name="Same")
    first.soft_delete()
    second = DataSourceFactory(name="Same")
    second.soft_delete()
    admin_client.post(admin_url(DataSource, "changelist"),
                      {"action": "restore_selected", "_selected_action": [first.pk, second.pk]})
    assert list(DataSource.objects.values_list("pk", flat=True)) == [second.pk]


def test_a_pipeline_of_a_deleted_source_can_still_be_edited(admin_client, data):
    pipeline = data["pipeline"]
    data["source"].soft_delete()
    response = admin_client.post(admin_url(Pipeline, "change", pipeline.pk), {
        "name": pipeline.name, "description": "", "data_source": pipeline.data_source_id, "status": "inactive",
        "tags": json.dumps(pipeline.tags), "configuration": json.dumps(pipeline.configuration),
        "schedule_cron": "", "max_retries": 3, "timeout_seconds": 3600,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Pipeline.objects.get(pk=pipeline.pk).status == "inactive"


def test_a_new_pipeline_cannot_use_a_deleted_source(admin_client, data):
    data["source"].soft_delete()
    response = admin_client.post(admin_url(Pipeline, "add"), {
        "name": "New", "data_source": data["source"].pk, "status": "draft", "tags": "[]", "configuration": "{}",
        "max_retries": 3, "timeout_seconds": 3600,
    })
    assert response.status_code == 200
    assert "data_source" in response.context["adminform"].form.errors
