"""The one lineage graph (analytics.lineage_graph) the pages and the OpenLineage export read."""

from __future__ import annotations

from analytics.lineage_graph import LineageGraph


def _row(source, target, kind="load"):
    (st, sc), (tt, tc) = source.split("."), target.split(".")
    return {"source_table": st, "source_column": sc, "target_table": tt, "target_column": tc,
            "transformation_type": kind, "transformation_logic": ""}


ROWS = [
    _row("file.amount", "stg.amount", "extract"),
    _row("file.qty", "stg.qty", "extract"),
    _row("stg.amount", "sales.total", "derive"),
    _row("stg.qty", "sales.total", "derive"),
    _row("products.name", "sales.product", "lookup"),
]


def test_kinds_columns_and_one_hop_up():
    graph = LineageGraph(ROWS)
    assert graph.table_kinds() == {"file": "source", "stg": "staging", "sales": "target", "products": "source"}
    assert graph.columns() == {"file": ["amount", "qty"], "stg": ["amount", "qty"], "sales": ["total", "product"],
                               "products": ["name"]}
    assert graph.upstream("sales", "total") == [("stg", "amount"), ("stg", "qty")]
    assert graph.upstream("file", "amount") == []


def test_origins_follow_the_rows_back_to_the_stop_tables():
    graph = LineageGraph(ROWS)
    assert graph.origins("sales", "total", stop={"file"}) == [("file", "amount"), ("file", "qty")]
    assert graph.origins("sales", "total", stop={"stg"}) == [("stg", "amount"), ("stg", "qty")]
    # nothing fills products.name: it is its own origin
    assert graph.origins("sales", "product", stop=set()) == [("products", "name")]


def test_a_cycle_ends_where_it_closes():
    graph = LineageGraph([_row("a.x", "b.x"), _row("b.x", "a.x")])
    assert graph.origins("b", "x", stop=set()) == [("b", "x")]
