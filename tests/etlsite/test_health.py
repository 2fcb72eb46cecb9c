import pytest


@pytest.mark.django_db(databases=["default", "staging"])
def test_health_reports_every_database(client, clickhouse):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok",
                               "checks": {"default": "ok", "staging": "ok", "clickhouse": "ok"}}


@pytest.mark.django_db(databases=["default", "staging"])
def test_health_names_the_database_that_is_down_without_details(client, clickhouse, settings):
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": "missing_db"}
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["clickhouse"] == "unavailable"
    assert "missing_db" not in response.content.decode()


@pytest.mark.django_db
def test_root_sends_anonymous_people_to_the_admin_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
