"""Reads of ``business_metrics`` for the business dashboard.

Business metrics are dated by their data (``calculation_date``). Every query is narrowed by the same
optional conditions: a period of calculation dates (``since`` exclusive, ``until`` inclusive) and the runs
that wrote the rows (``run_ids``); every query aggregates in ClickHouse and ends in a LIMIT.
"""

from __future__ import annotations

from datetime import date

from analytics.masking import EVERYTHING, MASK
from analytics.queries.spec import BUSINESS_SUMMARY, narrowed
from analytics.queries.timing import named_rows

# Points of a series: one per day, week (starting on Monday) or month.
GRANULARITIES = {"day": "calculation_date", "week": "toMonday(calculation_date)",
                 "month": "toStartOfMonth(calculation_date)"}
# How a week or a month combines the daily values of a metric with this aggregation.
BUCKET_COMBINE = {"sum": "sum", "count": "sum", "avg": "avg", "min": "min", "max": "max", "count_distinct": "avg"}
# Rows without dimensions are a metric's total; a metric defined only per dimension falls back to the average.
_DAY_VALUE = ("if(countIf(dimension_values = '{}') > 0, avgIf(metric_value, dimension_values = '{}'), "
              "avg(metric_value))")
# A dimension the viewer may not see (`hidden`, or all of them with `hide_all`) shows the mask instead of its
# value, so the bars of different people merge into one and no value reaches the page.
_DIMENSION_LABEL = ("arrayStringConcat(arrayMap(kv -> concat(kv.1, ': ', "
                    "if({hide_all:Bool} OR has({hidden:Array(String)}, kv.1), {mask:String}, kv.2)), "
                    "JSONExtractKeysAndValues(dimension_values, 'String')), ', ')")


def _masking(hidden) -> dict:
    """The parameters of _DIMENSION_LABEL for the dimension names to hide (`EVERYTHING` hides all)."""
    return {"hide_all": hidden is EVERYTHING, "hidden": [] if hidden is EVERYTHING else sorted(hidden),
            "mask": MASK}


def _conditions(since: date | None, until: date | None, run_ids: list[int] | None) -> tuple[list[str], dict]:
    conditions: list[str] = []
    params: dict = {}
    if since is not None:
        conditions += ["calculation_date > {since:Date}", "calculation_date <= {until:Date}"]
        params.update(since=since, until=until)
    if run_ids is not None:
        conditions.append("pipeline_run_id IN {runs:Array(UInt64)}")
        params["runs"] = run_ids
    return conditions, params


def _where(conditions: list[str]) -> str:
    return " AND " + " AND ".join(conditions) if conditions else ""


def summary(*, since: date | None, until: date | None, run_ids: list[int] | None, limit: int) -> list[dict]:
    """The specification's query: average and last calculation date by category and name."""
    conditions, params = _conditions(since, until, run_ids)
    return named_rows("business.summary", narrowed(BUSINESS_SUMMARY, conditions), {**params, "limit": limit})


def series_extent(category: str, name: str, *, since: date | None, until: date | None,
                  run_ids: list[int] | None) -> dict[str, int]:
    """How many points the metric's series has per granularity (days, weeks, months with a value)."""
    conditions, params = _conditions(since, until, run_ids)
    rows = named_rows(
        "business.series_extent",
        "SELECT uniqExact(calculation_date) AS day, uniqExact(toMonday(calculation_date)) AS week, "
        "uniqExact(toStartOfMonth(calculation_date)) AS month FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String}" + _where(conditions),
        {**params, "category": category, "name": name})
    return {key: int(value) for key, value in rows[0].items()} if rows else dict.fromkeys(GRANULARITIES, 0)


def series(category: str, name: str, *, since: date | None, until: date | None, run_ids: list[int] | None,
           granularity: str, aggregation: str, offset: int, limit: int) -> list[dict]:
    """One metric per calculation day, week or month (at most `limit` points from `offset`).

    A week or month adds up its days for a metric that is a sum or a count (revenue, orders) and takes
    their average, minimum or maximum for one that is that (the average check)."""
    conditions, params = _conditions(since, until, run_ids)
    # only the fixed expressions of the two tables above are formatted in, never what was asked for
    bucket = GRANULARITIES.get(granularity, GRANULARITIES["day"])
    combine = BUCKET_COMBINE.get(aggregation, "avg")
    return named_rows(
        "business.series",
        f"SELECT {bucket} AS day, {combine}(day_value) AS value, any(day_unit) AS unit FROM ("
        f"SELECT calculation_date, {_DAY_VALUE} AS day_value, any(metric_unit) AS day_unit FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String}" + _where(conditions) +
        " GROUP BY calculation_date) GROUP BY day ORDER BY day LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        {**params, "category": category, "name": name, "limit": limit, "offset": max(0, int(offset))})


def metric_run_ids(category: str, name: str, *, since: date | None, until: date | None,
                   run_ids: list[int] | None) -> list[int]:
    """The runs whose rows of one metric are within the narrowing (whose dimensions a breakdown shows)."""
    conditions, params = _conditions(since, until, run_ids)
    rows = named_rows(
        "business.metric_run_ids",
        "SELECT DISTINCT pipeline_run_id AS run FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String} "
        "AND dimension_values != '{}'" + _where(conditions), {**params, "category": category, "name": name})
    return [int(row["run"]) for row in rows]


def breakdown_count(category: str, name: str, *, since: date | None, until: date | None,
                    run_ids: list[int] | None, hidden=EVERYTHING) -> int:
    conditions, params = _conditions(since, until, run_ids)
    rows = named_rows(
        "business.breakdown_count",
        f"SELECT uniqExact({_DIMENSION_LABEL}) AS n FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String} "
        "AND dimension_values != '{}'" + _where(conditions),
        {**params, **_masking(hidden), "category": category, "name": name})
    return int(rows[0]["n"]) if rows else 0


def breakdown(category: str, name: str, *, since: date | None, until: date | None, run_ids: list[int] | None,
              limit: int, hidden=EVERYTHING) -> list[dict]:
    """One metric by its dimension values (averaged over the period), largest first; the values of the
    dimensions in `hidden` (all by default: the caller says what the viewer may see) masked."""
    conditions, params = _conditions(since, until, run_ids)
    return named_rows(
        "business.breakdown",
        f"SELECT {_DIMENSION_LABEL} AS dimension, avg(metric_value) AS value FROM business_metrics "
        "WHERE metric_category = {category:String} AND metric_name = {name:String} "
        "AND dimension_values != '{}'" + _where(conditions) +
        " GROUP BY dimension ORDER BY value DESC, dimension LIMIT {limit:UInt32}",
        {**params, **_masking(hidden), "category": category, "name": name, "limit": limit})
