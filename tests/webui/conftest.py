import csv

import pytest
from django.contrib.auth.models import Permission

from tests.factories import DataSourceFactory, PipelineFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sales_csv(tmp_path):
    """A small sales file: row 2 has an amount that is not a number, row 3 a date that is not a date."""
    path = tmp_path / "sales.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "amount", "product_id", "email"])
        writer.writerows([["2024-01-02", "10.5", "1", "ann@example.com"],
                          ["2024-01-03", "lots", "2", "bob@example.com"],
                          ["yesterday", "7", "3", None], ["2024-01-05", "3.25", "4", "cy@example.com"]])
    return path


@pytest.fixture
def file_pipeline(sales_csv):
    source = DataSourceFactory(name="Uploads", source_type="file", connection_config={"file_path": str(sales_csv)})
    config = {"validation_rules": {"required_columns": ["date", "amount", "product_id"],
                                   "data_types": {"date": "date", "amount": "float", "product_id": "integer"}},
              "transformations": ["clean_duplicates"]}
    return PipelineFactory(name="Upload sales", data_source=source, configuration=config)


def user_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, password="pw-12345678")
    for codename in codenames:
        app_label, code = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=code))
    return django_user_model.objects.get(pk=user.pk)  # fresh: permissions are cached per instance


UPLOADER = ("pipelines.view_pipeline", "pipelines.change_pipeline", "pipelines.add_pipelinerun",
            "pipelines.view_pipelinerun", "staging.add_filemetadata", "staging.view_filemetadata",
            "staging.view_quarantinedrow", "staging.change_quarantinedrow")


@pytest.fixture
def uploader(django_user_model, client):
    """A staff member who may upload and run, but not see sensitive values."""
    user = user_with(django_user_model, "uploader", *UPLOADER)
    client.force_login(user)
    return user
