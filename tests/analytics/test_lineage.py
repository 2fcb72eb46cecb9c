"""Column lineage from the edges the steps record, stored per run, exported as OpenLineage."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest
from referencing import Registry, Resource

import pipelines.transformations  # noqa: F401  (registers the steps)
from analytics.lineage import lineage_record, lineage_rows, resolve_edges
from analytics.openlineage import openlineage_run_event, run_uuid
from pipelines.transformations.base import TransformContext, get_step

SPEC = Path(__file__).parent / "openlineage_spec"
SOURCE_COLUMNS = ["order_id", "date", "product_id", "quantity", "amount", "channel"]
PRODUCTS = pa.table({"product_id": ["1", "2"], "product_name": ["Ceramic mug", "Desk lamp"],
                     "category": ["home", "office"], "list_price": ["9.5", "30"]})
# The demo's columns with a rename, a derive over the renamed column, a cast and the product lookup.
STEPS = [
    ("rename", {"mapping": {"amount": "price"}}),
    ("derive", {"column": "total", "expression": "price * quantity"}),
    ("cast", {"columns": {"quantity": "float"}}),
    ("enrich_product_data", {"reference": "products"}),
]


def _run_steps() -> tuple[pa.Table, list[dict]]:
    table = pa.table({"order_id": [1, 2], "date": ["2024-01-01", "2024-01-02"], "product_id": [1, 2],
                      "quantity": [1, 3], "amount": [9.5, 90.0], "channel": ["online", "store"]})
    ctx = TransformContext(reference_loader=lambda _spec: PRODUCTS)
    for index, (name, params) in enumerate(STEPS):
        ctx.step_index = index
        table = get_step(name).apply(table, ctx, params)
    return table, [edge.as_dict() for edge in ctx.lineage]


def _demo_rows() -> tuple[list[str], list[dict]]:
    table, edges = _run_steps()
    columns = ["_row_number", *table.column_names]
    rows = lineage_rows(source_name="sales_csv", staging_table="stg_run_7", target_table="sales",
                        target_columns=columns, source_columns=SOURCE_COLUMNS, edges=edges)
    return table.column_names, rows


def _into(rows, table, column):
    return [r for r in rows if r["target_table"] == table and r["target_column"] == column]


def test_every_target_column_has_lineage():
    columns, rows = _demo_rows()
    assert set(columns) == {"order_id", "date", "product_id", "quantity", "price", "channel", "total",
                            "product_name", "category", "list_price"}
    for column in columns:
        assert _into(rows, "sales", column), column
    assert not _into(rows, "sales", "_row_number")
    # Every source column lands in staging unchanged, once.
    extract = [r for r in rows if r["transformation_type"] == "extract"]
    assert [(r["source_table"], r["source_column"], r["target_table"], r["target_column"]) for r in extract] == [
        ("sales_csv", c, "stg_run_7", c) for c in SOURCE_COLUMNS]
    # Untouched columns are copied from staging.
    assert _into(rows, "sales", "channel") == [{
        "source_table": "stg_run_7", "source_column": "channel", "target_table": "sales", "target_column": "channel",
        "transformation_type": "load", "transformation_logic": "copy"}]
    assert _into(rows, "sales", "quantity")[0]["transformation_type"] == "cast"


def test_rename_then_derive_resolves_to_the_original_source_columns():
    _columns, rows = _demo_rows()
    price = _into(rows, "sales", "price")
    assert [(r["source_table"], r["source_column"], r["transformation_type"]) for r in price] == [
        ("stg_run_7", "amount", "rename")]
    total = _into(rows, "sales", "total")
    assert {(r["source_table"], r["source_column"]) for r in total} == {("stg_run_7", "amount"),
                                                                       ("stg_run_7", "quantity")}
    assert {r["transformation_type"] for r in total} == {"rename+derive"}
    assert "amount -> price" in total[0]["transformation_logic"]
    assert "price * quantity" in total[0]["transformation_logic"]


def test_lookup_columns_point_at_the_reference():
    _columns, rows = _demo_rows()
    for column in ("product_name", "category", "list_price"):
        (row,) = _into(rows, "sales", column)
        assert (row["source_table"], row["source_column"], row["transformation_type"]) == (
            "products", column, "lookup")
        assert "product_id" in row["transformation_logic"]


def test_chains_and_same_column_edges():
    edges = [
        {"source_columns": ["a"], "target_column": "a", "transformation_type": "cast",
         "transformation_logic": "cast to float", "source_table": ""},
        {"source_columns": ["a"], "target_column": "a", "transformation_type": "fill_nulls",
         "transformation_logic": "empty -> 0", "source_table": ""},
        {"source_columns": ["a"], "target_column": "b", "transformation_type": "rename",
         "transformation_logic": "a -> b", "source_table": ""},
        {"source_columns": ["b", "ghost"], "target_column": "c", "transformation_type": "derive",
         "transformation_logic": "b + ghost", "source_table": ""},
    ]
    state = resolve_edges(edges, ["a"])
    assert state["c"]["origins"] == [("", "a"), ("", "ghost")]
    assert [kind for kind, _logic in state["c"]["steps"]] == ["cast", "fill_nulls", "rename", "derive"]
    rows = lineage_rows(source_name="src", staging_table="", target_table="t", target_columns=["c", "extra"],
                        source_columns=["a"], edges=edges)
    assert [(r["source_table"], r["source_column"], r["target_column"], r["transformation_type"]) for r in rows] == [
        ("src", "a", "c", "cast+fill_nulls+rename+derive"), ("src", "ghost", "c", "cast+fill_nulls+rename+derive"),
        ("src", "extra", "extra", "load")]


def test_lineage_recorded_per_run(clickhouse):
    _columns, rows = _demo_rows()
    assert lineage_record(target=clickhouse, run_id=7, rows=rows, record_count=2) == len(rows)
    assert lineage_record(target=clickhouse, run_id=7, rows=rows, record_count=2) == len(rows)  # a retry
    lineage_record(target=clickhouse, run_id=8, rows=rows[:3], record_count=5)
    stored = clickhouse.rows("SELECT source_table, source_column, target_table, target_column, transformation_type, "
                             "transformation_logic, record_count FROM data_lineage WHERE pipeline_run_id = {r:UInt64}",
                             {"r": 7})
    assert len(stored) == len(rows)
    assert {r["record_count"] for r in stored} == {2}
    assert sorted((r["target_column"], r["source_table"], r["source_column"]) for r in stored) == sorted(
        (r["target_column"], r["source_table"], r["source_column"]) for r in rows)
    # "Where does sales.total come from?"
    origin = clickhouse.rows("SELECT source_table, source_column FROM data_lineage WHERE target_table = 'sales' "
                             "AND target_column = 'total' AND pipeline_run_id = 7 ORDER BY source_column")
    assert origin == [{"source_table": "stg_run_7", "source_column": "amount"},
                      {"source_table": "stg_run_7", "source_column": "quantity"}]


def _validator(schema: dict, registry: Registry | None = None):
    cls = jsonschema.Draft202012Validator
    kwargs = {"registry": registry} if registry is not None else {}
    return cls(schema, format_checker=cls.FORMAT_CHECKER, **kwargs)


@pytest.fixture(scope="module")
def schemas():
    core = json.loads((SPEC / "OpenLineage.json").read_text())
    facet = json.loads((SPEC / "ColumnLineageDatasetFacet.json").read_text())
    # The facet refers to the core spec's DatasetFacet by URL; resolve it offline to the stored core spec.
    core_resource = Resource.from_contents({**core, "$defs": core["definitions"]})
    registry = Registry().with_resource("https://openlineage.io/spec/1-0-2/OpenLineage.json", core_resource)
    return core, facet, registry


def _event(event_type="COMPLETE"):
    table, _edges = _run_steps()
    _columns, rows = _demo_rows()
    types = {f.name: str(f.type) for f in table.schema}
    return openlineage_run_event(
        run_id=7, job_name="sales_monthly", namespace="etl-platform", event_type=event_type,
        inputs=[("file://data", "sales_csv", [(c, "string") for c in SOURCE_COLUMNS])],
        output=("clickhouse://localhost:8123", "sales", [(c, types[c]) for c in table.column_names]),
        column_lineage=rows, event_time=datetime(2024, 2, 1, 3, 0, tzinfo=timezone.utc),
        producer="https://github.com/example/etl/tree/v1.0")


def test_openlineage_event_validates(schemas):
    core, facet_schema, registry = schemas
    event = _event()
    json.dumps(event)  # plain JSON
    _validator(core).validate(event)
    (output,) = event["outputs"]
    _validator(facet_schema, registry).validate({"columnLineage": output["facets"]["columnLineage"]})

    assert event["run"]["runId"] == run_uuid("etl-platform", "sales_monthly", 7)
    assert event["eventTime"] == "2024-02-01T03:00:00.000Z"
    assert [d["name"] for d in event["inputs"]] == ["sales_csv", "products"]
    fields = output["facets"]["columnLineage"]["fields"]
    assert set(fields) == {f["name"] for f in output["facets"]["schema"]["fields"]}
    # Staging is followed back to the source file; lookups come from the reference.
    assert {(f["name"], f["field"]) for f in fields["total"]["inputFields"]} == {("sales_csv", "amount"),
                                                                                ("sales_csv", "quantity")}
    assert fields["channel"]["inputFields"][0]["transformations"] == [{"type": "DIRECT", "subtype": "IDENTITY"}]
    assert fields["category"]["inputFields"][0]["name"] == "products"


def test_broken_event_is_rejected_by_the_schema(schemas):
    core, _facet, _registry = schemas
    event = _event()
    del event["run"]["runId"]
    with pytest.raises(jsonschema.ValidationError):
        _validator(core).validate(event)
    event = _event()
    event["run"]["runId"] = "run-7"  # not a UUID
    with pytest.raises(jsonschema.ValidationError):
        _validator(core).validate(event)
    with pytest.raises(ValueError):
        _event(event_type="DONE")
    event = _event(event_type="FAIL")
    event["outputs"][0]["facets"]["schema"].pop("_producer")
    with pytest.raises(jsonschema.ValidationError):
        _validator(core).validate(event)
