"""configuration_errors on the new validation_rules keys and on transformation steps and their params."""

import pytest

from pipelines.demo import PIPELINE_CONFIGURATION
from pipelines.transformations import validate_params
from pipelines.validators import configuration_errors


def rules_errors(**validation_rules):
    return configuration_errors({"validation_rules": validation_rules})


def step_errors(name, params):
    return configuration_errors({"transformations": [{"name": name, "params": params}]})


def test_a_configuration_using_every_key_is_valid():
    config = {
        **PIPELINE_CONFIGURATION,
        "validation_rules": {
            **PIPELINE_CONFIGURATION["validation_rules"],
            "not_null": ["channel"], "unique": [["order_id"], ["order_id", "date"]], "min": {"amount": 0},
            "max": {"amount": 1e6}, "allowed_values": {"channel": ["online", "store"]},
            "regex": {"channel": "[a-z]+"}, "max_failed_ratio": 0.05, "date_formats": ["%Y-%m-%d", "%d.%m.%Y"],
            "decimal_separator": ",", "true_values": ["да"], "false_values": ["нет"],
        },
        "transformations": [
            "clean_duplicates", {"name": "validate_amounts", "params": {"min": 1, "allow_zero": True}},
            {"name": "enrich_product_data", "params": {"reference": {"file_path": "/data/products.csv"},
                                                       "columns": ["product_name"], "prefix": "p_",
                                                       "data_types": {"list_price": "float"}}},
            {"name": "rename", "params": {"mapping": {"channel": "sales_channel"}}},
            {"name": "cast", "params": {"columns": {"quantity": "integer"}}},
            "trim", {"name": "filter", "params": {"column": "quantity", "op": "in", "value": [1, 2]}},
            {"name": "filter", "params": {"column": "channel", "op": "not_null"}},
            {"name": "derive", "params": {"column": "unit_price", "expression": "round(amount / quantity, 2)"}},
            {"name": "fill_nulls", "params": {"values": {"channel": "unknown"}}},
            {"name": "drop_columns", "params": {"columns": ["quantity"]}},
        ],
    }
    assert configuration_errors(config) == []


@pytest.mark.parametrize("validation_rules,message", [
    ({"not_nul": ["a"]}, "validation_rules.not_nul: unknown rule; known rules: required_columns, data_types"),
    ({"required_columns": ["Amount"]}, 'validation_rules.required_columns[0]: "Amount" is not a column name'),
    ({"data_types": {"Date": "date"}}, 'validation_rules.data_types: "Date" is not a column name'),
    ({"not_null": "amount"}, "validation_rules.not_null must be a non-empty list of column names."),
    ({"not_null": []}, "validation_rules.not_null must be a non-empty list of column names."),
    ({"unique": "order_id"}, "validation_rules.unique must be a list of column names (one key) or a list"),
    ({"unique": [["a"], []]}, "validation_rules.unique[1] must be a non-empty list of column names."),
    ({"unique": [["a"], ["B"]]}, 'validation_rules.unique[1][0]: "B" is not a column name'),
    ({"min": [0]}, "validation_rules.min must map column names to values."),
    ({"min": {"amount": "0"}}, "validation_rules.min.amount must be a number, got '0'."),
    ({"max": {"amount": True}}, "validation_rules.max.amount must be a number, got True."),
    ({"min": {"amount": 5}, "max": {"amount": 1}},
     "validation_rules: min of amount (5) is greater than its max (1)."),
    ({"data_types": {"day": "date"}, "min": {"day": 1}},
     "validation_rules.min.day: the column is declared as date; its bound is a date written as YYYY-MM-DD"),
    ({"data_types": {"day": "date"}, "min": {"day": "2024-13-01"}},
     "validation_rules.min.day: the column is declared as date; its bound is a date written as YYYY-MM-DD"),
    ({"data_types": {"day": "date"}, "min": {"day": "2024-02-01"}, "max": {"day": "2024-01-01"}},
     "validation_rules: min of day (2024-02-01) is greater than its max (2024-01-01)."),
    ({"data_types": {"code": "string"}, "min": {"code": 1}},
     "validation_rules.min.code: the column is declared as string; min and max apply to numbers"),
    ({"allowed_values": {"channel": []}}, "validation_rules.allowed_values.channel must be a non-empty list"),
    ({"allowed_values": {"channel": [{"a": 1}]}}, "validation_rules.allowed_values.channel must be a non-empty"),
    ({"regex": {"code": "[a-"}}, "validation_rules.regex.code: invalid regular expression:"),
    # Python's re takes a look-ahead, RE2 (what the rules run on) does not
    ({"regex": {"code": "(?=a)b"}}, "validation_rules.regex.code: invalid regular expression: invalid perl operator"),
    ({"regex": {"code": ""}}, "validation_rules.regex.code must be a regular expression string."),
    ({"max_failed_ratio": 1.5}, "validation_rules.max_failed_ratio must be a number from 0 to 1"),
    ({"max_failed_ratio": "5%"}, "validation_rules.max_failed_ratio must be a number from 0 to 1"),
    ({"date_formats": []}, "validation_rules.date_formats must be a non-empty list of strptime formats"),
    ({"date_formats": ["dd.mm.yyyy"]}, "validation_rules.date_formats[0]: expected a strptime format such as"),
    ({"decimal_separator": ";"}, "validation_rules.decimal_separator must be \".\" or \",\", got ';'."),
    ({"true_values": []}, "validation_rules.true_values must be a non-empty list of words."),
    ({"true_values": ["yes", "no"]}, "validation_rules: no cannot be both a true and a false value."),
])
def test_validation_rules_errors(validation_rules, message):
    errors = rules_errors(**validation_rules)
    assert any(message in e for e in errors), errors


def test_unknown_step_names_the_available_ones():
    errors = configuration_errors({"transformations": ["clean_duplicates", "trim", "foo"]})
    assert errors == ['transformations[2]: unknown step "foo"; available: cast, clean_duplicates, derive, '
                      'drop_columns, enrich_product_data, fill_nulls, filter, rename, trim, validate_amounts.']


@pytest.mark.parametrize("name,params,message", [
    ("clean_duplicates", {"columns": []}, 'parameter "columns" must be a non-empty list of column names.'),
    ("clean_duplicates", {"columns": ["Order"]}, 'parameter "columns": "Order" is not a column name'),
    ("clean_duplicates", {"colums": ["a"]}, 'unknown parameter "colums"; expected: columns.'),
    ("validate_amounts", {"min": "0"}, "parameter \"min\": expected a number, got '0'."),
    ("validate_amounts", {"allow_zero": "yes"}, "parameter \"allow_zero\": expected true or false, got 'yes'."),
    ("validate_amounts", {"column": ""}, 'parameter "column": expected a column name.'),
    ("enrich_product_data", {"reference": 5}, 'parameter "reference": expected a reference name or a'),
    ("enrich_product_data", {"reference": {"path": "x"}}, 'parameter "reference" needs "file_path" or "source".'),
    ("enrich_product_data", {"data_types": {"price": "money"}}, 'data_types.price: unknown type "money"'),
    ("enrich_product_data", {"prefix": "P-"}, 'parameter "prefix": "P-" must be lower-case letters'),
    ("rename", {}, 'parameter "mapping" is required.'),
    ("rename", {"mapping": {"a": "B"}}, 'mapping.a: "B" is not a column name'),
    ("rename", {"a": "c", "b": "c"}, "mapping: more than one column would be named c."),
    ("rename", {"_row_number": "n"}, "_row_number is the system column and cannot be renamed."),
    ("cast", {"columns": {"qty": "int"}}, 'columns.qty: unknown type "int"; use one of date, datetime'),
    ("cast", {"columns": []}, "parameter \"columns\": expected a non-empty JSON object, got []."),
    ("cast", {"columns": {"_row_number": "string"}}, "_row_number is the system column and cannot be cast."),
    ("trim", {"columns": "name"}, 'parameter "columns" must be a non-empty list of column names.'),
    ("filter", {"op": "=="}, 'parameter "column" is required.'),
    ("filter", {"column": "a", "op": "~"}, 'parameter "op": unknown operator "~"; use one of ==, !=, <, <='),
    ("filter", {"column": "a", "op": "=="}, 'parameter "value" must be a string, a number or true/false for ==.'),
    ("filter", {"column": "a", "op": "in", "value": 1}, 'parameter "value" must be a non-empty list of values'),
    ("filter", {"column": "a", "op": "is_null", "value": 1}, 'parameter "value" is not used with is_null.'),
    ("derive", {"column": "x"}, 'parameter "expression" is required.'),
    ("derive", {"column": "x", "expression": "a +"}, 'parameter "expression": the expression ends too early.'),
    ("derive", {"column": "x", "expression": "eval(a)"}, 'parameter "expression": unknown function "eval"'),
    ("derive", {"column": "_row_number", "expression": "1"}, "_row_number is the system column and cannot be"),
    ("derive", {"column": "x", "expression": "  "}, 'parameter "expression": expected a non-empty expression'),
    ("fill_nulls", {"values": {"a": None}}, "values.a must be a string, a number or true/false."),
    ("fill_nulls", {"values": {"A": 1}}, 'values: "A" is not a column name'),
    ("drop_columns", {"columns": ["_row_number"]}, "_row_number is the system column and cannot be dropped."),
    ("drop_columns", {}, 'parameter "columns" is required.'),
])
def test_every_param_error(name, params, message):
    assert any(message in e for e in validate_params(name, params)), validate_params(name, params)
    errors = step_errors(name, params)
    assert any(e.startswith(f"transformations[0] ({name}): ") and message in e for e in errors), errors


def test_params_must_be_an_object():
    assert validate_params("rename", [1]) == ["params must be a JSON object."]
    assert validate_params("nope", {}) == [
        'unknown step "nope"; available: cast, clean_duplicates, derive, drop_columns, enrich_product_data, '
        "fill_nulls, filter, rename, trim, validate_amounts."]


def test_bare_names_use_the_defaults():
    for name in ("clean_duplicates", "validate_amounts", "enrich_product_data", "trim"):
        assert validate_params(name, {}) == []
    for name in ("rename", "cast", "filter", "derive", "fill_nulls", "drop_columns"):
        assert validate_params(name, {}), name
