"""The OpenAPI schema and the interactive docs are served to logged-in users, the docs from this app's own
static files."""

import pytest

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_schema_lists_every_resource_with_the_error_format(admin_client):
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/sources/", "/api/v1/pipelines/{id}/restore/", "/api/v1/runs/{id}/cancel/",
                 "/api/v1/runs/{id}/rerun/", "/api/v1/files/", "/api/v1/staging-tables/{id}/rows/",
                 "/api/v1/quality-metrics/", "/api/v1/catalog/{entry_id}/", "/api/v1/audit-log/"):
        assert path in schema["paths"], path
    assert "Error" in schema["components"]["schemas"]
    responses = schema["paths"]["/api/v1/sources/"]["post"]["responses"]
    assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_use_local_assets_only(admin_client, url):
    html = admin_client.get(url).content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_schema_and_docs_need_a_login(client, url):
    assert client.get(url).status_code == 401
