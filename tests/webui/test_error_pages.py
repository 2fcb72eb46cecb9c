"""A page a user may not open, or that does not exist, answers in the site's frame and the viewer's language
(the trial saw Django's bare English "403 Forbidden" on a Russian session); the API keeps its JSON."""

import pytest

from tests.webui.conftest import user_with

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


@pytest.mark.parametrize(("language", "heading", "text"), [
    ("en", "Access denied", "Ask an administrator for the permission it needs."),
    ("ru", "Доступ запрещён", "Попросите администратора выдать нужное право."),
])
def test_a_page_the_user_may_not_open_says_so_in_their_language(client, django_user_model, language, heading,
                                                               text):
    client.force_login(user_with(django_user_model, "nobody"))
    response = client.get("/quarantine/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page and text in page and 'class="site-header"' in page


@pytest.mark.parametrize(("language", "heading"), [("en", "Page not found"), ("ru", "Страница не найдена")])
def test_a_missing_page_says_so_in_their_language(admin_client, settings, language, heading):
    settings.DEBUG = False
    response = admin_client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_the_api_still_answers_json(admin_client):
    response = admin_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
