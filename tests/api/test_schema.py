"""The OpenAPI schema and the interactive docs are served to logged-in users, the docs from this app's own
static files."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

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


# An address on another host: http(s)://, or protocol-relative //host in a src/href.
OTHER_HOST = re.compile(r"""(?:https?:)?//(?!testserver[/:"'])[a-z0-9.-]+\.[a-z]{2,}[/:"'?]""", re.I)
SRC = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_use_local_assets_only(admin_client, url):
    """Issue 12: Redoc loaded Google Fonts (its template) and Redocly's logo (its bundle) from other hosts."""
    response = admin_client.get(url)
    html = response.content.decode()
    assert not OTHER_HOST.findall(html), OTHER_HOST.findall(html)
    assets = [src for src in SRC.findall(html)]
    assert assets and all(src.startswith("/") and not src.startswith("//") for src in assets), assets
    if url == "/api/docs/":
        assets.append("/api/docs/?script=")  # Swagger UI's initialising script (the split view)
    for asset in assets:
        if asset.endswith((".js", ".css")) or "script" in asset:
            if asset.startswith("/static/"):  # served by WhiteNoise after collectstatic: read where it is found
                text = Path(finders.find(asset.removeprefix("/static/").split("?")[0])).read_text(errors="replace")
            else:
                text = admin_client.get(asset).content.decode("utf-8", "replace")
            assert "cdn.redoc.ly" not in text and "fonts.googleapis" not in text, asset
            assert "validator.swagger.io" not in text or "validatorUrl" in text, asset
    # and were anything to try, the policy allows this site (and data:/blob: URLs) only
    policy = response["Content-Security-Policy"]
    assert not OTHER_HOST.findall(policy) and "*" not in policy and "https:" not in policy
    assert "default-src 'self'" in policy and "object-src 'none'" in policy


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_schema_and_docs_need_a_login(client, url):
    assert client.get(url).status_code == 401
