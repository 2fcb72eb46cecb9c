"""The lineage graph of one run: source -> staging -> target tables and their columns, from ``data_lineage``.

Which run: the one asked for, else the newest run of the pipeline asked for that recorded lineage, else the
newest run that did. The graph is cytoscape.js elements: a compound node per table (kind source, staging or
target, placed in that column from left to right) holding a node per column, and an edge per lineage row
labelled with its transformation.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from analytics.labels import lineage_logic_label, lineage_type_label
from analytics.lineage_graph import KINDS as KIND_ORDER
from analytics.lineage_graph import LineageGraph
from analytics.queries import lineage as queries
from pipelines.models import Pipeline, PipelineRun

MAX_EDGES = 2000
RECENT_RUNS = 200
_X_STEP, _Y_STEP, _TABLE_GAP = 380, 58, 80


def lineage_run_id(*, run_id: int | None = None, pipeline: Pipeline | None = None) -> int | None:
    if run_id is not None:
        return run_id
    runs = None
    if pipeline is not None:
        runs = list(PipelineRun.objects.filter(pipeline=pipeline).order_by("-created_at")
                    .values_list("pk", flat=True)[:RECENT_RUNS])
    return queries.latest_lineage_run(run_ids=runs)


def lineage_edges(run_id: int) -> list[dict]:
    return queries.lineage_edges(run_id, limit=MAX_EDGES)


def column_label(column: str, headers: dict | None) -> str:
    """A column node's text: the sanitized name, and under it the file's own header when that differs
    (`body_mass_g` / `Body Mass (g)`), so a person recognises their column."""
    header = (headers or {}).get(column)
    # "Species" beside "species" adds nothing; "Body Mass (g)" beside "body_mass_g" does
    return f"{column}\n{header}" if header and header.strip().lower() != column else column


def lineage_graph(edges: list[dict], *, headers: dict | None = None) -> dict:
    """cytoscape.js elements (nodes with preset positions, edges) and the tables by kind.

    `headers` (a run's execution_context["source_headers"]: column -> the file's header) adds the original
    header to the label of every node of that column. The lineage page and the run page both draw this; the
    graph itself is analytics.lineage_graph's, which OpenLineage events follow too."""
    graph = LineageGraph(edges)
    kinds = graph.table_kinds()
    columns = graph.columns()
    placed: dict[tuple[str, str], float] = {}

    def barycentre(table: str, column: str) -> float:
        # a column sits level with the columns it comes from, so edges cross as little as possible
        ys = [placed[u] for u in graph.upstream(table, column) if u in placed]
        return sum(ys) / len(ys) if ys else float("inf")

    nodes, heights = [], dict.fromkeys(KIND_ORDER, 0)
    for table in sorted(kinds, key=lambda t: (KIND_ORDER.index(kinds[t]), t)):
        kind = kinds[table]
        x = KIND_ORDER.index(kind) * _X_STEP
        nodes.append({"data": {"id": f"t:{table}", "label": table, "kind": kind, "table": table, "column": ""},
                      "classes": f"table {kind}"})
        for column in sorted(columns[table], key=lambda c: barycentre(table, c)):
            placed[(table, column)] = heights[kind]
            nodes.append({"data": {"id": f"c:{table}.{column}", "parent": f"t:{table}",
                                   "label": column_label(column, headers), "header": (headers or {}).get(column, ""),
                                   "kind": kind, "table": table, "column": column},
                          "position": {"x": x, "y": heights[kind]}, "classes": "column"})
            heights[kind] += _Y_STEP
        heights[kind] += _TABLE_GAP
    links = []
    for i, edge in enumerate(edges):
        source = (f"c:{edge['source_table']}.{edge['source_column']}" if edge["source_column"]
                  else f"t:{edge['source_table']}")
        target = (f"c:{edge['target_table']}.{edge['target_column']}" if edge["target_column"]
                  else f"t:{edge['target_table']}")
        links.append({"data": {"id": f"e{i}", "source": source, "target": target,
                               "label": lineage_type_label(edge["transformation_type"]),
                               "logic": lineage_logic_label(edge["transformation_logic"]),
                               "records": edge["record_count"]}})
    by_kind = {kind: sorted(t for t, k in kinds.items() if k == kind) for kind in KIND_ORDER}
    return {"elements": nodes + links, "tables": by_kind}


def lineage_labels() -> dict:
    """The words static/dashboards/lineage.js shows (the catalog panel), in the viewer's language."""
    return {"column": _("Column"), "type": _("Type"), "description": _("Description"),
            "business_meaning": _("Business meaning"), "owner": _("Owner"), "tags": _("Tags"),
            "sensitivity": _("Sensitivity"), "personal_data": _("Personal data"),
            "open_catalog": _("Open in the catalog"), "loading": _("Loading…"),
            "failed": _("The catalog entry could not be loaded.")}
