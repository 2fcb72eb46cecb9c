"""A dashboard read while a large load runs gets its answer before the load ends: the ClickHouse process runs
each request on a connection of its own, so the page does not queue behind the load's INSERT."""

import threading
import time
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analytics.loading import TargetLoad

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

ROWS = 3_000_000  # one INSERT of ~130 MiB: seconds of work for ClickHouse


def _big_table() -> pa.Table:
    n = pa.array(range(ROWS), pa.int64())
    first = (date(2024, 1, 1) - date(1970, 1, 1)).days
    return pa.table({"order_id": n, "amount": pc.multiply(n, 0.5),
                     "day": pc.add(pc.remainder(n, 28), first).cast(pa.int32()).cast(pa.date32()),
                     "note": pc.binary_join_element_wise("order ", pc.cast(n, pa.string()), " of the big load", "")})


def test_a_dashboard_answers_while_a_large_load_runs(client, viewer, clickhouse):
    clickhouse.insert("data_quality_metrics", [["orders", "amount", "null_rate", 0.0, 0.0, 0.1, True, 1]],
                      ["table_name", "column_name", "metric_name", "metric_value", "threshold_min", "threshold_max",
                       "is_passed", "pipeline_run_id"])
    data = _big_table()
    load = TargetLoad(clickhouse, table="orders", pipeline_run_id=7, insert_rows=ROWS)
    load.begin(data.schema)
    order: list[str] = []
    inserting = threading.Event()
    failure: list[BaseException] = []

    def run_load():
        try:
            inserting.set()
            load.append(data)  # ROWS reached: one INSERT of the whole table
            assert load.commit() == ROWS
            order.append("load")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)

    loader = threading.Thread(target=run_load)
    loader.start()
    assert inserting.wait(30)
    time.sleep(0.5)  # not a measurement: lets the INSERT reach ClickHouse before the page asks
    client.force_login(viewer)
    page = client.get("/dashboards/quality/")
    order.append("page")
    loader.join(300)
    assert not failure, failure
    assert page.status_code == 200 and page.context["totals"]["checked"] == 1
    assert order == ["page", "load"]
