import pytest
from django.core.exceptions import ValidationError

from pipelines.demo import PIPELINE_CONFIGURATION
from pipelines.validators import configuration_errors, validate_cron, validate_tags


def test_the_specifications_example_configuration_is_valid():
    assert configuration_errors(PIPELINE_CONFIGURATION) == []


@pytest.mark.parametrize("config,fragment", [
    ([], "must be a JSON object"),
    ({"validation_rules": []}, "validation_rules must be a JSON object"),
    ({"validation_rules": {"required_columns": "date"}}, "required_columns must be a list"),
    ({"validation_rules": {"data_types": {"amount": "money"}}}, 'data_types.amount: unknown type "money"'),
    ({"transformations": "clean_duplicates"}, "transformations must be a list"),
    ({"transformations": ["ok", 3]}, "transformations[1]"),
    ({"transformations": [{"name": "rename", "params": []}]}, "transformations[0]"),
])
def test_configuration_errors_name_the_place(config, fragment):
    errors = configuration_errors(config)
    assert any(fragment in e for e in errors), errors


def test_step_objects_with_params_are_accepted():
    assert configuration_errors({"transformations": [{"name": "rename", "params": {"a": "b"}}, "trim"]}) == []


@pytest.mark.parametrize("value", ["", "0 2 * * *", "*/15 * * * *", "0 0 1 1-6 mon-fri", "30 4 1,15 * *"])
def test_valid_cron(value):
    validate_cron(value)


@pytest.mark.parametrize("value,fragment", [
    ("0 2 * *", "five fields"),
    ("61 2 * * *", "Invalid cron schedule"),
    ("0 25 * * *", "Invalid cron schedule"),
    ("every day", "five fields"),
])
def test_invalid_cron_says_why(value, fragment):
    with pytest.raises(ValidationError) as caught:
        validate_cron(value)
    assert fragment in caught.value.messages[0]


def test_tags():
    validate_tags(["sales", "monthly"])
    for bad in ("sales", [1], [""], {"a": 1}):
        with pytest.raises(ValidationError):
            validate_tags(bad)


@pytest.mark.parametrize("config,fragment", [
    ({"business_metrics": [{"name": "revenue", "aggregation": "median", "column": "amount"}]}, "aggregation"),
    ({"business_metrics": {}}, "business_metrics must be a list"),
    ({"schema_policy": "drop"}, "schema_policy must be one of"),
    ({"quality": {"checks": [{"metric": "null_rate", "column": "amount", "mostly": 0.9, "max": 0.1}]}}, "mostly"),
])
def test_analysis_keys_are_checked(config, fragment):
    assert any(fragment in e for e in configuration_errors(config)), configuration_errors(config)


def test_the_demo_configuration_with_business_metrics_is_valid():
    from analytics.business import DEMO_BUSINESS_METRICS

    assert configuration_errors({**PIPELINE_CONFIGURATION, "business_metrics": DEMO_BUSINESS_METRICS,
                                 "references": {"products": {"source": "Product reference"}}}) == []
