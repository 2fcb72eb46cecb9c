"""The derive step's expression language, evaluated with pyarrow and compared with plain Python."""

import math
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from pipelines.transformations import LineageEdge, StepError, TransformContext, get_step
from pipelines.transformations.expressions import ExpressionError, columns_of, parse

ROWS = [
    {"name": "Coffee", "qty": 2, "amount": 25.0, "price": Decimal("12.5"), "day": date(2024, 3, 9)},
    {"name": "tea", "qty": 4, "amount": 10.0, "price": Decimal("2.25"), "day": date(2023, 12, 31)},
    {"name": None, "qty": 0, "amount": 7.5, "price": None, "day": None},
    {"name": "Mug", "qty": None, "amount": -3.333, "price": Decimal("0.1"), "day": date(2024, 2, 29)},
]
SCHEMA = pa.schema([("name", pa.string()), ("qty", pa.int64()), ("amount", pa.float64()),
                    ("price", pa.decimal128(38, 9)), ("day", pa.date32())])


def derive(expression, rows=ROWS, ctx=None):
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    result = get_step("derive").apply(table, ctx or TransformContext(), {"column": "out", "expression": expression})
    return result.column("out").to_pylist()


def py_round(value, digits=0):
    """Half away from zero, as the step rounds."""
    if value is None:
        return None
    scaled = abs(Decimal(repr(value))).scaleb(digits).quantize(Decimal(1), rounding="ROUND_HALF_UP").scaleb(-digits)
    return math.copysign(float(scaled), value)


def nulls(function):
    return lambda row: None if any(v is None for v in row.values()) else function(row)


@pytest.mark.parametrize("expression,expected", [
    ("amount * 2 + 1", lambda r: r["amount"] * 2 + 1),
    ("amount - qty * 2", lambda r: None if r["qty"] is None else r["amount"] - r["qty"] * 2),
    ("(amount + 1) * (qty - 1)", lambda r: None if r["qty"] is None else (r["amount"] + 1) * (r["qty"] - 1)),
    ("-amount", lambda r: -r["amount"]),
    ("- -qty", lambda r: r["qty"]),
    ("amount / qty", lambda r: None if not r["qty"] else r["amount"] / r["qty"]),  # / 0 is NULL
    ("qty / 4", lambda r: None if r["qty"] is None else r["qty"] / 4),  # true division
    ("qty * 3 - 1", lambda r: None if r["qty"] is None else r["qty"] * 3 - 1),
    ("round(amount / 3, 2)", lambda r: py_round(r["amount"] / 3, 2)),
    ("round(amount)", lambda r: py_round(r["amount"])),
    ("abs(amount)", lambda r: abs(r["amount"])),
    ("upper(name)", lambda r: None if r["name"] is None else r["name"].upper()),
    ("lower(name)", lambda r: None if r["name"] is None else r["name"].lower()),
    ("concat(name, ' x', qty)", lambda r: f"{r['name'] or ''} x{'' if r['qty'] is None else r['qty']}"),
    ("concat('it''s ', \"a\")", lambda r: "it's a"),
    ("year(day) * 100 + month(day)", lambda r: None if r["day"] is None else r["day"].year * 100 + r["day"].month),
    ("day(day)", lambda r: None if r["day"] is None else r["day"].day),
    ("1.5", lambda r: 1.5),
    ("UPPER(name)", lambda r: None if r["name"] is None else r["name"].upper()),
])
def test_expressions_equal_plain_python(expression, expected):
    assert derive(expression) == pytest.approx([expected(r) for r in ROWS])


def test_decimals_add_exactly_and_multiply_as_floats():
    assert derive("price + price - 1") == [Decimal("24"), Decimal("3.5"), None, Decimal("-0.8")]
    assert derive("price * qty") == pytest.approx([25.0, 9.0, None, None])


def test_year_of_text_and_of_timestamps():
    table = pa.table({"d": ["2024-05-01", "bad", None],
                      "ts": pa.array([datetime(2020, 1, 2, tzinfo=timezone.utc)] * 3, pa.timestamp("us", tz="UTC"))})
    step = get_step("derive")
    assert step.apply(table, TransformContext(), {"column": "y", "expression": "year(d)"}).column("y").to_pylist() == [
        2024, None, None]
    assert step.apply(table, TransformContext(), {"column": "m", "expression": "month(ts)"}).column(
        "m").to_pylist() == [1, 1, 1]


def test_derive_replaces_a_column_and_records_lineage():
    ctx = TransformContext()
    table = pa.Table.from_pylist(ROWS, schema=SCHEMA)
    result = get_step("derive").apply(table, ctx, {"column": "amount", "expression": "round(amount * qty, 1)"})
    assert result.column_names == table.column_names
    assert ctx.lineage == [LineageEdge(("amount", "qty"), "amount", "derive", "round(amount * qty, 1)")]


@pytest.mark.parametrize("expression,message", [
    ("amount +", "the expression ends too early"),
    ("amount $ 2", 'unexpected character "$" at position 8'),
    ("(amount", 'the expression ends too early'),
    ("amount)", 'unexpected ")" at position 7'),
    ("amount qty", 'unexpected "qty" at position 8'),
    ("sqrt(amount)", 'unknown function "sqrt" at position 1'),
    ("round(amount, qty)", "the number of digits must be a whole number"),
    ("round(amount, 2, 3)", "round() takes 1-2 argument(s), got 3"),
    ("upper()", "upper() takes 1 argument(s), got 0"),
    ("", "the expression is empty"),
    ("(" * 60 + "1" + ")" * 60, "nested too deeply"),
])
def test_syntax_errors_say_where(expression, message):
    with pytest.raises(ExpressionError) as caught:
        parse(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize("expression,message", [
    ("name * 2", '"name" is string, not a number'),
    ("missing + 1", 'unknown column "missing"'),
    ("year(qty)", "year(), month() and day() need a date, got int64"),
    ("qty * 9223372036854775807", "overflow"),
])
def test_type_errors_stop_the_run_with_the_expression(expression, message):
    with pytest.raises(StepError) as caught:
        derive(expression)
    assert str(caught.value).startswith(f"derive out = {expression}: ")
    assert message in str(caught.value)


def test_columns_of_lists_each_column_once_in_order():
    assert columns_of(parse("concat(b, a) + round(a * c, 2) - b")) == ["b", "a", "c"]
