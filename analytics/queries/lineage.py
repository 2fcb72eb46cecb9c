"""Reads of ``data_lineage``: the lineage page's and the run page's edges, and the alerts' downstream tables."""

from __future__ import annotations

from analytics.clickhouse import get_target
from analytics.queries.timing import named_rows


def latest_lineage_run(*, run_ids: list[int] | None = None) -> int | None:
    """The newest run that recorded lineage (among `run_ids` when given)."""
    params: dict = {}
    sql = "SELECT pipeline_run_id FROM data_lineage"
    if run_ids is not None:
        sql += " WHERE pipeline_run_id IN {runs:Array(UInt64)}"
        params["runs"] = run_ids
    rows = named_rows("lineage.latest_run", sql + " ORDER BY created_at DESC LIMIT 1", params)
    return int(rows[0]["pipeline_run_id"]) if rows else None


def lineage_edges(run_id: int, *, limit: int) -> list[dict]:
    """The lineage rows of one run, in a stable order (by target, then source)."""
    return named_rows(
        "lineage.edges",
        "SELECT source_table, source_column, target_table, target_column, transformation_type, "
        "transformation_logic, record_count FROM data_lineage WHERE pipeline_run_id = {run:UInt64} "
        "ORDER BY target_table, target_column, source_table, source_column LIMIT {limit:UInt32}",
        {"run": run_id, "limit": limit})


def downstream_tables(table: str, *, depth: int) -> list[str]:
    """Tables fed from `table` according to data_lineage, up to `depth` hops, nearest first."""
    target = get_target()
    found: list[str] = []
    frontier = [table]
    for _hop in range(depth):
        if not frontier:
            break
        rows = target.rows("SELECT DISTINCT target_table FROM data_lineage WHERE source_table IN {t:Array(String)}",
                           {"t": frontier})
        frontier = [r["target_table"] for r in rows if r["target_table"] not in found and r["target_table"] != table]
        found.extend(frontier)
    return found


def run_column_lineage(run_id: int) -> list[dict]:
    """The column-level lineage rows of one run, as the OpenLineage export reads them."""
    return get_target().rows(
        "SELECT source_table, source_column, target_table, target_column, transformation_type, "
        "transformation_logic FROM data_lineage WHERE pipeline_run_id = {r:UInt64}", {"r": run_id})


def table_fields(table: str) -> list[tuple[str, str]]:
    """(name, type) of a target table's columns, without the loader's own (``_``-prefixed) ones."""
    target = get_target()
    return [tuple(row) for row in target.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "AND NOT startsWith(name, '_')", {"db": target.database, "t": table}).result_rows]
