"""A target table belongs to the pipelines that load it (tester's finding: a new pipeline with
target.table "sales_processing" and write_mode "replace" wiped the demo's table). Loading into a table another
live pipeline loads needs pipelines.load_shared_target; replace and merge into such a table are refused for
everyone, on save (admin, API, model) and when a run starts."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from etlsite.roles import viewer_permissions
from pipelines.engine.runner import run_execute
from pipelines.models import Pipeline, RunStatus
from pipelines.services import run_claim, run_create
from pipelines.targets import shared_write_mode_error
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

TAKEN = "Pipeline \"Sales processing\" loads into sales_processing already"
TAKEN_RU = "Конвейер «Sales processing» уже загружает таблицу sales_processing"
DELETES = "would delete the rows the pipeline \"Sales processing\" loads into sales_processing"


@pytest.fixture
def owner():
    return PipelineFactory(name="Sales processing", configuration={"target": {"table": "sales_processing"}})


@pytest.fixture
def eve(django_user_model):
    """The tester: a viewer who may add and change sources and pipelines and start runs."""
    user = django_user_model.objects.create_user("eve", password="pw", is_staff=True)
    user.user_permissions.add(*viewer_permissions(), *Permission.objects.filter(codename__in=[
        "add_datasource", "change_datasource", "add_pipeline", "change_pipeline", "add_pipelinerun"]))
    return user


def _admin_post(client, source, configuration, name="Eve's"):
    return client.post(reverse("admin:pipelines_pipeline_add"), {
        "name": name, "data_source": source.pk, "status": "draft", "tags": "", "schedule_cron": "",
        "max_retries": 3, "timeout_seconds": 3600, "configuration": json.dumps(configuration)})


def _api(user, language="en"):
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    api.force_authenticate(user)
    return api


def _grant(user):
    user.user_permissions.add(Permission.objects.get(codename="load_shared_target"))
    return type(user).objects.get(pk=user.pk)  # permissions are cached per instance


def test_the_permission_exists_and_no_viewer_has_it():
    assert Permission.objects.filter(content_type__app_label="pipelines", codename="load_shared_target").exists()
    assert "load_shared_target" not in {p.codename for p in viewer_permissions()}


def test_the_admin_refuses_another_pipelines_table_without_the_permission(owner, eve, client):
    client.force_login(eve)
    response = _admin_post(client, owner.data_source, {"target": {"table": "sales_processing"}})
    assert response.status_code == 200
    assert TAKEN.lower() in " ".join(response.context["adminform"].form.errors["configuration"]).lower()
    assert not Pipeline.objects.filter(name="Eve's").exists()


def test_the_admin_refuses_replace_into_it_even_for_a_superuser(owner, admin_client):
    response = _admin_post(admin_client, owner.data_source,
                           {"target": {"table": "sales_processing"}, "write_mode": "replace"})
    assert response.status_code == 200
    assert DELETES in " ".join(response.context["adminform"].form.errors["configuration"])
    response = _admin_post(admin_client, owner.data_source, {"target": {"table": "sales_processing"}})
    assert response.status_code == 302  # a superuser may append
    assert Pipeline.objects.get(name="Eve's").target_table == "sales_processing"


def test_a_pipeline_named_like_the_table_is_refused_on_the_name(owner, eve, client):
    client.force_login(eve)
    response = _admin_post(client, owner.data_source, {}, name="sales processing")
    assert response.status_code == 200
    assert TAKEN.lower() in " ".join(response.context["adminform"].form.errors["name"]).lower()


@pytest.mark.parametrize(("language", "text"), [("en", TAKEN), ("ru", TAKEN_RU)])
def test_the_api_answers_400_in_the_error_format(owner, eve, language, text):
    response = _api(eve, language).post("/api/v1/pipelines/", {
        "name": "Eve's", "data_source": owner.data_source.pk,
        "configuration": {"target": {"table": "sales_processing"}}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert text.lower() in " ".join(error["fields"]["configuration"]).lower()
    assert not Pipeline.objects.filter(name="Eve's").exists()


def test_with_the_permission_append_is_allowed_and_replace_or_merge_refused(owner, eve):
    eve = _grant(eve)
    api = _api(eve)
    for mode in ({"write_mode": "replace"}, {"write_mode": "merge", "merge_key": ["id"]}):
        response = api.post("/api/v1/pipelines/", {
            "name": "Eve's", "data_source": owner.data_source.pk,
            "configuration": {"target": {"table": "sales_processing"}, **mode}}, format="json")
        assert response.status_code == 400, response.json()
        assert DELETES in " ".join(response.json()["error"]["fields"]["configuration"])
    response = api.post("/api/v1/pipelines/", {"name": "Eve's", "data_source": owner.data_source.pk,
                                               "configuration": {"target": {"table": "sales_processing"}}},
                        format="json")
    assert response.status_code == 201, response.json()


def test_replace_in_russian(owner, admin_user):
    response = _api(admin_user, "ru").post("/api/v1/pipelines/", {
        "name": "Eve's", "data_source": owner.data_source.pk,
        "configuration": {"target": {"table": "sales_processing"}, "write_mode": "replace"}}, format="json")
    assert response.status_code == 400
    assert "удалит строки, которые конвейер «Sales processing» загружает в sales_processing" in " ".join(
        response.json()["error"]["fields"]["configuration"])


def test_a_deleted_pipeline_no_longer_owns_its_table(owner, eve):
    owner.delete()  # soft: the row stays, deleted
    response = _api(eve).post("/api/v1/pipelines/", {
        "name": "Eve's", "data_source": DataSourceFactory().pk,
        "configuration": {"target": {"table": "sales_processing"}, "write_mode": "replace"}}, format="json")
    assert response.status_code == 201, response.json()


def test_editing_something_else_of_a_shared_pipeline_is_not_refused(owner, eve):
    shared = PipelineFactory(name="Shared", configuration={"target": {"table": "sales_processing"}})
    response = _api(eve).patch(f"/api/v1/pipelines/{shared.pk}/", {"description": "more"}, format="json")
    assert response.status_code == 200, response.json()
    # but it may not take replace
    response = _api(eve).patch(f"/api/v1/pipelines/{shared.pk}/", {
        "configuration": {"target": {"table": "sales_processing"}, "write_mode": "replace"}}, format="json")
    assert response.status_code == 400


def test_the_model_refuses_replace_into_a_shared_table(owner):
    pipeline = PipelineFactory.build(name="Other", data_source=owner.data_source,
                                     configuration={"target": {"table": "sales_processing"}, "write_mode": "replace"})
    with pytest.raises(ValidationError) as refused:
        pipeline.full_clean()
    assert DELETES in " ".join(refused.value.message_dict["configuration"])
    # the benchmark's shape: several pipelines appending into one table
    pipeline.configuration = {"target": {"table": "sales_processing"}}
    pipeline.full_clean()
    assert shared_write_mode_error(pipeline) is None


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_a_run_of_a_pipeline_saved_before_the_rule_fails_before_touching_the_table(tmp_path, settings, clickhouse):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "media" / "uploads" / "sales.csv"
    path.parent.mkdir(parents=True)
    path.write_text("id,amount\n1,2.5\n2,3.5\n")
    source = DataSourceFactory(connection_config={"file_path": str(path)})
    owner = PipelineFactory(name="Sales processing", data_source=source,
                            configuration={"target": {"table": "sales_processing"}})
    run = run_create(pipeline=owner, triggered_by="test")
    assert run_claim(run=run)
    assert run_execute(run=run).status == RunStatus.SUCCESS
    # saved behind the validators' back, as before the rule
    wiper = Pipeline.objects.create(name="Wiper", data_source=source, configuration={
        "target": {"table": "sales_processing"}, "write_mode": "replace"})
    run = run_create(pipeline=wiper, triggered_by="test", execution_context={"load_again": True})
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.FAILED
    assert DELETES in run.error_message
    assert clickhouse.command("SELECT count() FROM sales_processing") == 2


def test_no_pipeline_may_join_a_table_another_replaces(owner):
    Pipeline.objects.filter(pk=owner.pk).update(configuration={"target": {"table": "sales_processing"},
                                                               "write_mode": "replace"})
    pipeline = PipelineFactory.build(name="Other", data_source=owner.data_source,
                                     configuration={"target": {"table": "sales_processing"}})
    with pytest.raises(ValidationError) as refused:
        pipeline.full_clean()
    assert ("\"Sales processing\" loads sales_processing with write_mode \"replace\""
            in " ".join(refused.value.message_dict["configuration"]))


def test_a_clone_loads_its_own_table(owner):
    from pipelines.cloning import pipeline_clone

    Pipeline.objects.filter(pk=owner.pk).update(configuration={"target": {"table": "sales_processing"},
                                                               "write_mode": "replace"})
    clone = pipeline_clone(pipeline=Pipeline.objects.get(pk=owner.pk))
    assert clone.target_table == "sales_processing_copy"
    assert clone.configuration == {"write_mode": "replace"}
    assert shared_write_mode_error(Pipeline.objects.get(pk=owner.pk)) is None
