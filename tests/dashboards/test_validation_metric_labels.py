"""A validation outcome's metric ("validation_<rule>") is named and shown in the viewer's language: the trial
saw "Validation data types" on a Russian run page."""

import pytest
from django.utils import translation

from dashboards.metrics_text import metric_label, metric_value


@pytest.mark.parametrize(("language", "label", "value"), [
    ("en", "Check: data types", "96.5\u00a0%"),
    ("ru", "Проверка: типы данных", "96,5\u00a0%"),
])
def test_a_validation_outcome_is_a_named_share(language, label, value):
    with translation.override(language):
        assert metric_label("validation_data_types") == label
        assert metric_value("validation_data_types", 0.965) == value


def test_an_unknown_rule_is_still_readable():
    with translation.override("en"):
        assert metric_label("validation_some_new_rule") == "Validation some new rule"
