"""Whole runs from a database (incremental) and an HTTP API whose records gain a key on a later page."""

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(pipeline):
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    return run_execute(run=run, batch_rows=50)


def test_incremental_database_runs_read_only_new_rows(clickhouse, tmp_path):
    path = tmp_path / "shop.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, note TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i * 1.5, None if i % 4 else "x")
                                                              for i in range(1, 121)])
    source = DataSourceFactory(name="shop", source_type="database", connection_config={
        "engine": "sqlite", "path": str(path), "table": "orders", "cursor_column": "id"})
    pipeline = PipelineFactory(name="orders", data_source=source, configuration={
        "validation_rules": {"required_columns": ["id", "amount"]}})

    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS, first.error_message
    assert first.execution_context["rows_loaded"] == 120
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, 1.0, "new") for i in range(121, 124)])
    second = _run(pipeline)
    assert second.status == RunStatus.SUCCESS, second.error_message
    assert second.execution_context["rows_read"] == 3
    third = _run(pipeline)  # nothing new: a normal, empty run
    assert third.status == RunStatus.SUCCESS and third.records_processed == 0

    table = target_table_name(pipeline)
    got = clickhouse.rows(f"SELECT count() AS n, uniqExact(id) AS ids, sum(amount) AS total, "
                          f"countIf(note IS NULL) AS nulls FROM {table}")[0]
    assert got == {"n": 123, "ids": 123, "total": pytest.approx(sum(i * 1.5 for i in range(1, 121)) + 3),
                   "nulls": 90}


class _Pages(BaseHTTPRequestHandler):
    PAGES = [[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
             [{"id": 3, "name": "c", "region": "north"}],
             []]

    def do_GET(self):  # noqa: N802 - http.server's naming
        page = int(self.path.rsplit("page=", 1)[-1]) if "page=" in self.path else 1
        body = json.dumps({"data": self.PAGES[page - 1] if page <= len(self.PAGES) else []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_api_records_gaining_a_key_on_a_later_page(clickhouse, settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = DataSourceFactory(name="api", source_type="api", connection_config={
            "url": f"http://127.0.0.1:{server.server_port}/items", "record_path": "data",
            "pagination": {"type": "page", "page_param": "page"}})
        pipeline = PipelineFactory(name="items", data_source=source, configuration={
            "validation_rules": {"data_types": {"id": "integer"}}})
        run = _run(pipeline)
    finally:
        server.shutdown()
    assert run.status == RunStatus.SUCCESS, run.error_message
    rows = clickhouse.query(f"SELECT id, name, region FROM {target_table_name(pipeline)} ORDER BY id").result_rows
    assert rows == [(1, "a", None), (2, "b", None), (3, "c", "north")]
