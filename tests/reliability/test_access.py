"""Access: every URL of the site (Django's resolver walked: pages, admin, API, schema) needs a login, except
the login pages, the health check and the language switch; every state-changing request needs a CSRF token.

Anonymous requests end at the admin's login page (pages, admin) or get 401/403 (API, the upload page's JSON
endpoints). With enforce_csrf_checks a logged-in superuser's POST without a token is refused on every URL,
and the same POST with the token goes through (the control that shows the check can fail).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PipelineRunFactory
from tests.reliability.urlwalk import routes

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

# What anonymous visitors may reach, by URL name: logging in (pages, API token), the load balancer's health
# check, the language switch (a form and links), the favicon. Static files are served by WhiteNoise's
# middleware, outside the resolver.
PUBLIC = {"health", "set_language", "switch_language", "favicon", "admin:login", "api:token"}
LOGIN = "/admin/login/"


def _refused_anonymously(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 405:
        return True  # a method the URL never accepts: nothing answered (the other method's run checks the login)
    if response.status_code == 302:
        location = response["Location"]
        # The admin's logout (and its index) first send an anonymous visitor to the index, which sends on to
        # the login page: both are "log in first".
        return location.startswith(LOGIN) or location in ("/admin/", reverse("admin:index"))
    return False


def test_the_walk_covers_pages_admin_and_api():
    names = {route.name for route in routes()}
    for expected in ("webui:upload", "webui:upload-run", "dashboards:quality", "admin:index",
                     "admin:sources_datasource_change", "api:run-cancel", "api:file-list", "api-schema",
                     "api-docs", "health"):
        assert expected in names, expected
    assert len(routes()) > 150


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_the_login_everywhere_but_the_public_urls(client, method):
    PipelineRunFactory()  # an object with id 1 or so: a detail URL must not answer before the login check
    refused, public = [], []
    for route in routes():
        response = getattr(client, method)(route.path)
        if route.name in PUBLIC:
            public.append(route.name)
            continue
        if not _refused_anonymously(response):
            refused.append((method, route.path, response.status_code, response.get("Location")))
    assert not refused, refused
    assert set(public) == PUBLIC


def test_the_public_urls_answer_anonymously(client):
    assert client.get(reverse("admin:login")).status_code == 200
    assert client.post(reverse("set_language"), {"language": "ru", "next": "/"}).status_code == 302
    assert client.get(reverse("switch_language", args=["ru"])).status_code == 302
    assert client.get(reverse("favicon")).status_code == 302
    assert client.post(reverse("api:token"), {"username": "nobody", "password": "x"}).status_code == 400


def _csrf_refused(response) -> bool:
    # The user is a superuser, so a 403 is the CSRF check; every answer names it (the API's JSON, Django's CSRF
    # page, and the site's 403 page that the docs pages render with DRF's error).
    return response.status_code == 403 and b"CSRF" in response.content


def test_every_post_without_a_csrf_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    PipelineRunFactory()
    accepted = []
    for route in routes():
        if route.name == "api:token":
            continue  # the token endpoint authenticates by the posted password alone; see the next test
        for method in ("post", "put", "delete"):
            response = getattr(client, method)(route.path, data=b"", content_type="application/json")
            if response.status_code != 405 and not _csrf_refused(response):
                accepted.append((method, route.path, response.status_code))
    assert not accepted, accepted


def test_the_token_endpoint_ignores_the_session_and_a_form_with_the_token_goes_through(admin_user):
    client = Client(enforce_csrf_checks=True)
    # Anonymous: no session, no cookie a forged request could ride on; a wrong password is just refused.
    assert client.post(reverse("api:token"), {"username": admin_user.username, "password": "wrong"}).status_code == 400
    client.force_login(admin_user)
    client.get(reverse("webui:upload"))  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("set_language"), {"language": "ru", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    response = client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    assert _csrf_refused(response)
