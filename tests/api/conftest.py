"""API test fixtures: users with exactly the permissions a test is about, and clients for them.

* `superuser`: everything; `editor`: view/add/change/delete on the metadata and staging models;
  `viewer`: view permissions only. Clients authenticate with a DRF token (`Authorization: Token ...`).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

MODELS = {
    "sources": ["datasource"],
    "pipelines": ["pipeline", "pipelinerun", "analysisresult"],
    "staging": ["filemetadata", "stagingtable", "processinglog", "quarantinedrow"],
    "dashboards": ["catalogentry"],  # only view and change exist
}
USER_AGENT = "api-tests/1.0"


def _permissions(actions: tuple[str, ...]) -> list[Permission]:
    perms = []
    for app, models in MODELS.items():
        for model in models:
            for verb in actions:
                perms += Permission.objects.filter(content_type__app_label=app, codename=f"{verb}_{model}")
    return perms


def make_user(username: str, *, actions: tuple[str, ...] = (), superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="x", is_superuser=superuser, is_staff=superuser)
    if actions:
        user.user_permissions.set(_permissions(actions))
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient(HTTP_USER_AGENT=USER_AGENT)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def editor(db):
    return make_user("editor", actions=("view", "add", "change", "delete"))


@pytest.fixture
def viewer(db):
    return make_user("viewer", actions=("view",))


@pytest.fixture
def api(superuser):
    return client_for(superuser)


@pytest.fixture
def editor_api(editor):
    return client_for(editor)


@pytest.fixture
def viewer_api(viewer):
    return client_for(viewer)


@pytest.fixture
def anonymous_api():
    return APIClient()


def error_of(response) -> dict:
    """The error body; fails unless the response has the API's one error format."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"], body
    return body["error"]
