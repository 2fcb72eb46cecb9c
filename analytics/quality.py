"""Data-quality metrics of a load, checked against fixed or learned thresholds.

After a run's rows are committed to a target table, `quality_measure()` computes, in one ClickHouse query over
the run's rows (``WHERE _pipeline_run_id = run``):

* per data column (columns whose name starts with ``_`` are system columns and skipped):
  ``null_rate`` (NULLs / rows), ``distinct_count`` (``uniqExact``, NULL not counted), and for numeric, Bool
  and date/time columns ``min``, ``max``, ``mean`` as Float64 — Date/Date32 as the day number since
  1970-01-01, DateTime/DateTime64 as Unix epoch seconds (with fractions), Bool as 0/1, Decimal converted to
  Float64. ``min``/``max``/``mean`` are omitted when every value of the column is NULL, and all per-column
  row-based metrics are omitted when the run loaded no rows;
  ``invalid_rate`` = ``invalid_by_column[column] / rows_read`` (0 when ``rows_read`` is 0);
* per table (``column_name = ''``): ``row_count`` (the run's loaded rows) and ``freshness_seconds`` — now
  minus the newest ``_loaded_at`` of the *whole table*, so a run that loaded nothing shows how old the
  table's data is ("no new data"); omitted while the table is empty;
* per validation rule and column the run's rows were checked against (``validation``, given by the engine:
  rule, column, rows checked, rows failed): ``validation_<rule>`` (e.g. ``validation_data_types``) = the share
  of checked rows that passed it, ``threshold_min`` 1. Each is a check of the report: it passes when no row
  failed the rule, so a run whose every row was quarantined has a pass rate of 0 on its rules, not 1.0 with
  nothing checked. Its severity (``error`` / ``warn``) comes with the outcome.

Every metric is written to ``data_quality_metrics`` (replacing what an earlier measurement of the same run and
table wrote) with ``threshold_min``/``threshold_max`` (the tightest
bounds of the checks on it, NULL when unchecked) and ``is_passed`` (every check on it passed).

Configuration: the pipeline's ``configuration["quality"]``::

    {"checks": [
        {"metric": "null_rate", "column": "amount", "max": 0.05, "severity": "error"},
        {"metric": "invalid_rate", "column": "email", "mostly": 0.95, "severity": "warn"},
        {"metric": "row_count", "learned": true, "severity": "error", "window": 10, "sensitivity": 3.5},
     ],
     "learned_by_default": true}

* fixed checks give ``min`` and/or ``max``; ``severity`` is ``error`` (default) or ``warn``;
* ``mostly`` (Great Expectations' word) applies to the rate metrics ``null_rate`` and ``invalid_rate`` only:
  "at least ``mostly`` of the rows must be filled / valid", i.e. ``max = 1 - mostly``. Give either
  ``mostly`` or ``max``, not both;
* learned checks (``"learned": true``) take their bounds from the same metric of the same table and column
  over the pipeline's last successful runs (``history_run_ids``, newest first; the first ``window`` of them,
  default 10): ``median ± max(sensitivity × 1.4826 × MAD, tolerance × |median|, floor)`` — a robust z-score
  (``sensitivity`` default 3.5), widened to at least ``tolerance`` (default 0.1, i.e. ±10 % of the median)
  so a history of near-identical values does not turn normal variation into alerts; ``floor`` is 0.01 for
  rates and 1 otherwise. Fewer than 3 history values: no learned bound (the check is skipped). Rates are
  clamped to [0, 1] and counts to >= 0. ``bound`` = ``both`` | ``lower`` | ``upper`` picks the sides;
* with ``learned_by_default`` (default true) every table gets a learned ``row_count`` check (both sides) and
  every column a learned upper bound on ``null_rate``, both ``warn``; an explicit check on the same metric
  and column with ``"learned": true`` replaces the default one.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from analytics.clickhouse.client import ClickHouseTarget, quote_identifier
from analytics.loading import LOADED_AT_COLUMN, RUN_ID_COLUMN, table_columns
from analytics.queries.run_rows import replace_run_rows

METRICS_TABLE = "data_quality_metrics"
COLUMN_METRICS = ("null_rate", "distinct_count", "min", "max", "mean", "invalid_rate")
TABLE_METRICS = ("row_count", "freshness_seconds")
RATE_METRICS = ("null_rate", "invalid_rate")
VALIDATION_PREFIX = "validation_"  # + the rule's name: a validation outcome (see the module doc)
SEVERITIES = ("error", "warn")
MIN_HISTORY = 3
DEFAULT_WINDOW = 10
DEFAULT_SENSITIVITY = 3.5
DEFAULT_TOLERANCE = 0.1
MAD_TO_SIGMA = 1.4826
CRITICAL_DROP = 0.8  # row_count at or below 20 % of the usual: critical

_NUMERIC_PREFIXES = ("Int", "UInt", "Float", "Decimal", "Bool")
_DAY_TYPES = ("Date", "Date32")
_TIME_PREFIXES = ("DateTime",)


# --- configuration -----------------------------------------------------------------------------------------
def validate_quality_config(config: dict | None) -> list[str]:
    """Messages for what is wrong in ``config["quality"]`` (empty when fine); for the configuration form."""
    quality = (config or {}).get("quality") or {}
    errors: list[str] = []
    if not isinstance(quality, dict):
        return [_("quality must be an object.")]
    checks = quality.get("checks") or []
    if not isinstance(checks, list):
        return [_("quality.checks must be a list.")]
    for i, check in enumerate(checks, 1):
        where = _("quality check %(n)d") % {"n": i}
        if not isinstance(check, dict):
            errors.append(_("%(where)s must be an object.") % {"where": where})
            continue
        metric = check.get("metric")
        if metric not in COLUMN_METRICS + TABLE_METRICS:
            errors.append(_("%(where)s: unknown metric %(metric)s (use one of %(known)s).")
                          % {"where": where, "metric": metric, "known": ", ".join(COLUMN_METRICS + TABLE_METRICS)})
            continue
        if metric in COLUMN_METRICS and not check.get("column"):
            errors.append(_("%(where)s: %(metric)s needs a column.") % {"where": where, "metric": metric})
        if check.get("severity", "error") not in SEVERITIES:
            errors.append(_("%(where)s: severity must be error or warn.") % {"where": where})
        for key in ("min", "max", "mostly", "window", "sensitivity", "tolerance"):
            value = check.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                errors.append(_("%(where)s: %(key)s must be a number.") % {"where": where, "key": key})
        if "mostly" in check:
            if metric not in RATE_METRICS:
                errors.append(_("%(where)s: mostly applies to null_rate and invalid_rate only.") % {"where": where})
            elif "max" in check:
                errors.append(_("%(where)s: give either mostly or max, not both.") % {"where": where})
            elif isinstance(check["mostly"], (int, float)) and not 0 <= check["mostly"] <= 1:
                errors.append(_("%(where)s: mostly must be between 0 and 1.") % {"where": where})
        if check.get("bound", "both") not in ("both", "lower", "upper"):
            errors.append(_("%(where)s: bound must be both, lower or upper.") % {"where": where})
        if not check.get("learned") and all(check.get(k) is None for k in ("min", "max", "mostly")):
            errors.append(_("%(where)s: give min, max or mostly, or set learned.") % {"where": where})
    return errors


@dataclass
class _Check:
    metric: str
    column: str
    severity: str = "error"
    min: float | None = None
    max: float | None = None
    learned: bool = False
    window: int = DEFAULT_WINDOW
    sensitivity: float = DEFAULT_SENSITIVITY
    tolerance: float = DEFAULT_TOLERANCE
    bound: str = "both"


def _checks(config: dict, columns: list[str]) -> list[_Check]:
    quality = (config or {}).get("quality") or {}
    checks: list[_Check] = []
    for raw in quality.get("checks") or []:
        metric = raw["metric"]
        check = _Check(metric=metric, column=(raw.get("column") or "") if metric in COLUMN_METRICS else "",
                       severity=raw.get("severity", "error"), min=raw.get("min"), max=raw.get("max"),
                       learned=bool(raw.get("learned")), window=int(raw.get("window", DEFAULT_WINDOW)),
                       sensitivity=float(raw.get("sensitivity", DEFAULT_SENSITIVITY)),
                       tolerance=float(raw.get("tolerance", DEFAULT_TOLERANCE)), bound=raw.get("bound", "both"))
        if raw.get("mostly") is not None:
            check.max = 1 - float(raw["mostly"])
        checks.append(check)
    if quality.get("learned_by_default", True):
        explicit = {(c.metric, c.column) for c in checks if c.learned}
        defaults = [_Check("row_count", "", "warn", learned=True)]
        defaults += [_Check("null_rate", column, "warn", learned=True, bound="upper") for column in columns]
        checks += [c for c in defaults if (c.metric, c.column) not in explicit]
    return checks


# --- results -----------------------------------------------------------------------------------------------
@dataclass
class Metric:
    table_name: str
    column_name: str
    metric_name: str
    metric_value: float
    threshold_min: float | None = None
    threshold_max: float | None = None
    is_passed: bool = True


@dataclass
class FailedCheck:
    metric: str
    column: str
    value: float
    threshold_min: float | None
    threshold_max: float | None
    severity: str
    learned: bool = False
    baseline: float | None = None  # learned checks: the median of the history
    history_size: int = 0

    @property
    def below(self) -> bool:
        return self.threshold_min is not None and self.value < self.threshold_min


@dataclass
class QualityReport:
    table: str
    run_id: int
    metrics: list[Metric] = field(default_factory=list)
    failed: list[FailedCheck] = field(default_factory=list)
    checks_run: int = 0
    skipped: list[dict] = field(default_factory=list)  # checks with no metric or too little history
    validation: list[dict] = field(default_factory=list)  # the validation outcomes counted as checks

    def value(self, metric: str, column: str = "") -> float | None:
        for m in self.metrics:
            if m.metric_name == metric and m.column_name == column:
                return m.metric_value
        return None

    def analysis_results(self) -> list[dict]:
        """One ``data_quality`` result, plus one ``anomaly_detection`` result when a learned bound broke."""
        errors = [f for f in self.failed if f.severity == "error"]
        warnings = [f for f in self.failed if f.severity == "warn"]
        passed = self.checks_run - len(self.failed)
        quality = {
            "analysis_type": "data_quality",
            "result_data": {
                "table": self.table,
                "failed_checks": [_failed_dict(f) for f in self.failed],
                "skipped_checks": self.skipped,
                "checks_run": self.checks_run,
                "checks_failed": len(self.failed),
                "errors": len(errors),
                "warnings": len(warnings),
                "validation": self.validation,
            },
            "metrics": {
                "checks_run": self.checks_run,
                "checks_passed": passed,
                # nothing checked has no rate (the JSON column takes null); 1 would read as "100 % passed"
                "pass_rate": round(passed / self.checks_run, 4) if self.checks_run else None,
                "metrics_written": len(self.metrics),
                "row_count": self.value("row_count"),
                "rows_checked": max((v["rows_checked"] for v in self.validation), default=0),
                "rule_failures": sum(v["rows_failed"] for v in self.validation),
            },
            "recommendations": [_recommendation_code("quality_check", self.table, f) for f in self.failed],
            "is_alert": bool(errors),
            "alert_level": "high" if errors else "medium" if warnings else "low",
        }
        results = [quality]
        anomalies = [f for f in self.failed if f.learned]
        if anomalies:
            critical = any(_is_collapse(f) for f in anomalies)
            level = "critical" if critical else "high" if any(f.severity == "error" for f in anomalies) else "medium"
            results.append({
                "analysis_type": "anomaly_detection",
                "result_data": {
                    "table": self.table,
                    "anomalies": [_failed_dict(f) for f in anomalies],
                    "findings": [_anomaly_text(f) for f in anomalies],
                },
                "metrics": {
                    "anomalies": len(anomalies),
                    **{f"{f.metric}:{f.column}" if f.column else f.metric: {
                        "value": f.value, "usual": f.baseline,
                        "change": round(f.value / f.baseline - 1, 4) if f.baseline else None,
                    } for f in anomalies},
                },
                "recommendations": [_recommendation_code("quality_anomaly", self.table, f) for f in anomalies],
                "is_alert": True,
                "alert_level": level,
            })
        return results


def _recommendation_code(code: str, table: str, f: FailedCheck) -> dict:
    """Worded in the reader's language when shown (analytics.recommendations)."""
    return {"code": code, "params": {"table": table, **_failed_dict(f)}}


def _failed_dict(f: FailedCheck) -> dict:
    return {"metric": f.metric, "column": f.column, "value": f.value, "threshold_min": f.threshold_min,
            "threshold_max": f.threshold_max, "severity": f.severity, "learned": f.learned,
            "baseline": f.baseline, "history_size": f.history_size}


def _is_collapse(f: FailedCheck) -> bool:
    return (f.metric == "row_count" and f.below and bool(f.baseline)
            and (f.value <= 0 or f.value <= (1 - CRITICAL_DROP) * f.baseline))


# --- wording -----------------------------------------------------------------------------------------------
def _is_rate(metric: str) -> bool:
    return metric in RATE_METRICS or metric.startswith(VALIDATION_PREFIX)


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if _is_rate(metric):
        return f"{_num(value * 100, 1)}%"
    if metric in ("row_count", "distinct_count"):
        return number_format(int(round(value)), use_l10n=True, force_grouping=True)
    if metric == "freshness_seconds":
        return _duration(value)
    return _num(value, 4)


def _num(value: float, digits: int) -> str:
    """A localized number with at most `digits` decimals and no trailing ".0"."""
    value = round(value, digits)
    return number_format(int(value) if value == int(value) else value, use_l10n=True, force_grouping=True)


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return _("%(n)s d") % {"n": _num(seconds / 86400, 1)}
    if seconds >= 3600:
        return _("%(n)s h") % {"n": _num(seconds / 3600, 1)}
    return _("%(n)s s") % {"n": _num(seconds, 0)}


def _allowed(f: FailedCheck) -> str:
    lo, hi = _fmt(f.metric, f.threshold_min), _fmt(f.metric, f.threshold_max)
    if f.threshold_min is not None and f.threshold_max is not None:
        return _("allowed %(lo)s to %(hi)s") % {"lo": lo, "hi": hi}
    if f.threshold_max is not None:
        return _("allowed at most %(hi)s") % {"hi": hi}
    return _("allowed at least %(lo)s") % {"lo": lo}


def _recommendation(table: str, f: FailedCheck) -> str:
    args = {"table": table, "column": f.column, "value": _fmt(f.metric, f.value), "allowed": _allowed(f),
            "metric": f.metric}
    if f.metric == "null_rate":
        return _("Column %(column)s of %(table)s is empty in %(value)s of rows (%(allowed)s): check that the source "
                 "export still fills it, or add a fill_nulls step for it.") % args
    if f.metric.startswith(VALIDATION_PREFIX):
        args["rule"] = f.metric.removeprefix(VALIDATION_PREFIX)
        return _("Rule %(rule)s on %(column)s of %(table)s passed for %(value)s of the rows checked (%(allowed)s): "
                 "review this run's quarantined rows, then fix the source data or the rule.") % args
    if f.metric == "invalid_rate":
        return _("Column %(column)s failed validation in %(value)s of rows read (%(allowed)s): review this run's "
                 "quarantined rows, then fix the source data or the validation rule.") % args
    if f.metric == "row_count":
        if f.below:
            return _("Only %(value)s rows were loaded into %(table)s (%(allowed)s): check that the source export "
                     "is complete and that filters or incremental bounds did not skip data.") % args
        return _("%(value)s rows were loaded into %(table)s (%(allowed)s): check the source for duplicates or "
                 "a changed extraction window.") % args
    if f.metric == "freshness_seconds":
        return _("The newest data in %(table)s is %(value)s old (%(allowed)s): check that the pipeline runs on "
                 "schedule and its source receives new data.") % args
    if f.metric == "distinct_count":
        return _("Column %(column)s has %(value)s distinct values (%(allowed)s): check for a collapsed or "
                 "exploded set of keys in the source.") % args
    return _("Column %(column)s: %(metric)s is %(value)s (%(allowed)s): check the source values, or adjust the "
             "check if the new range is expected.") % args


def _anomaly_text(f: FailedCheck) -> str:
    args = {"metric": f.metric if not f.column else f"{f.metric}({f.column})", "value": _fmt(f.metric, f.value),
            "usual": _fmt(f.metric, f.baseline), "n": f.history_size}
    if f.below:
        return _("%(metric)s %(value)s is far below the usual %(usual)s (median of the last %(n)d runs)") % args
    return _("%(metric)s %(value)s is far above the usual %(usual)s (median of the last %(n)d runs)") % args


def _anomaly_recommendation(table: str, f: FailedCheck) -> str:
    text = _anomaly_text(f)
    if f.metric == "row_count" and f.below:
        return text + ": " + _("compare the source's record count for this period with the load and re-run "
                               "the pipeline once the source is complete.")
    if f.metric == "row_count":
        return text + ": " + _("check the source for duplicated or re-sent records.")
    if f.metric == "null_rate":
        return text + ": " + _("check whether the source stopped filling column %(column)s.") % {"column": f.column}
    return text + ": " + _("check the source values of %(table)s; if the change is intended it becomes the usual "
                           "after a few runs.") % {"table": table}


# --- measuring ---------------------------------------------------------------------------------------------
def _base_type(ch_type: str) -> str:
    for wrapper in ("Nullable(", "LowCardinality("):
        while ch_type.startswith(wrapper):
            ch_type = ch_type[len(wrapper):-1]
    return ch_type


def _numeric_expr(column: str, ch_type: str) -> str | None:
    """A Float64 expression for min/max/mean, or None for types without an order worth measuring."""
    base = _base_type(ch_type)
    q = quote_identifier(column)
    if base in _DAY_TYPES:
        return f"toFloat64(toInt32({q}))"
    if base.startswith(_TIME_PREFIXES) or base.startswith(_NUMERIC_PREFIXES):
        return f"toFloat64({q})"
    return None


def _alias(name: str) -> str:
    """A result alias no loaded column can be called: ClickHouse aliases are visible in the whole query, so
    `count() AS n` would turn a column named `n` into an aggregate inside `countIf(n IS NULL)` (error 184).
    Loaded columns are sanitized to [a-z0-9_]; a `$` keeps the aliases apart from them."""
    return "m$" + name


def _measure(target: ClickHouseTarget, table: str, run_id: int,
             columns: dict[str, str]) -> dict[tuple[str, str], float]:
    t = quote_identifier(table)
    loaded_at = quote_identifier(LOADED_AT_COLUMN)
    selects = [f"count() AS {quote_identifier(_alias('n'))}",
               f"(SELECT toFloat64(now64(3)) - toFloat64(max({loaded_at})) FROM {t}) "
               f"AS {quote_identifier(_alias('fresh'))}",
               f"(SELECT count() FROM {t}) AS {quote_identifier(_alias('table_rows'))}"]
    plan: list[tuple[str, str, str]] = []  # (alias, column, metric)
    for i, (column, ch_type) in enumerate(columns.items()):
        q = quote_identifier(column)
        selects.append(f"countIf({q} IS NULL) AS {quote_identifier(_alias(f'c{i}_nulls'))}")
        selects.append(f"uniqExact({q}) AS {quote_identifier(_alias(f'c{i}_distinct'))}")
        plan += [(_alias(f"c{i}_nulls"), column, "nulls"), (_alias(f"c{i}_distinct"), column, "distinct_count")]
        expr = _numeric_expr(column, ch_type)
        if expr is not None:
            for metric, fn in (("min", "min"), ("max", "max"), ("mean", "avg")):
                selects.append(f"{fn}({expr}) AS {quote_identifier(_alias(f'c{i}_{metric}'))}")
                plan.append((_alias(f"c{i}_{metric}"), column, metric))
    sql = (f"SELECT {', '.join(selects)} FROM {t} WHERE {quote_identifier(RUN_ID_COLUMN)} = {{run:UInt64}}")
    row = target.rows(sql, {"run": int(run_id)})[0]
    n = int(row[_alias("n")])
    values: dict[tuple[str, str], float] = {("row_count", ""): float(n)}
    if int(row[_alias("table_rows")]) and row[_alias("fresh")] is not None:
        values[("freshness_seconds", "")] = max(0.0, float(row[_alias("fresh")]))
    if n:
        for alias, column, metric in plan:
            value = row[alias]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if metric == "nulls":
                values[("null_rate", column)] = int(value) / n
            else:
                values[(metric, column)] = float(value)
    return values


def _history(target: ClickHouseTarget, table: str, run_ids: list[int]) -> dict[tuple[str, str], dict[int, float]]:
    if not run_ids:
        return {}
    rows = target.query(
        f"SELECT metric_name, column_name, pipeline_run_id, argMax(metric_value, created_at) FROM {METRICS_TABLE} "
        "WHERE table_name = {t:String} AND pipeline_run_id IN {runs:Array(UInt64)} "
        "GROUP BY metric_name, column_name, pipeline_run_id",
        {"t": table, "runs": [int(r) for r in run_ids]}).result_rows
    history: dict[tuple[str, str], dict[int, float]] = {}
    for metric, column, run, value in rows:
        history.setdefault((str(metric), str(column)), {})[int(run)] = float(value)
    return history


def _validation_check(report: QualityReport, outcome: dict, values: dict, bounds: dict, passed: dict) -> None:
    """One validation rule's outcome on one column as a metric and a check (every checked row must pass)."""
    checked, failed = int(outcome["rows_checked"]), int(outcome["rows_failed"])
    if not checked:
        return
    key = (VALIDATION_PREFIX + outcome["rule"], outcome["column"])
    value = (checked - min(failed, checked)) / checked
    values[key] = value
    bounds[key] = [1.0, None]
    passed[key] = not failed
    report.checks_run += 1
    report.validation.append({k: outcome[k] for k in ("rule", "column", "rows_checked", "rows_failed")})
    if failed:
        report.failed.append(FailedCheck(key[0], key[1], value, 1.0, None, outcome.get("severity", "warn")))


def learned_bounds(values: list[float], *, metric: str, sensitivity: float = DEFAULT_SENSITIVITY,
                   tolerance: float = DEFAULT_TOLERANCE) -> tuple[float, float, float] | None:
    """(lower, upper, median) from history values, or None with fewer than 3 values. See the module doc."""
    if len(values) < MIN_HISTORY:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    floor = 0.01 if metric in RATE_METRICS else 1.0
    half = max(sensitivity * MAD_TO_SIGMA * mad, tolerance * abs(median), floor)
    lower, upper = median - half, median + half
    if metric in RATE_METRICS:
        lower, upper = max(0.0, lower), min(1.0, upper)
    elif metric in ("row_count", "distinct_count", "freshness_seconds"):
        lower = max(0.0, lower)
    return lower, upper, median


def quality_measure(*, target: ClickHouseTarget, table: str, run_id: int, rows_read: int,
                    invalid_by_column: dict[str, int], config: dict, history_run_ids: list[int],
                    validation: list[dict] | None = None) -> QualityReport:
    """Measure run `run_id` of `table`, check it, write data_quality_metrics; see the module doc.

    `history_run_ids`: the pipeline's last successful runs before this one, newest first (this run excluded).
    `validation`: ``{"rule", "column", "rows_checked", "rows_failed", "severity"}`` per rule and column.
    Raises ValueError when ``config["quality"]`` is invalid (see `validate_quality_config`).
    """
    errors = validate_quality_config(config)
    if errors:
        raise ValueError("; ".join(errors))
    columns = {name: ch_type for name, ch_type in table_columns(target, table).items() if not name.startswith("_")}
    checks = _checks(config, list(columns))
    values = _measure(target, table, run_id, columns)
    invalid_columns = list(columns) + [c for c in invalid_by_column if c and not c.startswith("_") and c not in columns]
    for column in invalid_columns:
        invalid = int(invalid_by_column.get(column, 0) or 0)
        values[("invalid_rate", column)] = invalid / rows_read if rows_read else 0.0

    history_ids = [int(r) for r in history_run_ids if int(r) != int(run_id)]
    history = _history(target, table, history_ids) if any(c.learned for c in checks) else {}
    report = QualityReport(table=table, run_id=int(run_id))
    bounds: dict[tuple[str, str], list[float | None]] = {}
    passed: dict[tuple[str, str], bool] = {}
    for check in checks:
        key = (check.metric, check.column)
        value = values.get(key)
        if value is None:
            report.skipped.append({"metric": check.metric, "column": check.column, "reason": "no_value"})
            continue
        lo, hi, baseline, size = check.min, check.max, None, 0
        if check.learned:
            by_run = history.get(key, {})
            series = [by_run[r] for r in history_ids[:check.window] if r in by_run]
            learned = learned_bounds(series, metric=check.metric, sensitivity=check.sensitivity,
                                     tolerance=check.tolerance)
            if learned is None:
                report.skipped.append({"metric": check.metric, "column": check.column, "reason": "short_history",
                                       "history_size": len(series)})
                continue
            l_lo, l_hi, baseline = learned
            size = len(series)
            lo = l_lo if check.bound in ("both", "lower") else None
            hi = l_hi if check.bound in ("both", "upper") else None
        report.checks_run += 1
        ok = (lo is None or value >= lo) and (hi is None or value <= hi)
        cur = bounds.setdefault(key, [None, None])
        if lo is not None:
            cur[0] = lo if cur[0] is None else max(cur[0], lo)
        if hi is not None:
            cur[1] = hi if cur[1] is None else min(cur[1], hi)
        passed[key] = passed.get(key, True) and ok
        if not ok:
            report.failed.append(FailedCheck(check.metric, check.column, value, lo, hi, check.severity,
                                             learned=check.learned, baseline=baseline, history_size=size))

    for outcome in validation or []:
        _validation_check(report, outcome, values, bounds, passed)

    for (metric, column), value in values.items():
        lo, hi = bounds.get((metric, column), (None, None))
        report.metrics.append(Metric(table, column, metric, value, lo, hi, passed.get((metric, column), True)))
    _metrics_write(target, table, run_id, report.metrics)
    return report


def validation_measure(*, target: ClickHouseTarget, table: str, run_id: int,
                       validation: list[dict]) -> QualityReport:
    """The validation outcomes alone as checks and metrics: for a run that failed before its rows were
    committed (too many quarantined), so its quality result still says which rules the rows failed."""
    report = QualityReport(table=table, run_id=int(run_id))
    values: dict[tuple[str, str], float] = {}
    bounds: dict[tuple[str, str], list[float | None]] = {}
    passed: dict[tuple[str, str], bool] = {}
    for outcome in validation:
        _validation_check(report, outcome, values, bounds, passed)
    for (metric, column), value in values.items():
        lo, hi = bounds[(metric, column)]
        report.metrics.append(Metric(table, column, metric, value, lo, hi, passed[(metric, column)]))
    _metrics_write(target, table, run_id, report.metrics)
    return report


def _metrics_write(target: ClickHouseTarget, table: str, run_id: int, metrics: list[Metric]) -> None:
    # Measuring a run again (a retry) replaces its earlier metrics of this table instead of doubling them.
    names = ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
             "is_passed", "pipeline_run_id"]
    replace_run_rows(target, METRICS_TABLE, run_id, [[*asdict(m).values(), int(run_id)] for m in metrics], names,
                     also={"table_name": table})


__all__ = ["FailedCheck", "Metric", "QualityReport", "learned_bounds", "quality_measure", "validate_quality_config",
           "validation_measure"]
