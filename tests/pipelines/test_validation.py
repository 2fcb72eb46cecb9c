"""Validator on real (demo) data and on hand-made edge cases, checked against plain-Python computations."""

import csv
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.demo import PIPELINE_CONFIGURATION, write_sales_csv
from pipelines.validation import (
    MAX_ENTRIES_PER_ROW,
    QuarantineEntry,
    ValidationRules,
    Validator,
    missing_required_columns,
)


def read_csv_rows(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def text_table(header, rows, first=1) -> pa.Table:
    """What a file connector delivers after the engine numbered it: text columns, empty field = NULL."""
    columns = {"_row_number": pa.array(range(first, first + len(rows)), pa.int64())}
    for index, name in enumerate(header):
        columns[name] = pa.array([row[index] if row[index] != "" else None for row in rows], pa.string())
    return pa.table(columns)


def check_all(validator, table, batch_rows):
    outcomes = [validator.check(batch) for batch in table.to_batches(max_chunksize=batch_rows)]
    valid = pa.concat_tables([o.valid for o in outcomes])
    return valid, [e for o in outcomes for e in o.quarantined], sum(o.failed_rows for o in outcomes)


def rules(**validation_rules) -> ValidationRules:
    return ValidationRules.from_config({"validation_rules": validation_rules})


def one(column, values, **validation_rules):
    table = pa.table({"_row_number": pa.array(range(1, len(values) + 1), pa.int64()),
                      column: pa.array(values, pa.string())})
    return Validator(rules(**validation_rules)).check(table)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "sales.csv"
    write_sales_csv(path, rows=3000)
    return read_csv_rows(path)


def test_the_specifications_rules_on_the_demo_data(demo_file):
    header, rows = demo_file
    table = text_table(header, rows)
    valid, entries, failed = check_all(Validator(ValidationRules.from_config(PIPELINE_CONFIGURATION)), table, 700)

    # Independently: a row passes when its date, amount and product_id parse; an empty one is missing.
    def passes(row):
        try:
            date.fromisoformat(row["date"])
            float(row["amount"])
            int(row["product_id"])
            return True
        except ValueError:
            return False

    dict_rows = [dict(zip(header, r, strict=True)) for r in rows]
    expected_failed = [n for n, r in enumerate(dict_rows, start=1) if not passes(r)]
    assert expected_failed, "the demo file has missing amounts"
    assert failed == len(expected_failed) == len({e.row_number for e in entries})
    assert [e.row_number for e in entries] == expected_failed
    assert {(e.column_name, e.rule, e.value, e.reason) for e in entries} == {
        ("amount", "required_columns", None, "a value is required")}
    assert valid.num_rows + failed == len(rows)
    assert valid.schema.field("date").type == pa.date32()
    assert valid.schema.field("amount").type == pa.float64()
    assert valid.schema.field("product_id").type == pa.int64()
    assert valid.schema.field("channel").type == pa.string()  # not declared: untouched
    assert valid.column("_row_number").to_pylist() == [n for n in range(1, len(rows) + 1) if n not in expected_failed]
    kept = [r for r in dict_rows if passes(r)]
    assert pc.sum(valid.column("amount")).as_py() == pytest.approx(sum(float(r["amount"]) for r in kept))
    assert valid.column("date").to_pylist() == [date.fromisoformat(r["date"]) for r in kept]
    assert valid.column("product_id").to_pylist() == [int(r["product_id"]) for r in kept]


def test_invalid_dates_are_quarantined_with_row_numbers_and_reasons():
    values = ["2024-01-05", "2024-13-01", "31.12.2024", "2024-02-30", None, "05/01/2024", "tomorrow", " 2024-02-29 "]
    outcome = one("date", values, data_types={"date": "date"})
    assert outcome.quarantined == [
        QuarantineEntry(2, "date", "2024-13-01", 'not a date: "2024-13-01"', "data_types"),
        QuarantineEntry(4, "date", "2024-02-30", 'not a date: "2024-02-30"', "data_types"),
        QuarantineEntry(7, "date", "tomorrow", 'not a date: "tomorrow"', "data_types"),
    ]
    assert outcome.failed_rows == 3
    assert outcome.valid.column("_row_number").to_pylist() == [1, 3, 5, 6, 8]
    assert outcome.valid.column("date").to_pylist() == [date(2024, 1, 5), date(2024, 12, 31), None, date(2024, 1, 5),
                                                        date(2024, 2, 29)]


def test_custom_date_formats_replace_the_defaults():
    outcome = one("d", ["2024/01/05", "2024-01-05"], data_types={"d": "date"}, date_formats=["%Y/%m/%d"])
    assert outcome.valid.column("d").to_pylist() == [date(2024, 1, 5)]
    assert [e.row_number for e in outcome.quarantined] == [2]


def test_datetimes_are_utc():
    values = ["2024-01-05T10:00:00", "2024-01-05 10:00:00.25+03:00", "2024-01-05 10:00Z", "05.01.2024 23:59",
              "2024-01-05", "2024-01-05 24:00", "2024-01-05 23:59:60", "2024-01-05T10:00+15:00"]
    outcome = one("ts", values, data_types={"ts": "datetime"})
    utc = timezone.utc
    assert outcome.valid.column("ts").to_pylist() == [
        datetime(2024, 1, 5, 10, tzinfo=utc), datetime(2024, 1, 5, 7, 0, 0, 250000, tzinfo=utc),
        datetime(2024, 1, 5, 10, tzinfo=utc), datetime(2024, 1, 5, 23, 59, tzinfo=utc),
        datetime(2024, 1, 5, tzinfo=utc)]
    assert [(e.row_number, e.reason) for e in outcome.quarantined] == [
        (6, 'not a date and time: "2024-01-05 24:00"'), (7, 'not a date and time: "2024-01-05 23:59:60"'),
        (8, 'not a date and time: "2024-01-05T10:00+15:00"')]
    assert outcome.valid.schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_decimal_comma_with_spaces_and_dots_grouping_thousands():
    values = ["1 234,5", "1\u00a0234,50", "1.234,5", "12,345", "-0,5", "1,2,3", "1.5", "abc"]
    outcome = one("x", values, data_types={"x": "float"}, decimal_separator=",")
    assert outcome.valid.column("x").to_pylist() == [1234.5, 1234.5, 1234.5, 12.345, -0.5]
    assert [(e.row_number, e.reason) for e in outcome.quarantined] == [
        (6, 'not a number: "1,2,3"'), (7, 'not a number: "1.5"'), (8, 'not a number: "abc"')]
    exact = one("x", ["1 234,5", "0,000000001", "0,0000000001"], data_types={"x": "decimal"}, decimal_separator=",")
    assert exact.valid.column("x").to_pylist() == [Decimal("1234.5"), Decimal("1E-9")]
    assert exact.valid.schema.field("x").type == pa.decimal128(38, 9)
    assert exact.quarantined[0].row_number == 3 and str(exact.quarantined[0].reason).startswith("not a decimal number")


def test_point_separator_reads_commas_as_thousands_and_integers_strictly():
    floats = one("x", ["1,234.5", "1e3", "+.5", "1,5", "inf", "1e400"], data_types={"x": "float"})
    assert floats.valid.column("x").to_pylist() == [1234.5, 1000.0, 0.5]
    assert [e.row_number for e in floats.quarantined] == [4, 5, 6]
    ints = one("n", ["42", "+7", " 1 000 ", "3.0", "3.5", "9223372036854775807", "9223372036854775808", "x1"],
               data_types={"n": "integer"})
    assert ints.valid.column("n").to_pylist() == [42, 7, 1000, 3, 9223372036854775807]
    assert [(e.row_number, e.reason) for e in ints.quarantined] == [
        (5, 'not an integer: "3.5"'), (7, 'not an integer: "9223372036854775808"'), (8, 'not an integer: "x1"')]


def test_booleans_in_russian_and_english():
    values = ["да", "Нет", "ДА", "true", "0", "Y", "может быть"]
    outcome = one("paid", values, data_types={"paid": "boolean"})
    assert outcome.valid.column("paid").to_pylist() == [True, False, True, True, False, True]
    assert outcome.quarantined[0].reason == 'not a yes/no value: "может быть"'
    custom = one("paid", ["оплачено", "нет", "да"], data_types={"paid": "boolean"}, true_values=["оплачено"],
                 false_values=["не оплачено", "нет"])
    assert custom.valid.column("paid").to_pylist() == [True, False]
    assert custom.quarantined[0].row_number == 3


def test_unique_holds_across_batches_and_only_valid_rows_claim_a_key():
    validator = Validator(rules(data_types={"amount": "float"}, unique=["order_id"]))
    first = pa.table({"_row_number": [1, 2, 3, 4, 5], "order_id": ["1", "2", "2", "3", "6"],
                      "amount": ["1", "2", "3", "4", "oops"]})
    second = pa.table({"_row_number": [6, 7, 8, 9, 10, 11], "order_id": ["3", "4", "1", "6", None, None],
                       "amount": ["1", "2", "3", "4", "5", "6"]})
    a, b = validator.check(first), validator.check(second)
    assert a.valid.column("_row_number").to_pylist() == [1, 2, 4]
    assert b.valid.column("_row_number").to_pylist() == [7, 9, 10, 11]  # row 5 (key 6) failed, so row 9 is first
    unique_entries = [e for e in a.quarantined + b.quarantined if e.rule == "unique"]
    assert [(e.row_number, e.column_name, e.value) for e in unique_entries] == [
        (3, "order_id", "2"), (6, "order_id", "3"), (8, "order_id", "1")]
    assert unique_entries[0].reason == 'repeats a value of an earlier row: "2"'


def test_composite_and_several_unique_keys():
    validator = Validator(rules(unique=[["order_id", "line"], ["email"]]))
    table = pa.table({"_row_number": [1, 2, 3, 4], "order_id": ["1", "1", "1", "2"], "line": ["1", "2", "1", "1"],
                      "email": ["a@x", "b@x", "c@x", "a@x"]})
    outcome = validator.check(table)
    assert outcome.valid.column("_row_number").to_pylist() == [1, 2]
    assert [(e.row_number, e.column_name, e.value) for e in outcome.quarantined] == [
        (3, "order_id, line", "1, 1"), (4, "email", "a@x")]


def test_one_entry_per_failing_column_and_rule():
    validator = Validator(rules(
        required_columns=["id"], data_types={"qty": "integer", "price": "float"}, not_null=["qty"],
        min={"price": 0}, max={"price": 100, "qty": 10}, allowed_values={"channel": ["online", "store"]},
        regex={"code": "[A-Z]{3}"}))
    table = pa.table({
        "_row_number": [1, 2, 3, 4, 5],
        "id": ["1", None, "3", "4", "5"],
        "qty": ["1", "x", None, "11", "2"],
        "price": ["5", "5", "-1", "101", "100"],
        "channel": ["store", "shop", None, "online", "online"],
        "code": ["ABC", "ABCD", "ab", None, "XYZ"],
    })
    outcome = validator.check(table)
    assert outcome.valid.column("_row_number").to_pylist() == [1, 5]
    assert outcome.failed_rows == 3
    got = [(e.row_number, e.column_name, e.rule, e.value) for e in outcome.quarantined]
    assert got == [
        (2, "qty", "data_types", "x"),  # not a not_null failure too
        (2, "id", "required_columns", None),
        (2, "channel", "allowed_values", "shop"),
        (2, "code", "regex", "ABCD"),  # the pattern must match the whole value
        (3, "qty", "not_null", None),
        (3, "price", "min", "-1"),
        (3, "code", "regex", "ab"),
        (4, "price", "max", "101"),
        (4, "qty", "max", "11"),
    ]
    reasons = {(e.row_number, e.column_name, e.rule): e.reason for e in outcome.quarantined}
    assert reasons[(2, "qty", "data_types")] == 'not an integer: "x"'
    assert reasons[(3, "price", "min")] == 'less than the minimum 0: "-1"'
    assert reasons[(4, "price", "max")] == 'greater than the maximum 100: "101"'
    assert reasons[(4, "qty", "max")] == 'greater than the maximum 10: "11"'
    assert reasons[(2, "channel", "allowed_values")] == 'not one of the allowed values (online, store): "shop"'
    assert reasons[(2, "code", "regex")] == 'does not match the pattern [A-Z]{3}: "ABCD"'
    assert outcome.valid.column("qty").to_pylist() == [1, 2]
    assert outcome.valid.column("code").to_pylist() == ["ABC", "XYZ"]


def test_entries_per_row_are_capped():
    columns = [f"c{i}" for i in range(MAX_ENTRIES_PER_ROW + 5)]
    table = pa.table({"_row_number": [1, 2], **{c: pa.array([None, "v"], pa.string()) for c in columns}})
    outcome = Validator(rules(not_null=columns)).check(table)
    assert outcome.failed_rows == 1
    assert len(outcome.quarantined) == MAX_ENTRIES_PER_ROW
    assert {e.row_number for e in outcome.quarantined} == {1}


def test_native_types_are_cast_safely_and_what_does_not_fit_fails_as_text():
    table = pa.table({"_row_number": [1, 2, 3], "n": pa.array([1.0, 2.5, None]), "f": pa.array([1, 2, 3]),
                      "d": pa.array([datetime(2024, 1, 5, 10), datetime(2024, 1, 6), None], pa.timestamp("us"))})
    outcome = Validator(rules(data_types={"n": "integer", "f": "float", "d": "date"})).check(table)
    assert outcome.valid.column("n").to_pylist() == [1, None]
    assert outcome.valid.column("f").type == pa.float64()
    assert outcome.valid.column("d").to_pylist() == [date(2024, 1, 5), None]
    assert [(e.row_number, e.reason) for e in outcome.quarantined] == [(2, 'not an integer: "2.5"')]


def test_min_on_an_undeclared_text_column_reads_numbers():
    outcome = one("amount", ["5", "-1", "x", None], min={"amount": 0})
    assert outcome.valid.column("_row_number").to_pylist() == [1, 4]
    assert outcome.valid.column("amount").to_pylist() == ["5", None]  # the column itself stays text
    assert [(e.row_number, e.rule) for e in outcome.quarantined] == [(2, "min"), (3, "data_types")]


def test_row_numbers_are_made_up_when_absent_and_long_values_are_cut():
    validator = Validator(rules(data_types={"n": "integer"}))
    validator.check(pa.table({"n": ["1", "2"]}))
    outcome = validator.check(pa.table({"n": ["3", "x" * 5000]}))
    assert outcome.quarantined[0].row_number == 4
    assert len(outcome.quarantined[0].value) == 1003


def test_missing_columns_are_named_before_any_row_is_read():
    spec = ValidationRules.from_config(PIPELINE_CONFIGURATION)
    assert missing_required_columns(spec, ["date", "amount", "product_id", "x"]) == []
    assert missing_required_columns(spec, ["date", "x"]) == ["amount", "product_id"]
    assert missing_required_columns(rules(unique=["order_id"], regex={"code": "a"}), ["x"]) == ["order_id", "code"]
    with pytest.raises(ValueError, match="product_id"):
        Validator(spec).check(pa.table({"date": ["2024-01-01"], "amount": ["1"]}))


def test_rules_from_configuration():
    spec = ValidationRules.from_config(PIPELINE_CONFIGURATION)
    assert spec.required_columns == ("date", "amount", "product_id")
    assert spec.max_failed_ratio is None and spec.decimal_separator == "."  # None: the engine's default
    assert spec.date_formats == ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
    assert "да" in spec.true_values and "нет" in spec.false_values
    assert ValidationRules.from_config({}) == ValidationRules()
    assert rules(unique=["a", "b"]).unique == (("a", "b"),)
    assert rules(max_failed_ratio=0.05).max_failed_ratio == 0.05
    with pytest.raises(ValueError, match="max_failed_ratio"):
        rules(max_failed_ratio=2)


def test_a_date_columns_range_is_given_as_iso_dates_and_is_inclusive():
    outcome = one("day", ["2007-11-09", "2007-11-08", "2009-12-01", "2009-12-02", None],
                  data_types={"day": "date"}, min={"day": "2007-11-09"}, max={"day": "2009-12-01"})
    assert outcome.valid.column("day").to_pylist() == [date(2007, 11, 9), date(2009, 12, 1), None]
    assert [(e.row_number, e.rule, e.value) for e in outcome.quarantined] == [
        (2, "min", "2007-11-08"), (4, "max", "2009-12-02")]


def test_a_datetime_columns_range_reads_times_as_utc():
    outcome = one("at", ["2024-01-01 10:00:00", "2024-01-01 09:59:59"], data_types={"at": "datetime"},
                  min={"at": "2024-01-01 10:00:00"})
    assert [(e.row_number, e.rule) for e in outcome.quarantined] == [(2, "min")]
