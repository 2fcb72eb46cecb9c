"""Issue 12: failed logins are limited per username and per client address, on the admin's login page (the
site's login page) and the API's token endpoint (etlsite.login_throttle). Before: 40 wrong passwords were
answered 400 and the 41st, right one, 200."""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

PASSWORD = "right-password-1"
TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.ETL_LOGIN_MAX_FAILURES = 3
    settings.ETL_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.ETL_LOGIN_LOCKOUT_MINUTES = 15


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", password=PASSWORD, is_staff=True)


def _token(client, username, password, address="10.0.0.1", **extra):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json",
                       REMOTE_ADDR=address, **extra)


def _login(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_token_endpoint_locks_a_username_out_even_for_the_right_password(alice, caplog):
    api = APIClient()
    for _ in range(3):
        assert _token(api, "alice", "wrong").status_code == 400
    with caplog.at_level(logging.WARNING, logger="etlsite.login_throttle"):
        response = _token(api, "alice", PASSWORD, address="10.0.0.2")  # another address: the username is locked
    assert response.status_code == 429
    assert 800 < int(response["Retry-After"]) <= 900
    body = response.json()["error"]
    assert body["code"] == "locked_out" and "Try again in 15 minutes" in body["message"]
    assert _token(api, "bob", "wrong", address="10.0.0.2").status_code == 400  # others may still try


def test_the_lockout_is_logged_without_the_password(alice, caplog):
    with caplog.at_level(logging.WARNING, logger="etlsite.login_throttle"):
        for _ in range(3):
            _token(APIClient(), "alice", "s3cret-guess")
    assert "Login lockout" in caplog.text and "alice" in caplog.text and "10.0.0.1" in caplog.text
    assert "s3cret-guess" not in caplog.text


def test_the_message_is_translated_and_the_schema_declares_the_429(alice, api_schema):
    for _ in range(3):
        _token(APIClient(), "alice", "wrong")
    response = _token(APIClient(), "alice", PASSWORD, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 429 and "Повторите попытку через 15 минут" in response.json()["error"]["message"]
    responses = api_schema["paths"][TOKEN_URL]["post"]["responses"]
    assert "Retry-After" in responses["429"]["headers"] and "200" in responses and "400" in responses


@pytest.fixture
def api_schema(db):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", password="x"))
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_a_client_address_is_locked_out_across_usernames(alice):
    api = APIClient()
    for number in range(5):
        assert _token(api, f"user{number}", "wrong", address="10.9.9.9").status_code == 400
    assert _token(api, "alice", PASSWORD, address="10.9.9.9").status_code == 429
    assert _token(api, "alice", PASSWORD, address="10.0.0.7").status_code == 200


def test_success_resets_the_usernames_failures(alice):
    api = APIClient()
    for _ in range(2):
        _token(api, "alice", "wrong")
    assert _token(api, "alice", PASSWORD).status_code == 200
    for _ in range(2):
        assert _token(api, "alice", "wrong", address="10.0.0.3").status_code == 400
    assert _token(api, "alice", PASSWORD, address="10.0.0.4").status_code == 200  # 2 + 2 failures, no lockout


def test_the_admin_login_page_locks_out_and_says_so(alice):
    client = Client()
    for _ in range(3):
        response = _login(client, "alice", "wrong")
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 200  # the form again, not the redirect of a login
    assert "Too many failed login attempts. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_login_page_message_in_russian(alice):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    for _ in range(3):
        _login(client, "alice", "wrong")
    assert "Повторите попытку через 15 минут" in _login(client, "alice", PASSWORD).content.decode()


def test_failures_on_one_entrance_count_on_the_other(alice):
    for _ in range(3):
        _login(Client(), "alice", "wrong")
    assert _token(APIClient(), "alice", PASSWORD).status_code == 429


def test_a_login_clears_the_failures(alice):
    client = Client()
    for _ in range(2):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", PASSWORD).status_code == 302
    for _ in range(2):
        _login(Client(), "alice", "wrong", address="10.0.0.5")
    assert _login(Client(), "alice", PASSWORD, address="10.0.0.6").status_code == 302
