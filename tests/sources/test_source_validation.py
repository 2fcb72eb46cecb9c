import pytest
from django.core.exceptions import ValidationError

from sources.models import DataSource


@pytest.mark.django_db
def test_file_source_configuration_is_checked_by_its_connector():
    source = DataSource(name="x", source_type="file", connection_config={"delimeter": ","})
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    messages = " ".join(caught.value.message_dict["connection_config"])
    assert "file_path" in messages and "delimeter" in messages


def test_the_specifications_example_source_is_valid():
    DataSource(name="Sales CSV file", description="Monthly sales data in CSV format", source_type="file",
               connection_config={"file_path": "/data/sales_2024.csv", "delimiter": ",", "encoding": "utf-8"},
               ).full_clean(validate_unique=False, validate_constraints=False)
