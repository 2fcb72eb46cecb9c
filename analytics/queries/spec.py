"""The specification's monitoring queries, verbatim, and the way the dashboards narrow them.

The dashboards add their filters as extra WHERE conditions (bound parameters only) in front of the
query's GROUP BY / ORDER BY and a LIMIT at the end; with no filter the query is the specification's own plus
the LIMIT. tests/test_monitoring_queries.py runs the same texts.

`LATEST_RUNS` reads the metadata database (PostgreSQL), the two others ClickHouse; the three are kept
together because the specification gives them together and a test compares all three with its text.
"""

from __future__ import annotations

import re

# Line breaks kept as in the specification; long lines split only in Python's source.
LATEST_RUNS = ("SELECT p.name as pipeline_name, pr.status, pr.started_at, pr.finished_at, pr.duration_seconds, "
               "pr.records_processed\n"
               "FROM pipelines p JOIN pipeline_runs pr ON p.id = pr.pipeline_id\n"
               "ORDER BY pr.created_at DESC LIMIT 10")

FAILED_QUALITY = ("SELECT table_name, metric_name, metric_value, is_passed, created_at\n"
                  "FROM data_quality_metrics WHERE is_passed = false ORDER BY created_at DESC")

BUSINESS_SUMMARY = ("SELECT metric_category, metric_name, AVG(metric_value) as avg_value, "
                    "MAX(calculation_date) as last_calculated\n"
                    "FROM business_metrics GROUP BY metric_category, metric_name "
                    "ORDER BY metric_category, avg_value DESC")

# The run's id beside the latest runs' columns (their page links each row to its run): the same rows,
# read in the same statement, so the numbers shown are the specification's own.
LATEST_RUNS_ID_COLUMN = "pr.id AS run_id"

_TAIL = re.compile(r"\s(GROUP BY|ORDER BY)\s")
_SELECT = re.compile(r"^SELECT ")


def narrowed(sql: str, conditions: list[str], *, limit_param: str | None = "limit") -> str:
    """`sql` with `conditions` ANDed into its WHERE (or a new WHERE) and ``LIMIT {limit:UInt32}`` appended."""
    if conditions:
        match = _TAIL.search(sql)
        head, tail = (sql[:match.start()], sql[match.start():]) if match else (sql, "")
        joiner = " AND " if re.search(r"\sWHERE\s", head) else "\nWHERE "
        sql = head + joiner + " AND ".join(conditions) + tail
    if limit_param:
        sql += f"\nLIMIT {{{limit_param}:UInt32}}"
    return sql


def with_columns(sql: str, columns: list[str]) -> str:
    """`sql` selecting `columns` after its own ones (which keep their names, order and values)."""
    if not _SELECT.match(sql):
        raise ValueError("not a SELECT statement")
    match = re.search(r"\nFROM ", sql)
    if match is None:
        raise ValueError("no FROM on a line of its own")
    return sql[:match.start()] + ", " + ", ".join(columns) + sql[match.start():]
