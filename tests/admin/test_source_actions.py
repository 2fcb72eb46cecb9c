import pytest
from django.urls import reverse

from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def test_test_connection_reports_each_source(admin_client, tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("a,b\n1,2\n", encoding="utf-8")
    ok = DataSourceFactory(name="ok", source_type="file", connection_config={"file_path": str(good)})
    missing = DataSourceFactory(name="missing", source_type="file",
                                connection_config={"file_path": str(tmp_path / "nope.csv")})
    response = admin_client.post(reverse("admin:sources_datasource_changelist"),
                                 {"action": "test_connection", "_selected_action": [ok.pk, missing.pk]},
                                 follow=True)
    assert response.status_code == 200
    texts = {m.message: m.level_tag for m in response.context["messages"]}
    assert any(t.startswith("ok: ") and level == "success" for t, level in texts.items())
    assert any(t.startswith("missing: ") and "nope.csv" in t and level == "error" for t, level in texts.items())


def test_viewers_may_not_test_a_connection(client, django_user_model, tmp_path):
    """Issue 12: a viewer could make the server reach the network through "Test connection"."""
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_datasource"))
    client.force_login(viewer)
    source = DataSourceFactory(name="api", source_type="api", connection_config={"url": "http://192.0.2.1/x"})
    changelist = reverse("admin:sources_datasource_changelist")
    assert "test_connection" not in client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "test_connection", "_selected_action": [source.pk]}, follow=True)
    texts = [m.message for m in response.context["messages"]]
    assert not any(t.startswith("api: ") for t in texts), texts  # the check never ran

    viewer.user_permissions.add(Permission.objects.get(codename="change_datasource"))
    client.force_login(django_user_model.objects.get(pk=viewer.pk))
    assert "test_connection" in client.get(changelist).content.decode()
