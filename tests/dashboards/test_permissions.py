"""Every page needs a login (the admin's login page) and its permission; editing the catalog needs change."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/dashboards/quality/", "/dashboards/business/", "/dashboards/runs/", "/dashboards/health/", "/lineage/",
         "/catalog/", "/catalog/entry.json?table=t"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_users_are_sent_to_the_admin_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_users_without_the_permission_are_refused(client, nobody, url):
    client.force_login(nobody)
    assert client.get(url).status_code == 403


def test_editing_the_catalog_needs_the_change_permission(client, viewer):
    client.force_login(viewer)
    response = client.post("/catalog/edit/", {"table_name": "t", "column_name": "c", "sensitivity_level": "public"})
    assert response.status_code == 403


def test_the_edit_form_needs_csrf(viewer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    assert client.post("/catalog/edit/", {}).status_code == 403
