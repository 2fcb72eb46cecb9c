"""One error format for every failure: validation, 401/403/404/405/409/429, unexpected exceptions (logged,
never a traceback in the response); messages in the request's language."""

import logging

import pytest

from tests.api.conftest import error_of
from tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_not_found_and_method_not_allowed(api):
    response = api.get("/api/v1/sources/999999/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = api.get("/api/v1/no-such-resource/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "not_found"
    response = api.put("/api/v1/files/1/", {}, format="json")
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_malformed_json_is_a_400_in_the_format(api):
    response = api.generic("POST", "/api/v1/sources/", "{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "parse_error"


def test_an_unexpected_exception_is_logged_and_answered_without_a_traceback(api, monkeypatch, caplog):
    run = PipelineRunFactory(status="running")

    def broken(**kwargs):
        raise RuntimeError("secret internals of the failure")

    monkeypatch.setattr("api.views.metadata.run_cancel", broken)
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = api.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "secret internals" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert any("secret internals" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_messages_follow_accept_language(anonymous_api, api):
    response = anonymous_api.get("/api/v1/sources/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 401
    assert "Учетные данные" in error_of(response)["message"]
    response = api.post("/api/v1/sources/", {}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert "Обязательное поле." in fields["name"]
    response = api.post("/api/v1/sources/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "This field is required." in error_of(response)["fields"]["name"]


def test_an_unreachable_clickhouse_is_a_503_in_the_format(api, settings):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "HOST": "127.0.0.1", "PORT": 9,
                                  "USER": "default", "PASSWORD": "", "SECURE": False, "COMPRESS": False,
                                  "CONNECT_TIMEOUT": 2, "SEND_RECEIVE_TIMEOUT": 5}
    response = api.get("/api/v1/quality-metrics/")
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "service_unavailable" and "analytics database" in error["message"]
