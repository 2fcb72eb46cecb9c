"""The one reading of lineage rows as a graph, for every user of it: the lineage and run pages draw it
(dashboards.lineage lays it out for cytoscape.js) and OpenLineage events follow it back to their inputs
(analytics.openlineage).

A row (``source_table.source_column -> target_table.target_column``, see analytics.lineage) is an edge; a
node is a (table, column) pair, or a whole table where a row names no column.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

KINDS = ("source", "staging", "target")


class LineageGraph:
    def __init__(self, rows: Iterable[dict]):
        self.rows = list(rows)
        # (table, column) -> the rows that fill it, in the rows' order
        self.into: dict[tuple[str, str], list[dict]] = {}
        for row in self.rows:
            self.into.setdefault((row["target_table"], row["target_column"]), []).append(row)

    def table_kinds(self) -> dict[str, str]:
        """Each table's part in the run: ``staging`` (what the extract fills), ``target`` (what anything else
        fills) or ``source`` (what nothing fills), in the order the rows first name them."""
        staging = {r["target_table"] for r in self.rows if r["transformation_type"] == "extract"}
        targets = {r["target_table"] for r in self.rows} - staging
        kinds: dict[str, str] = {}
        for row in self.rows:
            for table in (row["source_table"], row["target_table"]):
                kinds[table] = "staging" if table in staging else "target" if table in targets else "source"
        return kinds

    def columns(self) -> dict[str, list[str]]:
        """Each table's columns named by the rows, in the order first named (a table without any: [])."""
        found: dict[str, list[str]] = {}
        for row in self.rows:
            for table, column in ((row["source_table"], row["source_column"]),
                                  (row["target_table"], row["target_column"])):
                names = found.setdefault(table, [])
                if column and column not in names:
                    names.append(column)
        return found

    def upstream(self, table: str, column: str) -> list[tuple[str, str]]:
        """The nodes one hop before (table, column)."""
        return [(r["source_table"], r["source_column"]) for r in self.into.get((table, column), [])]

    def origins(self, table: str, column: str, *, stop: Container[str]) -> list[tuple[str, str]]:
        """Where (table, column) comes from: the rows followed back until a table in `stop` or a node that
        nothing fills (a cycle ends where it closes)."""
        def walk(node: tuple[str, str], seen: frozenset) -> list[tuple[str, str]]:
            if node[0] in stop or node in seen or not self.into.get(node):
                return [node]
            found: list[tuple[str, str]] = []
            for row in self.into[node]:
                for origin in walk((row["source_table"], row["source_column"]), seen | {node}):
                    if origin not in found:
                        found.append(origin)
            return found

        return walk((table, column), frozenset())
