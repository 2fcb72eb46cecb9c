"""Data-quality metrics equal an independent computation; fixed and learned thresholds catch what they should."""

import random
import statistics
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from analytics.loading import TargetLoad
from analytics.quality import learned_bounds, quality_measure, validate_quality_config
from analytics.recommendations import recommendation_texts

SCHEMA = pa.schema([
    ("_row_number", pa.int64()),
    ("amount", pa.float64()),
    ("qty", pa.int64()),
    ("price", pa.decimal128(18, 2)),
    ("day", pa.date32()),
    ("at", pa.timestamp("us", tz="UTC")),
    ("paid", pa.bool_()),
    ("channel", pa.string()),
])
DATA_COLUMNS = [f.name for f in SCHEMA if not f.name.startswith("_")]
NO_LEARNING = {"quality": {"learned_by_default": False}}


def _data(n: int, seed: int) -> pa.Table:
    rnd = random.Random(seed)
    base = datetime(2024, 3, 1, tzinfo=timezone.utc)
    return pa.table({
        "_row_number": pa.array(range(1, n + 1), pa.int64()),
        "amount": pa.array([None if rnd.random() < 0.1 else round(rnd.uniform(-50, 500), 2) for _ in range(n)]),
        "qty": pa.array([rnd.randint(1, 40) for _ in range(n)], pa.int64()),
        "price": pa.array([None if rnd.random() < 0.02 else Decimal(rnd.randint(1, 99999)) / 100 for _ in range(n)],
                          pa.decimal128(18, 2)),
        "day": pa.array([date(2024, 1, 1) + timedelta(days=rnd.randint(0, 90)) for _ in range(n)], pa.date32()),
        "at": pa.array([base + timedelta(seconds=rnd.randint(0, 10**6), microseconds=rnd.randint(0, 999) * 1000)
                        for _ in range(n)], pa.timestamp("us", tz="UTC")),
        "paid": pa.array([rnd.random() < 0.7 for _ in range(n)], pa.bool_()),
        "channel": pa.array([None if rnd.random() < 0.3 else rnd.choice(["web", "shop", "phone"]) for _ in range(n)]),
    }, schema=SCHEMA)


def _load(target, run_id: int, data: pa.Table, *, loaded_at=None, table="sales") -> None:
    load = TargetLoad(target, table=table, pipeline_run_id=run_id, loaded_at=loaded_at)
    load.begin(SCHEMA)
    load.append(data)
    load.commit()


def _measure(target, run_id, data, *, config=None, history=(), invalid=None, rows_read=None, table="sales"):
    return quality_measure(target=target, table=table, run_id=run_id,
                           rows_read=data.num_rows if rows_read is None else rows_read,
                           invalid_by_column=invalid or {}, config=config if config is not None else {},
                           history_run_ids=list(history))


def _as_number(value) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return float((value - date(1970, 1, 1)).days)
    return float(value)


def test_each_metric_equals_an_independent_computation(clickhouse):
    data = _data(1000, seed=1)
    loaded_at = datetime.now(timezone.utc) - timedelta(hours=1)
    _load(clickhouse, 1, data, loaded_at=loaded_at)
    report = _measure(clickhouse, 1, data, config=NO_LEARNING, invalid={"amount": 30, "qty": 0}, rows_read=1030)

    rows = data.to_pylist()
    expected = {("row_count", ""): 1000.0}
    for column in DATA_COLUMNS:
        values = [r[column] for r in rows]
        expected[("null_rate", column)] = sum(v is None for v in values) / len(values)
        expected[("distinct_count", column)] = float(len({v for v in values if v is not None}))
        expected[("invalid_rate", column)] = {"amount": 30 / 1030}.get(column, 0.0)
        if column != "channel":
            present = [_as_number(v) for v in values if v is not None]
            expected[("min", column)] = min(present)
            expected[("max", column)] = max(present)
            expected[("mean", column)] = statistics.fmean(present)
    got = {(m.metric_name, m.column_name): m.metric_value for m in report.metrics}
    freshness = got.pop(("freshness_seconds", ""))
    assert got == pytest.approx(expected, rel=1e-9)
    assert 3600 <= freshness < 3600 + 120
    assert expected[("null_rate", "amount")] > 0.05 and expected[("null_rate", "channel")] > 0.2  # really has gaps

    stored = clickhouse.rows(
        "SELECT table_name, column_name, metric_name, metric_value, threshold_min, threshold_max, is_passed, "
        "pipeline_run_id FROM data_quality_metrics ORDER BY metric_name, column_name")
    assert len(stored) == len(report.metrics) == len(expected) + 1
    assert {(r["table_name"], r["pipeline_run_id"], r["is_passed"], r["threshold_min"], r["threshold_max"])
            for r in stored} == {("sales", 1, True, None, None)}
    assert {(r["metric_name"], r["column_name"]): r["metric_value"] for r in stored}[("null_rate", "amount")] == \
        pytest.approx(expected[("null_rate", "amount")])
    [result] = report.analysis_results()
    assert result["analysis_type"] == "data_quality" and not result["is_alert"] and result["alert_level"] == "low"


def test_learned_row_count_catches_a_collapse_and_not_normal_variation(clickhouse):
    rnd = random.Random(7)
    history: list[int] = []
    for run in range(1, 9):  # the usual: 1000 rows ± 3 %
        data = _data(int(1000 * rnd.uniform(0.97, 1.03)), seed=run)
        _load(clickhouse, run, data)
        report = _measure(clickhouse, run, data, history=history)
        assert report.failed == [], run  # normal variation never fires, with or without a learned bound yet
        assert len(report.analysis_results()) == 1
        history.insert(0, run)

    collapsed = _data(100, seed=9)  # 10 % of the usual
    _load(clickhouse, 9, collapsed)
    report = _measure(clickhouse, 9, collapsed, history=history)
    [failed] = [f for f in report.failed if f.metric == "row_count"]
    assert failed.learned and failed.value == 100 and failed.threshold_min > 800 and failed.history_size == 8
    stored = clickhouse.rows("SELECT is_passed, threshold_min, threshold_max FROM data_quality_metrics "
                             "WHERE pipeline_run_id = 9 AND metric_name = 'row_count'")[0]
    assert stored["is_passed"] is False
    assert stored["threshold_min"] == pytest.approx(failed.threshold_min)
    assert stored["threshold_max"] > 1000
    quality, anomaly = report.analysis_results()
    assert quality["alert_level"] == "medium" and not quality["is_alert"]  # the default learned checks warn
    assert anomaly["analysis_type"] == "anomaly_detection"
    assert anomaly["is_alert"] and anomaly["alert_level"] == "critical"
    assert "row_count 100 is far below the usual" in anomaly["result_data"]["findings"][0]
    assert "median of the last 8 runs" in anomaly["result_data"]["findings"][0]
    assert any("source export is complete" in r for r in recommendation_texts(quality["recommendations"]))

    normal = _data(1015, seed=10)
    _load(clickhouse, 10, normal)
    report = _measure(clickhouse, 10, normal, history=history)
    assert report.failed == [] and len(report.analysis_results()) == 1
    assert report.checks_run == 1 + len(DATA_COLUMNS)  # learned row_count and null_rate per column


def test_learned_check_with_error_severity_raises_the_alert_level(clickhouse):
    config = {"quality": {"learned_by_default": False, "checks": [
        {"metric": "row_count", "learned": True, "severity": "error", "window": 3}]}}
    history: list[int] = []
    for run, n in enumerate([2000, 500, 510, 490], start=1):  # the old big run falls out of the window
        data = _data(n, seed=run)
        _load(clickhouse, run, data)
        _measure(clickhouse, run, data, config=config, history=history)
        history.insert(0, run)
    data = _data(380, seed=5)  # 24 % below a median of 500: an anomaly, not a collapse
    _load(clickhouse, 5, data)
    report = _measure(clickhouse, 5, data, config=config, history=history)
    [failed] = report.failed
    assert failed.baseline == 500 and failed.history_size == 3
    quality, anomaly = report.analysis_results()
    assert quality["is_alert"] and quality["alert_level"] == "high"
    assert anomaly["alert_level"] == "high"


def test_fewer_than_three_history_points_give_no_learned_threshold(clickhouse):
    for run in (1, 2):
        data = _data(1000, seed=run)
        _load(clickhouse, run, data)
        _measure(clickhouse, run, data)
    small = _data(100, seed=3)
    _load(clickhouse, 3, small)
    report = _measure(clickhouse, 3, small, history=[2, 1])
    assert report.failed == [] and report.checks_run == 0
    # nothing checked is no pass rate (not 1, which reads as every check passed)
    assert report.analysis_results()[0]["metrics"]["pass_rate"] is None
    assert {"metric": "row_count", "column": "", "reason": "short_history", "history_size": 2} in report.skipped
    assert clickhouse.rows("SELECT threshold_min, threshold_max, is_passed FROM data_quality_metrics "
                           "WHERE pipeline_run_id = 3 AND metric_name = 'row_count'") == [
        {"threshold_min": None, "threshold_max": None, "is_passed": True}]


def test_fixed_thresholds_severity_and_mostly(clickhouse):
    data = _data(1000, seed=1)
    _load(clickhouse, 1, data)
    null_amount = data.column("amount").null_count / 1000
    config = {"quality": {"learned_by_default": False, "checks": [
        {"metric": "null_rate", "column": "amount", "max": 0.05, "severity": "error"},
        {"metric": "invalid_rate", "column": "qty", "mostly": 0.95, "severity": "warn"},
        {"metric": "min", "column": "qty", "min": 1},
        {"metric": "row_count", "min": 10, "max": 5000},
        {"metric": "freshness_seconds", "max": 3600},
        {"metric": "mean", "column": "nope", "max": 1},
    ]}}
    # invalid qty in 3 % of rows read: within mostly=0.95; amount is empty in ~10 %: over the 5 % allowed
    report = _measure(clickhouse, 1, data, config=config, invalid={"qty": 30}, rows_read=1000)
    assert [(f.metric, f.column, f.severity) for f in report.failed] == [("null_rate", "amount", "error")]
    assert report.failed[0].value == pytest.approx(null_amount) and report.failed[0].threshold_max == 0.05
    assert report.checks_run == 5 and report.skipped == [{"metric": "mean", "column": "nope", "reason": "no_value"}]
    stored = {(r["metric_name"], r["column_name"]): r for r in clickhouse.rows(
        "SELECT metric_name, column_name, threshold_min, threshold_max, is_passed FROM data_quality_metrics")}
    assert stored[("null_rate", "amount")]["is_passed"] is False
    assert stored[("invalid_rate", "qty")]["threshold_max"] == pytest.approx(0.05)
    assert stored[("invalid_rate", "qty")]["is_passed"] is True
    assert (stored[("row_count", "")]["threshold_min"], stored[("row_count", "")]["threshold_max"]) == (10, 5000)
    [quality] = report.analysis_results()
    assert quality["is_alert"] and quality["alert_level"] == "high"
    assert quality["metrics"]["pass_rate"] == pytest.approx(0.8)
    [advice] = recommendation_texts(quality["recommendations"])
    assert "Column amount of sales is empty in" in advice and "allowed at most 5%" in advice and "fill_nulls" in advice

    # only a warn-severity failure: medium, no alert (a re-measure of the same run adds a second set of rows)
    config["quality"]["checks"][0]["max"] = 0.5
    report = _measure(clickhouse, 1, data, config=config, invalid={"qty": 80}, rows_read=1000)
    assert [(f.metric, f.column, f.severity) for f in report.failed] == [("invalid_rate", "qty", "warn")]
    assert clickhouse.command("SELECT count() FROM data_quality_metrics") == len(report.metrics)  # replaced
    [quality] = report.analysis_results()
    assert not quality["is_alert"] and quality["alert_level"] == "medium"
    assert "failed validation in 8%" in recommendation_texts(quality["recommendations"])[0]


def test_learned_bounds_tolerate_flat_history_and_small_variation():
    assert learned_bounds([1000, 1000], metric="row_count") is None
    lo, hi, median = learned_bounds([1000, 1000, 1000, 1000], metric="row_count")
    assert (lo, hi, median) == (900, 1100, 1000)  # MAD 0: ±10 % of the median
    lo, hi, _ = learned_bounds([1000, 1001, 1002, 1001], metric="row_count")
    assert lo < 970 and hi > 1030  # tiny MAD: the relative band still covers normal variation
    lo, hi, _ = learned_bounds([0.0, 0.0, 0.0], metric="null_rate")
    assert (lo, hi) == (0.0, 0.01)
    lo, hi, median = learned_bounds([100, 300, 200, 250, 150, 5000], metric="row_count")
    assert median == 225 and lo == 0 and hi < 1000  # one outlier in history does not widen the band much


def test_configuration_errors_are_reported():
    assert validate_quality_config({}) == []
    errors = validate_quality_config({"quality": {"checks": [
        {"metric": "nulls"},
        {"metric": "null_rate", "max": 0.1},
        {"metric": "null_rate", "column": "a", "max": 0.1, "mostly": 0.9},
        {"metric": "mean", "column": "a", "mostly": 0.9},
        {"metric": "row_count", "severity": "fatal", "min": 1},
        {"metric": "row_count"},
    ]}})
    assert len(errors) == 6
    with pytest.raises(ValueError):
        quality_measure(target=None, table="t", run_id=1, rows_read=0, invalid_by_column={},
                        config={"quality": {"checks": [{"metric": "nulls"}]}}, history_run_ids=[])


def test_a_run_that_loaded_nothing_reports_zero_rows_and_the_table_age(clickhouse):
    data = _data(50, seed=1)
    _load(clickhouse, 1, data, loaded_at=datetime.now(timezone.utc) - timedelta(days=2))
    report = quality_measure(target=clickhouse, table="sales", run_id=2, rows_read=10, invalid_by_column={"qty": 10},
                             config={"quality": {"learned_by_default": False, "checks": [
                                 {"metric": "freshness_seconds", "max": 86400, "severity": "warn"}]}},
                             history_run_ids=[])
    got = {(m.metric_name, m.column_name): m.metric_value for m in report.metrics}
    assert got.pop(("row_count", "")) == 0
    assert 2 * 86400 <= got.pop(("freshness_seconds", "")) < 2 * 86400 + 120
    assert got == {("invalid_rate", c): (1.0 if c == "qty" else 0.0) for c in DATA_COLUMNS}
    [quality] = report.analysis_results()
    assert quality["alert_level"] == "medium"
    assert "The newest data in sales is 2 d old (allowed at most 1 d)" in recommendation_texts(
        quality["recommendations"])[0]
