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
