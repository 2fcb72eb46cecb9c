"""Transformation steps on the demo data and on edge cases, checked against plain-Python computations."""

import csv
import random
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.demo import PIPELINE_CONFIGURATION, write_products_csv, write_sales_csv
from pipelines.engine.errors import RunError
from pipelines.transformations import (
    REGISTRY,
    LineageEdge,
    StepError,
    TransformContext,
    apply_steps,
    describe_registry,
    get_step,
    resolve_steps,
)
from pipelines.transformations.keys import HashSet, row_hashes
from pipelines.validation import ValidationRules, Validator


def read_csv(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        return next(reader), list(reader)


def text_table(header, rows) -> pa.Table:
    columns = {"_row_number": pa.array(range(1, len(rows) + 1), pa.int64())}
    for index, name in enumerate(header):
        columns[name] = pa.array([row[index] or None for row in rows], pa.string())
    return pa.table(columns)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    write_sales_csv(folder / "sales.csv", rows=4000)
    write_products_csv(folder / "products.csv")
    header, rows = read_csv(folder / "sales.csv")
    product_header, products = read_csv(folder / "products.csv")
    reference = pa.table({name: pa.array([p[i] for p in products], pa.string())
                          for i, name in enumerate(product_header)})
    return header, rows, reference, [dict(zip(product_header, p, strict=True)) for p in products]


def run_batches(table, steps, ctx, batch_rows=900):
    """Like the engine: the step list resolved once, then every batch through every step."""
    out = []
    for batch in table.to_batches(max_chunksize=batch_rows):
        result = pa.Table.from_batches([batch])
        for step, params in steps:
            result = step.apply(result, ctx, params)
        out.append(result)
    return pa.concat_tables(out)


def table_of(**columns) -> pa.Table:
    count = len(next(iter(columns.values())))
    return pa.table({"_row_number": pa.array(range(1, count + 1), pa.int64()), **columns})


def apply(name, table, params=None, ctx=None):
    return get_step(name).apply(table, ctx or TransformContext(), params or {})


# --- the specification's pipeline on the demo data ---------------------------------------------------------

def test_the_specifications_pipeline_equals_a_plain_python_run(demo):
    header, rows, reference, products = demo
    validator = Validator(ValidationRules.from_config(PIPELINE_CONFIGURATION))
    loads = []
    ctx = TransformContext(reference_loader=lambda spec: loads.append(spec) or reference)
    calls = resolve_steps(PIPELINE_CONFIGURATION["transformations"])
    table = text_table(header, rows)
    out, quarantined = [], 0
    for batch in table.to_batches(max_chunksize=700):
        outcome = validator.check(batch)
        quarantined += outcome.failed_rows
        out.append(apply_steps(outcome.valid, calls, ctx))
    result = pa.concat_tables(out)

    by_id = {p["product_id"]: p for p in products}
    valid = [(n, r) for n, r in enumerate(rows, start=1) if r[header.index("amount")] != ""]
    seen, unique = set(), []
    for n, r in valid:
        if tuple(r) not in seen:
            seen.add(tuple(r))
            unique.append((n, r))
    kept = [(n, r) for n, r in unique if float(r[header.index("amount")]) > 0]
    assert quarantined == len(rows) - len(valid)
    assert ctx.removed == {"clean_duplicates": len(valid) - len(unique), "validate_amounts": len(unique) - len(kept)}
    assert ctx.removed["clean_duplicates"] > 0 and ctx.removed["validate_amounts"] > 0
    assert len(rows) == result.num_rows + quarantined + sum(ctx.removed.values())
    assert result.column("_row_number").to_pylist() == [n for n, _r in kept]
    assert result.column("product_name").to_pylist() == [by_id[r[2]]["product_name"] for _n, r in kept]
    assert result.column("category").to_pylist() == [by_id[r[2]]["category"] for _n, r in kept]
    assert pc.sum(result.column("amount")).as_py() == pytest.approx(sum(float(r[4]) for _n, r in kept))
    assert loads == ["products"]  # the reference is read once per run, by its default name
    assert {(e.target_column, e.transformation_type) for e in ctx.lineage} == {
        ("product_name", "lookup"), ("category", "lookup"), ("list_price", "lookup")}


def test_state_is_kept_per_step_without_a_step_index(demo):
    """The engine calls step.apply(table, ctx, params) with the same params object for every batch."""
    header, rows, _reference, _products = demo
    ctx = TransformContext()
    steps = [(get_step("clean_duplicates"), {}), (get_step("clean_duplicates"), {"columns": ["order_id"]})]
    result = run_batches(text_table(header, rows), steps, ctx, batch_rows=500)
    distinct_lines = len({tuple(r) for r in rows})
    assert ctx.removed == {"clean_duplicates": len(rows) - distinct_lines}
    assert result.num_rows == distinct_lines


# --- clean_duplicates and its hashes -------------------------------------------------------------------------

def test_clean_duplicates_keeps_first_occurrences_across_batches(demo):
    header, rows, _reference, _products = demo
    ctx = TransformContext()
    result = run_batches(text_table(header, rows), [(get_step("clean_duplicates"), {})], ctx, batch_rows=333)
    first = {}
    for number, row in enumerate(rows, start=1):
        first.setdefault(tuple(row), number)
    assert ctx.removed["clean_duplicates"] == len(rows) - len(set(map(tuple, rows)))
    assert result.column("_row_number").to_pylist() == sorted(first.values())


def test_clean_duplicates_on_chosen_columns_and_nulls():
    table = table_of(a=["x", "x", None, None, "", "x"], b=["1", "2", "1", "1", "1", "1"])
    ctx = TransformContext()
    kept = apply("clean_duplicates", table, {"columns": ["a"]}, ctx)
    assert kept.column("_row_number").to_pylist() == [1, 3, 5]  # NULL and "" are different values
    assert ctx.removed == {"clean_duplicates": 3}
    with pytest.raises(StepError, match='no column "zzz"'):
        apply("clean_duplicates", table, {"columns": ["zzz"]})


def test_row_hashes_tell_values_apart_and_ignore_slicing():
    table = pa.table({"a": pa.array(["", None, "None", "ab", "ba", "a", "b"] * 2),
                      "b": pa.array(["b", "b", "b", "", "", "b", "a"] * 2)})
    hashes = row_hashes(table, ["a", "b"])
    assert len(set(hashes[:7].tolist())) == 7
    assert (hashes[:7] == hashes[7:]).all()
    assert (row_hashes(table.slice(7), ["a", "b"]) == hashes[7:]).all()
    assert not (row_hashes(table, ["b", "a"]) == hashes).all()
    typed = pa.table({"n": pa.array([1, 2, None]), "d": pa.array([date(2024, 1, 1), None, date(2024, 1, 1)])})
    assert len(set(row_hashes(typed, ["n", "d"]).tolist())) == 3


def test_hash_set_agrees_with_a_python_set():
    rng = random.Random(7)
    seen, expected = HashSet(), set()
    for _batch in range(40):
        values = [rng.randrange(5000) for _ in range(rng.randrange(1, 400))]
        hashes = np.array(values, dtype=np.uint64)
        keep = seen.keep_new(hashes)
        want = []
        for value in values:
            want.append(value not in expected)
            expected.add(value)
        assert keep.tolist() == want
    assert len(seen) == len(expected) and seen.nbytes == 8 * len(expected)


# --- validate_amounts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("params,kept", [
    ({}, [1, 6]),
    ({"allow_zero": True}, [1, 3, 6]),
    ({"min": -10}, [1, 2, 6]),
    ({"min": -10, "allow_zero": True}, [1, 2, 3, 6]),
    ({"min": 100}, []),
])
def test_validate_amounts(params, kept):
    table = table_of(amount=pa.array([5.0, -2.0, 0.0, None, -50.0, 1e-9]))
    ctx = TransformContext()
    result = apply("validate_amounts", table, params, ctx)
    assert result.column("_row_number").to_pylist() == kept
    assert ctx.removed == {"validate_amounts": 6 - len(kept)}


def test_validate_amounts_reads_text_and_other_columns():
    table = table_of(total=["5", "-1", "x", "1 000"])
    result = apply("validate_amounts", table, {"column": "total"})
    assert result.column("_row_number").to_pylist() == [1, 4]
    assert result.column("total").to_pylist() == ["5", "1 000"]  # unchanged: it only filters
    with pytest.raises(StepError, match='no column "amount"'):
        apply("validate_amounts", table)


# --- enrich_product_data -------------------------------------------------------------------------------------

def test_enrich_is_a_left_join_that_keeps_order(demo):
    _header, _rows, reference, products = demo
    keys = [3, 99, None, 1, 3, 8, 2]
    table = table_of(product_id=pa.array(keys, pa.int64()))
    ctx = TransformContext(reference_loader=lambda spec: reference)
    result = apply("enrich_product_data", table, {"reference": {"file_path": "/data/products.csv"}}, ctx)
    by_id = {int(p["product_id"]): p for p in products}
    assert result.column_names == ["_row_number", "product_id", "product_name", "category", "list_price"]
    assert result.column("_row_number").to_pylist() == list(range(1, 8))
    for column in ("product_name", "category", "list_price"):
        assert result.column(column).to_pylist() == [by_id[k][column] if k in by_id else None for k in keys]
    assert LineageEdge(("category",), "category", "lookup", "left join on product_id = /data/products.csv.product_id",
                       "/data/products.csv") in ctx.lineage


def test_enrich_options(demo):
    _header, _rows, reference, _products = demo
    products = reference.rename_columns(["id", "product_name", "category", "list_price"])
    table = table_of(product_id=["1", "2", "x"], category=["a", "b", "c"])
    ctx = TransformContext(reference_loader=lambda spec: products)
    params = {"reference_key": "id", "columns": ["category", "list_price"], "prefix": "product_",
              "data_types": {"list_price": "float"}}
    result = apply("enrich_product_data", table, params, ctx)
    assert result.column("product_category").to_pylist() == ["grocery", "grocery", None]
    assert result.column("product_list_price").to_pylist() == [1290.0, 350.0, None]
    assert "product_name" not in result.column_names
    with pytest.raises(StepError, match="already has column"):
        apply("enrich_product_data", table, {"reference_key": "id"},
              TransformContext(reference_loader=lambda s: products))


def test_enrich_refuses_a_reference_with_repeated_keys_or_missing_columns(demo):
    _header, _rows, reference, _products = demo
    doubled = pa.concat_tables([reference, reference.slice(2, 1)])
    table = table_of(product_id=pa.array([1, 2]))
    with pytest.raises(StepError, match="more than one row for product_id = 3"):
        apply("enrich_product_data", table, {}, TransformContext(reference_loader=lambda s: doubled))
    with pytest.raises(StepError, match="no column"):
        apply("enrich_product_data", table, {"columns": ["price"]},
              TransformContext(reference_loader=lambda s: reference))
    with pytest.raises(StepError, match="No reference data"):
        apply("enrich_product_data", table)


# --- rename, cast, trim, fill_nulls, drop_columns ------------------------------------------------------------

def test_rename_both_forms_and_lineage():
    table = table_of(a=["1"], b=["2"])
    ctx = TransformContext()
    assert apply("rename", table, {"mapping": {"a": "x"}}, ctx).column_names == ["_row_number", "x", "b"]
    assert apply("rename", table, {"b": "y"}, ctx).column_names == ["_row_number", "a", "y"]
    assert ctx.lineage == [LineageEdge(("a",), "x", "rename", "a -> x"), LineageEdge(("b",), "y", "rename", "b -> y")]
    with pytest.raises(StepError, match="two columns named b"):
        apply("rename", table, {"a": "b"})
    with pytest.raises(StepError, match='no column "c"'):
        apply("rename", table, {"c": "d"})


def test_cast_converts_or_names_the_first_bad_value():
    table = table_of(qty=["1", "2", None], day=["2024-01-05", "05.01.2024", "2024-01-06"])
    ctx = TransformContext()
    result = apply("cast", table, {"columns": {"qty": "integer", "day": "date"}}, ctx)
    assert result.column("qty").to_pylist() == [1, 2, None]
    assert result.column("day").to_pylist() == [date(2024, 1, 5), date(2024, 1, 5), date(2024, 1, 6)]
    assert LineageEdge(("qty",), "qty", "cast", "cast to integer") in ctx.lineage
    bad = table_of(qty=["1", "two", "3", "x"])
    with pytest.raises(StepError) as caught:
        apply("cast", bad, {"columns": {"qty": "integer"}})
    assert str(caught.value) == 'cast: column "qty": not an integer: "two" (source row 2); 2 value(s) do not convert.'
    assert isinstance(caught.value, RunError)


def test_trim_fill_nulls_and_drop_columns():
    table = table_of(name=["  a ", "\u00a0b", None], n=pa.array([1, None, 3]), note=[" x ", None, "y"])
    trimmed = apply("trim", table)
    assert trimmed.column("name").to_pylist() == ["a", "b", None]
    assert trimmed.column("note").to_pylist() == ["x", None, "y"]
    only = apply("trim", table, {"columns": ["note"]})
    assert only.column("name").to_pylist() == ["  a ", "\u00a0b", None]
    with pytest.raises(StepError, match='"n" is int64, not text'):
        apply("trim", table, {"columns": ["n"]})
    filled = apply("fill_nulls", table, {"values": {"name": "unknown", "n": 0}})
    assert filled.column("name").to_pylist() == ["  a ", "\u00a0b", "unknown"]
    assert filled.column("n").to_pylist() == [1, 0, 3]
    with pytest.raises(StepError, match='fill_nulls: column "n"'):
        apply("fill_nulls", table, {"values": {"n": "many"}})
    dated = table_of(day=pa.array([date(2024, 1, 1), None]))
    assert apply("fill_nulls", dated, {"values": {"day": "31.12.2023"}}).column("day").to_pylist() == [
        date(2024, 1, 1), date(2023, 12, 31)]
    assert apply("drop_columns", table, {"columns": ["note", "n"]}).column_names == ["_row_number", "name"]
    with pytest.raises(StepError, match='no column "zzz"'):
        apply("drop_columns", table, {"columns": ["zzz"]})


# --- filter --------------------------------------------------------------------------------------------------

FILTER_ROWS = [
    {"channel": "online", "amount": 10.0, "day": date(2024, 1, 1), "qty": "3"},
    {"channel": "store", "amount": 25.5, "day": date(2024, 2, 1), "qty": "12"},
    {"channel": None, "amount": None, "day": None, "qty": None},
    {"channel": "online", "amount": 99.0, "day": date(2024, 3, 1), "qty": "7"},
    {"channel": "phone", "amount": 10.0, "day": date(2024, 1, 15), "qty": "x"},
]


@pytest.mark.parametrize("column,op,value,predicate", [
    ("channel", "==", "online", lambda v: v == "online"),
    ("channel", "!=", "online", lambda v: v is not None and v != "online"),
    ("amount", "<", 25.5, lambda v: v is not None and v < 25.5),
    ("amount", "<=", 25.5, lambda v: v is not None and v <= 25.5),
    ("amount", ">", 10, lambda v: v is not None and v > 10),
    ("amount", ">=", 10, lambda v: v is not None and v >= 10),
    ("day", ">=", "2024-01-15", lambda v: v is not None and v >= date(2024, 1, 15)),
    ("day", "<", "01.02.2024", lambda v: v is not None and v < date(2024, 2, 1)),
    ("channel", "in", ["store", "phone"], lambda v: v in ("store", "phone")),
    ("channel", "not_in", ["store", "phone"], lambda v: v is not None and v not in ("store", "phone")),
    ("amount", "in", [10, 99], lambda v: v in (10.0, 99.0)),
    ("channel", "is_null", None, lambda v: v is None),
    ("channel", "not_null", None, lambda v: v is not None),
    ("qty", ">", 5, lambda v: v not in (None, "x") and float(v) > 5),  # text compared with a number: as numbers
    ("qty", ">", "5", lambda v: v is not None and v > "5"),  # text with text: as text
])
def test_filter_matches_plain_python(column, op, value, predicate):
    table = pa.Table.from_pylist(FILTER_ROWS, schema=pa.schema(
        [("channel", pa.string()), ("amount", pa.float64()), ("day", pa.date32()), ("qty", pa.string())]))
    ctx = TransformContext()
    params = {"column": column, "op": op} if value is None else {"column": column, "op": op, "value": value}
    result = apply("filter", table, params, ctx)
    expected = [r for r in FILTER_ROWS if predicate(r[column])]
    assert result.to_pylist() == expected
    assert ctx.removed == {"filter": len(FILTER_ROWS) - len(expected)}


def test_filter_value_that_does_not_fit_the_column():
    table = table_of(day=pa.array([date(2024, 1, 1)]))
    with pytest.raises(StepError, match='cannot be compared with column "day"'):
        apply("filter", table, {"column": "day", "op": "==", "value": "soon"})


# --- the registry --------------------------------------------------------------------------------------------

def test_every_step_describes_itself():
    described = describe_registry()
    assert [d["name"] for d in described] == sorted(REGISTRY)
    assert {"clean_duplicates", "validate_amounts", "enrich_product_data", "rename", "cast", "trim", "filter",
            "derive", "fill_nulls", "drop_columns"} <= set(REGISTRY)
    for step in described:
        assert step["description"]
        for param in step["parameters"]:
            assert set(param) == {"name", "type", "required", "default", "description"} and param["description"]
    rename = next(d for d in described if d["name"] == "rename")
    assert rename["parameters"][0]["required"] is True
    amounts = next(d for d in described if d["name"] == "validate_amounts")
    assert {p["name"]: p["default"] for p in amounts["parameters"]} == {"column": "amount", "min": 0,
                                                                        "allow_zero": False}


def test_unknown_step_and_bad_params_at_run_time():
    with pytest.raises(StepError, match='Unknown transformation step "foo"; available: cast, clean_duplicates'):
        get_step("foo")
    with pytest.raises(StepError, match='rename: parameter "mapping" is required'):
        apply("rename", table_of(a=["1"]), {})
