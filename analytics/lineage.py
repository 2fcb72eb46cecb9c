"""Column lineage of a run, from the edges the transformation steps recorded while they ran.

Representation in data_lineage (one row per hop, per run):

* extract: every source column lands unchanged in the run's staging table —
  ``<source_name>.<col> -> <staging_table>.<col>``, type ``extract``, logic ``copy``;
* load: a target column nothing transformed is copied from staging —
  ``<staging_table>.<col> -> <target_table>.<col>``, type ``load``, logic ``copy``;
* transformed: a target column produced by steps gets one row per *original* column it comes from —
  ``<staging_table>.<original> -> <target_table>.<col>`` (or ``<reference>.<column> -> ...`` for a lookup),
  type the steps' types in order joined by ``+`` (``rename+derive``), logic their logics joined by ``; ``.

Intermediate names (``amount`` renamed to ``price`` then used by a derive) exist in no table, so chains of
edges are resolved back to the staging (or reference) column they started from. Without a staging table
(``staging_table=""``) the extract hop is left out and the other rows start at ``<source_name>``.
"""

from __future__ import annotations

from analytics.clickhouse.client import ClickHouseTarget
from analytics.loading import LOADED_AT_COLUMN, ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from analytics.queries.run_rows import replace_run_rows

TABLE = "data_lineage"
TECHNICAL_COLUMNS = frozenset({ROW_NUMBER_COLUMN, RUN_ID_COLUMN, LOADED_AT_COLUMN})
ROW_KEYS = ("source_table", "source_column", "target_table", "target_column", "transformation_type",
            "transformation_logic")
_INSERT_COLUMNS = (*ROW_KEYS, "pipeline_run_id", "record_count")


def _row(source_table, source_column, target_table, target_column, kind, logic) -> dict:
    return dict(zip(ROW_KEYS, (source_table, source_column, target_table, target_column, kind, logic), strict=True))


def _join_steps(steps: list[tuple[str, str]]) -> tuple[str, str]:
    types: list[str] = []
    for kind, _logic in steps:
        if not types or types[-1] != kind:
            types.append(kind)
    return "+".join(types), "; ".join(logic for _kind, logic in steps if logic)


def _merge_steps(*lists: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for steps in lists:
        for step in steps:
            if step not in merged:
                merged.append(step)
    return merged


def resolve_edges(edges: list[dict], source_columns: list[str]) -> dict[str, dict]:
    """Per column name after all edges: its origins ``[(table or "", column)]`` and its steps ``[(type, logic)]``.

    ``table`` "" is the run's own rows (staging); lookups name their reference. Edges apply in order, so a
    column changed twice (cast, then fill_nulls) carries both steps and a rename's new name inherits the
    old one's origins.
    """
    state: dict[str, dict] = {c: {"origins": [("", c)], "steps": []} for c in source_columns}
    for edge in edges:
        reference = edge.get("source_table") or ""
        if reference:
            origins = [(reference, c) for c in edge["source_columns"]]
            inherited: list[list[tuple[str, str]]] = []
        else:
            inputs = [state.get(c) or {"origins": [("", c)], "steps": []} for c in edge["source_columns"]]
            origins = []
            for item in inputs:
                origins += [o for o in item["origins"] if o not in origins]
            inherited = [item["steps"] for item in inputs]
        steps = _merge_steps(*inherited, [(edge["transformation_type"], edge.get("transformation_logic", ""))])
        state[edge["target_column"]] = {"origins": origins, "steps": steps}
    return state


def lineage_rows(*, source_name: str, staging_table: str, target_table: str, target_columns: list[str],
                 source_columns: list[str], edges: list[dict]) -> list[dict]:
    """The lineage rows of one run: rows for every (non-technical) target column, see the module docstring.

    `edges` are `LineageEdge.as_dict()` in the order the steps recorded them; `source_columns` the columns the
    extract produced (what the staging table holds); `target_columns` the columns the load wrote.
    """
    data_source_columns = [c for c in source_columns if c not in TECHNICAL_COLUMNS]
    resolved = resolve_edges(edges, data_source_columns)
    upstream = staging_table or source_name
    rows: list[dict] = []
    extracted: set[str] = set()

    def extract(column: str) -> None:
        if staging_table and column not in extracted:
            extracted.add(column)
            rows.append(_row(source_name, column, staging_table, column, "extract", "copy"))

    for column in data_source_columns:
        extract(column)
    for column in target_columns:
        if column in TECHNICAL_COLUMNS:
            continue
        item = resolved.get(column)
        if item is None or not item["steps"]:
            extract(column)
            rows.append(_row(upstream, column, target_table, column, "load", "copy"))
            continue
        kind, logic = _join_steps(item["steps"])
        for table, origin in item["origins"]:
            if table:
                rows.append(_row(table, origin, target_table, column, kind, logic))
            else:
                extract(origin)
                rows.append(_row(upstream, origin, target_table, column, kind, logic))
    return rows


def lineage_record(*, target: ClickHouseTarget, run_id: int, rows: list[dict], record_count: int) -> int:
    """Write a run's lineage rows (replacing what an earlier attempt of the run wrote); returns the count."""
    run_id = int(run_id)
    return replace_run_rows(target, TABLE, run_id, [[row[k] for k in ROW_KEYS] + [run_id, int(record_count)]
                                                    for row in rows], _INSERT_COLUMNS)
