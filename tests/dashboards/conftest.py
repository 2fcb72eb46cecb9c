"""Fixtures of the dashboards' tests: users with and without the pages' permissions, and a real demo run."""

import pytest
from django.contrib.auth.models import Permission

from pipelines.demo import demo_load
from pipelines.engine.runner import run_execute
from pipelines.services import run_claim, run_create


def _user(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-1234567")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(django_user_model):
    """May read the dashboards, the lineage and the catalog, but not edit the catalog."""
    return _user(django_user_model, "viewer", "view_pipelinerun", "view_catalogentry")


@pytest.fixture
def editor(django_user_model):
    return _user(django_user_model, "editor", "view_pipelinerun", "view_catalogentry", "change_catalogentry")


@pytest.fixture
def nobody(django_user_model):
    """Logged in, without any permission."""
    return _user(django_user_model, "nobody")


@pytest.fixture
def demo_run(clickhouse, tmp_path, settings):
    """The demo pipeline run for real on 400 generated sales lines: quality metrics, business metrics,
    lineage and catalog entries as a production run writes them."""
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=400)
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    return run
