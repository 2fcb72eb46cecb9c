"""Business metrics: definitions from the pipeline configuration, computed in ClickHouse after each load.

A definition (a JSON object in the pipeline configuration's ``business_metrics`` list)::

    {"name": "revenue", "category": "sales", "aggregation": "sum", "column": "amount", "unit": "RUB",
     "dimensions": ["product_name"], "date_column": "date", "label": "Revenue"}

* ``label`` (optional): the name the pages show ("Average check"); without it the name in words;
* ``aggregation``: one of `AGGREGATIONS`; ``column`` is required except for ``count`` (``count`` alone counts
  rows, ``count`` with a column counts its non-empty values);
* ``dimensions`` (optional): one row per combination of their values, stored in ``dimension_values`` as JSON
  (``{"product_name": "Ceramic mug"}``); without dimensions ``dimension_values`` is ``{}``;
* ``date_column`` (optional): one row per calendar day of that column, the day going to ``calculation_date``;
  rows whose date is empty are left out. Without it ``calculation_date`` is the day of the computation.

Only the run's own rows count (``_pipeline_run_id``). Column names are checked against the table's columns
and backquoted, the aggregation comes from a fixed list and values are bound parameters: nothing of a
definition is formatted into SQL unchecked. Computing a run again replaces that run's rows of these metrics.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timezone

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from analytics.clickhouse.client import ClickHouseError, ClickHouseTarget, quote_identifier
from analytics.loading import LOADED_AT_COLUMN, ROW_NUMBER_COLUMN, RUN_ID_COLUMN, table_columns
from analytics.queries.run_rows import replace_run_rows

TABLE = "business_metrics"
AGGREGATIONS: dict[str, str] = {
    "sum": "sum({column})",
    "count": "count({column})",
    "avg": "avg({column})",
    "min": "min({column})",
    "max": "max({column})",
    "count_distinct": "uniqExact({column})",
}
KEYS = ("name", "category", "aggregation", "column", "unit", "dimensions", "date_column", "label")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TECHNICAL = {ROW_NUMBER_COLUMN, RUN_ID_COLUMN, LOADED_AT_COLUMN}
_INSERT_COLUMNS = ("metric_category", "metric_name", "metric_value", "metric_unit", "dimension_values",
                   "calculation_date", "pipeline_run_id")

# The specification's demo pipeline: revenue and orders per day, the average check per product.
# Their labels are English in the configuration and shown in the viewer's language (gettext_noop puts them
# in the catalogue; the dashboards translate a label the catalogue knows).
DEMO_BUSINESS_METRICS: list[dict] = [
    {"name": "revenue", "label": gettext_noop("Revenue"), "category": "sales", "aggregation": "sum",
     "column": "amount", "unit": "RUB", "date_column": "date"},
    {"name": "orders", "label": gettext_noop("Orders"), "category": "sales", "aggregation": "count",
     "unit": "orders", "date_column": "date"},
    {"name": "average_check", "label": gettext_noop("Average check"), "category": "sales", "aggregation": "avg",
     "column": "amount", "unit": "RUB", "dimensions": ["product_name"]},
]


class BusinessMetricError(ClickHouseError):
    """A definition cannot be computed over the table (a missing column ...); the message is for the user."""


def _identifier_error(where: str, value) -> str | None:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        return _("%(where)s: expected a column name (letters, digits and _, not starting with a digit), got "
                 "%(value)s.") % {"where": where, "value": json.dumps(value, ensure_ascii=False, default=str)}
    return None


def business_metric_errors(definitions) -> list[str]:
    """What is wrong with a list of metric definitions; an empty list when nothing is."""
    if not isinstance(definitions, list):
        return [_("business_metrics must be a list of metric definitions.")]
    errors: list[str] = []
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        where = _("business_metrics[%(index)d]") % {"index": index}
        if not isinstance(definition, dict):
            errors.append(_("%(where)s: expected a JSON object.") % {"where": where})
            continue
        for key in definition:
            if key not in KEYS:
                errors.append(_("%(where)s: unknown key \"%(key)s\"; expected: %(keys)s.")
                              % {"where": where, "key": key, "keys": ", ".join(KEYS)})
        for key in ("name", "category"):
            value = definition.get(key)
            if not isinstance(value, str) or not value.strip():
                errors.append(_("%(where)s.%(key)s: a non-empty string is required.") % {"where": where, "key": key})
        name = definition.get("name")
        if isinstance(name, str) and name.strip():
            if name in seen:
                errors.append(_("%(where)s.name: the metric \"%(name)s\" is defined twice.")
                              % {"where": where, "name": name})
            seen.add(name)
        aggregation = definition.get("aggregation")
        if aggregation not in AGGREGATIONS:
            errors.append(_("%(where)s.aggregation: expected one of %(known)s, got %(value)s.") % {
                "where": where, "known": ", ".join(AGGREGATIONS),
                "value": json.dumps(aggregation, ensure_ascii=False, default=str)})
        if "column" in definition or aggregation not in ("count", None):
            if "column" not in definition and aggregation in AGGREGATIONS:
                errors.append(_("%(where)s.column: the aggregation \"%(aggregation)s\" needs a column.")
                              % {"where": where, "aggregation": aggregation})
            elif "column" in definition:
                problem = _identifier_error(f"{where}.column", definition["column"])
                if problem:
                    errors.append(problem)
        if "unit" in definition and not isinstance(definition["unit"], str):
            errors.append(_("%(where)s.unit: expected a string.") % {"where": where})
        if "label" in definition and not (isinstance(definition["label"], str) and definition["label"].strip()):
            errors.append(_("%(where)s.label: expected the name people read, e.g. \"Average check\".")
                          % {"where": where})
        if "dimensions" in definition:
            dimensions = definition["dimensions"]
            if not isinstance(dimensions, list):
                errors.append(_("%(where)s.dimensions: expected a list of column names.") % {"where": where})
            else:
                for position, dimension in enumerate(dimensions):
                    problem = _identifier_error(f"{where}.dimensions[{position}]", dimension)
                    if problem:
                        errors.append(problem)
                if len(set(map(str, dimensions))) != len(dimensions):
                    errors.append(_("%(where)s.dimensions: a column is named twice.") % {"where": where})
        if "date_column" in definition:
            problem = _identifier_error(f"{where}.date_column", definition["date_column"])
            if problem:
                errors.append(problem)
    return errors


def _base_type(clickhouse_type: str) -> str:
    inner = clickhouse_type
    for wrapper in ("Nullable(", "LowCardinality("):
        while inner.startswith(wrapper):
            inner = inner[len(wrapper):-1]
    return inner


def _metric_sql(definition: dict, table: str, columns: dict[str, str]) -> tuple[str, list[str], bool]:
    """The query computing one definition, the dimension names it groups by, and whether it groups by day."""
    name = definition["name"]
    used = [definition["column"]] if definition.get("column") else []
    dimensions = list(definition.get("dimensions") or [])
    date_column = definition.get("date_column")
    for column in [*used, *dimensions, *([date_column] if date_column else [])]:
        if column not in columns or column in _TECHNICAL:
            raise BusinessMetricError(
                _("Business metric \"%(metric)s\": table %(table)s has no column \"%(column)s\" (it has: %(have)s).")
                % {"metric": name, "table": table, "column": column,
                   "have": ", ".join(c for c in columns if c not in _TECHNICAL)})
    value = AGGREGATIONS[definition["aggregation"]].format(
        column=quote_identifier(used[0]) if used else "")
    # Aliases with a `$`, which no loaded column has: ClickHouse aliases are visible in the whole query, so a
    # column called `metric_value` would otherwise become an aggregate inside its own aggregate.
    select = [f"toFloat64({value}) AS {quote_identifier('m$value')}"]
    where = [f"{quote_identifier(RUN_ID_COLUMN)} = {{run:UInt64}}"]
    group: list[str] = []
    if date_column:
        quoted = quote_identifier(date_column)
        base = _base_type(columns[date_column])
        day = f"toDate({quoted})" if base.startswith(("Date", "DateTime")) else f"toDateOrNull(toString({quoted}))"
        select.append(f"{day} AS {quote_identifier('m$day')}")
        where.append(f"{day} IS NOT NULL")
        group.append(quote_identifier("m$day"))
    for position, dimension in enumerate(dimensions):
        alias = quote_identifier(f"m$dimension_{position}")
        select.append(f"toString({quote_identifier(dimension)}) AS {alias}")
        group.append(alias)
    sql = f"SELECT {', '.join(select)} FROM {quote_identifier(table)} WHERE {' AND '.join(where)}"
    if group:
        sql += f" GROUP BY {', '.join(group)} ORDER BY {', '.join(group)}"
    return sql, dimensions, bool(date_column)


def business_metrics_compute(*, target: ClickHouseTarget, table: str, run_id: int,
                             definitions: list[dict]) -> list[dict]:
    """Compute `definitions` over run `run_id`'s rows of `table` and write them to business_metrics.

    Returns the rows written (dicts with the business_metrics columns). Raises `BusinessMetricError` for an
    invalid definition or a column the table lacks, before anything is written.
    """
    errors = business_metric_errors(definitions)
    if errors:
        raise BusinessMetricError(" ".join(errors))
    if not definitions:
        return []
    if not _IDENTIFIER.match(table or ""):
        raise BusinessMetricError(_("Invalid target table name: %(name)s") % {"name": table})
    columns = table_columns(target, table)
    if not columns:
        raise BusinessMetricError(_("Target table %(table)s does not exist.") % {"table": table})
    queries = [(definition, *_metric_sql(definition, table, columns)) for definition in definitions]
    today = datetime.now(timezone.utc).date()
    written: list[dict] = []
    with target.connection() as client:
        for definition, sql, dimensions, by_day in queries:
            result = client.query(sql, parameters={"run": int(run_id)})
            for row in result.result_rows:
                value = row[0]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue  # avg/min/max over no rows: nothing to report
                offset = 1
                day = today
                if by_day:
                    day = row[1]
                    day = day.date() if isinstance(day, datetime) else day
                    offset = 2
                dimension_values = {dimension: row[offset + i] for i, dimension in enumerate(dimensions)}
                written.append({
                    "metric_category": definition["category"],
                    "metric_name": definition["name"],
                    "metric_value": float(value),
                    "metric_unit": definition.get("unit", ""),
                    "dimension_values": json.dumps(dimension_values, ensure_ascii=False, sort_keys=True),
                    "calculation_date": day if isinstance(day, date) else date.fromisoformat(str(day)),
                    "pipeline_run_id": int(run_id),
                })
    # A run computed again (a retry, a re-run) replaces its earlier rows of these metrics.
    replace_run_rows(target, TABLE, run_id, [[row[c] for c in _INSERT_COLUMNS] for row in written], _INSERT_COLUMNS,
                     also={"metric_name": [d["name"] for d in definitions]}, batches=_by_partitions)
    return written


# business_metrics is partitioned by month; ClickHouse refuses an insert block spanning more than
# max_partitions_per_insert_block (100) partitions, which decades of daily values do.
PARTITIONS_PER_INSERT = 90
_DATE_INDEX = _INSERT_COLUMNS.index("calculation_date")


def _by_partitions(rows: list[list]) -> list[list[list]]:
    """The rows (lists in the order of _INSERT_COLUMNS) in inserts of at most PARTITIONS_PER_INSERT months each."""
    months: dict[tuple[int, int], list[list]] = {}
    for row in rows:
        day = row[_DATE_INDEX]
        months.setdefault((day.year, day.month), []).append(row)
    keys = sorted(months)
    return [[row for key in keys[i:i + PARTITIONS_PER_INSERT] for row in months[key]]
            for i in range(0, len(keys), PARTITIONS_PER_INSERT)]
