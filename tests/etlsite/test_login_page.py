"""The login page and the header (issue 16): the favicon answers, the header's language links work without a
script, and every page names itself with an icon."""

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.django_db
def test_favicon_ico_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert "/static/site/favicon" in response["Location"] and response["Location"].endswith(".ico")
    icon = finders.find("site/favicon.ico")
    assert icon and open(icon, "rb").read(4) == b"\x00\x00\x01\x00"  # an ICO file's header


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/upload/"])
def test_pages_link_their_icon(admin_client, client, path):
    page = (client if path == "/admin/login/" else admin_client).get(path)
    assert page.status_code == 200
    assert 'rel="icon"' in page.text and "site/favicon" in page.text


@pytest.mark.django_db
def test_the_site_header_has_no_form_but_the_logout(admin_client):
    text = admin_client.get("/upload/", HTTP_ACCEPT_LANGUAGE="ru").text
    header = text[text.index('<header class="site-header">'):text.index("</header>")]
    assert header.count("<form") == 1 and 'action="/admin/logout/"' in header
    assert 'href="/language/en/?next=/upload/"' in header
    # the rarer pages under "More", still one click away without a script
    assert '<details class="nav-more">' in header and 'href="/catalog/"' in header
