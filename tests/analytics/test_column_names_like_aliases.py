"""Columns named like the analyses' own result aliases (`n`, `fresh`, `table_rows`, `c0_nulls`,
`metric_value`, `calculation_day`, `dimension_0`): ClickHouse aliases are visible in the whole query, so
`count() AS n` beside a column `n` failed with error 184 and the run was "succeeded with warnings"."""

from __future__ import annotations

import pyarrow as pa
import pytest

from analytics.business import business_metrics_compute
from analytics.loading import TargetLoad
from analytics.quality import quality_measure

NAMES = ("n", "fresh", "table_rows", "c0_nulls", "c1_distinct", "metric_value", "dimension_0")
SCHEMA = pa.schema([("_row_number", pa.int64()), *((name, pa.int64()) for name in NAMES),
                    ("calculation_day", pa.date32()), ("kind", pa.string())])


def _rows():
    import datetime

    rows = []
    for i in range(12):
        row = {"_row_number": i, **{name: (None if (i + position) % 5 == 0 else i * (position + 1))
                                    for position, name in enumerate(NAMES)}}
        rows.append({**row, "calculation_day": datetime.date(2024, 5, 1 + i % 3), "kind": "ab"[i % 2]})
    return rows


@pytest.fixture
def loaded(clickhouse):
    rows = _rows()
    load = TargetLoad(clickhouse, table="aliases", pipeline_run_id=5)
    load.begin(SCHEMA)
    load.append(pa.Table.from_pylist(rows, schema=SCHEMA))
    load.commit()
    return rows


def test_quality_measures_columns_named_like_its_aliases(clickhouse, loaded):
    report = quality_measure(target=clickhouse, table="aliases", run_id=5, rows_read=len(loaded),
                             invalid_by_column={}, config={"quality": {"learned_by_default": False}},
                             history_run_ids=[])
    got = {(m.metric_name, m.column_name): m.metric_value for m in report.metrics}
    assert got[("row_count", "")] == 12
    for name in NAMES:
        values = [row[name] for row in loaded]
        present = [v for v in values if v is not None]
        assert got[("null_rate", name)] == pytest.approx(sum(v is None for v in values) / 12)
        assert got[("distinct_count", name)] == len(set(present))
        assert got[("max", name)] == max(present) and got[("min", name)] == min(present)


def test_business_metrics_over_columns_named_like_its_aliases(clickhouse, loaded):
    definitions = [{"category": "c", "name": "total", "column": "metric_value", "aggregation": "sum",
                    "date_column": "calculation_day", "dimensions": ["dimension_0"]},
                   {"category": "c", "name": "count_n", "column": "n", "aggregation": "count",
                    "dimensions": ["kind"]}]
    written = business_metrics_compute(target=clickhouse, table="aliases", run_id=5, definitions=definitions)
    totals: dict = {}
    for row in loaded:
        if row["metric_value"] is not None:
            key = (row["calculation_day"], str(row["dimension_0"]) if row["dimension_0"] is not None else None)
            totals[key] = totals.get(key, 0) + row["metric_value"]
    import json

    got = {(r["calculation_date"], json.loads(r["dimension_values"])["dimension_0"]): r["metric_value"]
           for r in written if r["metric_name"] == "total"}
    assert got == pytest.approx({k: float(v) for k, v in totals.items()})
    counts = {json.loads(r["dimension_values"])["kind"]: r["metric_value"] for r in written
              if r["metric_name"] == "count_n"}
    assert counts == {kind: float(sum(1 for r in loaded if r["kind"] == kind and r["n"] is not None))
                      for kind in "ab"}
