"""The typed pipeline configuration (pipelines.config): parsed once, the same messages on every form."""

import pytest
from django.core.exceptions import ValidationError

from pipelines.config import FIELD, SCHEMA_POLICIES, PipelineConfig, configuration_errors
from tests.factories import SPEC_PIPELINE_CONFIGURATION, PipelineFactory


def test_a_valid_configuration_parses_without_errors_into_its_typed_parts():
    data = {**SPEC_PIPELINE_CONFIGURATION, "target": {"table": "sales"}, "schema_policy": "freeze",
            "parallelism": {"parts": 4}, "write_mode": "merge", "merge_key": ["product_id"],
            "column_mapping": {"sum": "amount"}}
    config, errors = PipelineConfig.parse(data)
    assert errors == {}
    assert (config.target_table, config.schema_policy, config.parts, config.write_mode, config.merge_key) == (
        "sales", "freeze", 4, "merge", ("product_id",))
    assert config.validation_rules == SPEC_PIPELINE_CONFIGURATION["validation_rules"]
    assert config.transformations == SPEC_PIPELINE_CONFIGURATION["transformations"]
    assert config.column_mapping == {"sum": "amount"} and config.raw is data


def test_every_problem_is_a_field_error_of_the_configuration_in_reading_order():
    data = {"validation_rules": {"data_types": {"amount": "money"}}, "schema_policy": "ignore",
            "parallelism": {"parts": 0}}
    config, errors = PipelineConfig.parse(data)
    assert list(errors) == [FIELD] and errors[FIELD] == configuration_errors(data)
    assert [e.split(":")[0].split(" ")[0] for e in errors[FIELD]] == [
        "validation_rules.data_types.amount", "schema_policy", "parallelism.parts"]
    assert config.schema_policy == "ignore" and config.parts == 1  # read as written; judged by the errors


@pytest.mark.parametrize("data", [None, [], "x", {"validation_rules": [], "transformations": {},
                                                  "target": "t", "column_mapping": [1]}])
def test_a_configuration_of_the_wrong_shape_reads_as_the_defaults(data):
    config = PipelineConfig.read(data)
    assert (config.validation_rules, config.transformations, config.target_table, config.schema_policy,
            config.parts, config.write_mode, config.merge_key, config.column_mapping) == (
        {}, [], None, "evolve", 1, "append", (), {})


@pytest.mark.parametrize(("parallelism", "parts"), [(None, 1), ({}, 1), ({"parts": 1}, 1), ({"parts": 3}, 3),
                                                     ({"parts": True}, 1), ({"parts": "4"}, 1), ({"parts": -2}, 1),
                                                     ([4], 1)])
def test_the_parts_a_run_reads_are_more_than_one_only_when_a_number_says_so(parallelism, parts):
    data = {} if parallelism is None else {"parallelism": parallelism}
    assert PipelineConfig.read(data).parts == parts


def test_the_schema_policy_is_judged_against_the_policies_drift_applies():
    assert SCHEMA_POLICIES == ("evolve", "freeze", "quarantine", "approve")
    assert not configuration_errors({"schema_policy": "approve"})


def test_what_a_run_reads_besides_the_typed_fields_comes_from_the_same_object():
    data = {"validation_rules": {"required_columns": ["id"]}, "null_values": ["-"],
            "references": {"products": {"file_path": "p.csv"}}, "business_metrics": [{"name": "n"}],
            "inferred": {"data_types": {"id": "integer"}}}
    config = PipelineConfig.read(data)
    assert config.rules.required_columns == ("id",) and config.null_values == ("-",)
    assert config.references == data["references"] and config.business_metrics == data["business_metrics"]
    assert config.contract.data_types == {"id": "integer"}
    empty = PipelineConfig.read({})
    assert (empty.references, empty.business_metrics, empty.contract) == ({}, [], None)
    with pytest.raises(ValueError):  # rules of the wrong shape fail the run that reads them, not the read
        _ = PipelineConfig.read({"validation_rules": {"min": "x"}}).rules


@pytest.mark.django_db
def test_the_model_validator_reports_the_parse_errors_on_the_configuration_field():
    data = {"transformations": [7], "write_mode": "upsert"}
    pipeline = PipelineFactory.build(configuration=data)
    with pytest.raises(ValidationError) as raised:
        pipeline.full_clean(exclude=["data_source"])
    assert raised.value.message_dict[FIELD] == PipelineConfig.parse(data)[1][FIELD]
    assert len(raised.value.message_dict[FIELD]) == 2
    assert pipeline.config.write_mode == "upsert"
