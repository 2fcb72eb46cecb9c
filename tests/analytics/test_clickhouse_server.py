"""The embedded ClickHouse process (analytics/clickhouse/server.py), as every other process meets it: through
clickhouse-connect or plain HTTP. Each test here starts a process of its own (not the session's), since
they kill it, restart it or measure its memory."""

from __future__ import annotations

import base64
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import clickhouse_connect
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from analytics.clickhouse import server
from tests.support.clickhouse import ROOT, start_clickhouse_process

PASSWORD = "right-password"


@pytest.fixture
def process(tmp_path):
    home = tmp_path / "clickhouse"
    proc, port = start_clickhouse_process(home, PASSWORD)
    proc.home, proc.port = home, port
    yield proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=60)


def _client(port: int, password: str = PASSWORD, **kwargs):
    return clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default", password=password,
                                         compress=False, autogenerate_session_id=False, **kwargs)


def _http(port: int, sql: str, headers: dict | None = None, query: str = ""):
    """(status, headers, body) of a POST of `sql`, never raising for an error status."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{query}", data=sql.encode(), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"default:{password}".encode()).decode()}


def test_the_password_is_generated_private_and_checked(process):
    with pytest.raises(DatabaseError, match="516.*Authentication failed"):
        _client(process.port, "wrong")
    with pytest.raises(DatabaseError, match="516"):
        _client(process.port, "")
    status, headers, body = _http(process.port, "SELECT 1")  # no credentials at all
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "516")
    assert PASSWORD.encode() not in body
    # Every way clickhouse-connect and ClickHouse's own clients send them.
    assert _http(process.port, "SELECT 1", _basic(PASSWORD))[::2] == (200, b"1\n")
    assert _http(process.port, "SELECT 1", {"X-ClickHouse-User": "default", "X-ClickHouse-Key": PASSWORD})[0] == 200
    assert _http(process.port, "SELECT 1", query=f"?user=default&password={PASSWORD}")[0] == 200
    assert _http(process.port, "SELECT 1", {"X-ClickHouse-User": "other", "X-ClickHouse-Key": PASSWORD})[0] == 403
    assert _client(process.port).command("SELECT 1") == 1
    # /ping answers without a password, like a server's (for health checks).
    assert urllib.request.urlopen(f"http://127.0.0.1:{process.port}/ping", timeout=10).read() == b"Ok.\n"


def test_a_missing_password_file_is_generated_with_mode_0600(tmp_path):
    path = tmp_path / "var" / "clickhouse" / "password"
    password = server.read_or_create_password(path)
    assert len(password) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert server.read_or_create_password(path) == password  # kept, not replaced


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (from /proc/net/tcp, state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def test_it_listens_on_the_loopback_address_only(process, tmp_path):
    assert _listening_addresses(process.port) == {"127.0.0.1"}
    refused = subprocess.run(
        [sys.executable, "-m", "analytics.clickhouse.server", "--data-dir", str(tmp_path / "other"), "--host",
         "0.0.0.0", "--port", "0", "--password-file", str(tmp_path / "pw")],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "refusing to listen on '0.0.0.0'" in refused.stderr


def test_bad_sql_is_clickhouses_error_code_and_message_without_a_stack_trace(process):
    status, headers, body = _http(process.port, "SELEC 1", _basic(PASSWORD))
    assert status == 400 and headers["X-ClickHouse-Exception-Code"] == "62"
    assert body.startswith(b"Code: 62. DB::Exception: Syntax error") and b"Stack trace" not in body
    status, headers, body = _http(process.port, "SELECT * FROM no_such_table", _basic(PASSWORD))
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "60")
    with pytest.raises(DatabaseError, match="Code: 62"):
        _client(process.port).query("SELEC 1")


def test_settings_and_database_last_one_request(process):
    client = _client(process.port)
    default = client.command("SELECT getSetting('max_threads')")
    assert client.command("SELECT getSetting('max_threads')", settings={"max_threads": 1}) == 1
    assert client.command("SELECT getSetting('max_threads')") == default
    client.command("CREATE DATABASE IF NOT EXISTS other")
    assert _client(process.port, database="other").command("SELECT currentDatabase()") == "other"
    assert client.command("SELECT currentDatabase()") == "default"


def _peak_rss_reset(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM, the peak resident set


def _peak_rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_large_inserts_and_results_stream_through_in_bounded_memory(process):
    """2M rows of ~100 bytes (~200 MiB as Arrow, in the loader's 64k-row batches) go in with insert_arrow and
    come back with a query. The process spools the insert to disk and streams the result. Writing the parts
    costs chDB itself ~2.5x the data (measured in-process: +450-550 MiB), so the insert's bound is generous;
    reading must grow the process by far less than the result, which is never held whole."""
    rows = 2_000_000
    client = _client(process.port, send_receive_timeout=600)
    client.command("CREATE TABLE big (id UInt64, label String) ENGINE = MergeTree ORDER BY id")
    data = pa.table({"id": pa.array(range(rows), pa.uint64()),
                     "label": pa.array([f"{i:0>96}" for i in range(rows)])})
    data = pa.Table.from_batches(data.to_batches(max_chunksize=65_536))
    size_mib = data.nbytes / 2**20
    _peak_rss_reset(process.pid)
    before_insert = _peak_rss_mib(process.pid)
    client.insert_arrow("big", data)
    del data
    inserted = _peak_rss_mib(process.pid)
    assert client.command("SELECT count() FROM big") == rows

    _peak_rss_reset(process.pid)
    before_read = _peak_rss_mib(process.pid)
    seen = 0
    with client.query_row_block_stream("SELECT id, label FROM big") as blocks:
        for block in blocks:
            seen += len(block)
    read = _peak_rss_mib(process.pid)
    assert seen == rows
    print(f"data {size_mib:.0f} MiB; server peak RSS: insert {before_insert:.0f} -> {inserted:.0f}, "
          f"read {before_read:.0f} -> {read:.0f} MiB")
    assert inserted - before_insert < 4 * size_mib
    assert read - before_read < size_mib / 2  # the whole result held once would be the data's size at least


def test_a_large_result_is_sent_in_chunks(process):
    request = urllib.request.Request(f"http://127.0.0.1:{process.port}/",
                                     data=b"SELECT number FROM numbers(3000000) FORMAT Native",
                                     headers=_basic(PASSWORD))
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert len(response.read()) > 3000000 * 8


def test_a_client_that_leaves_mid_result_does_not_disturb_the_next_ones(process):
    auth = _basic(PASSWORD)["Authorization"]
    sql = b"SELECT number FROM numbers(50000000) FORMAT Native"
    for _ in range(3):  # more times than the pool has idle connections
        with socket.create_connection(("127.0.0.1", process.port), timeout=30) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth.encode() +
                         b"\r\nContent-Length: " + str(len(sql)).encode() + b"\r\n\r\n" + sql)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    client = _client(process.port)
    assert client.command("SELECT sum(number) FROM numbers(10)") == 45
    assert client.query("SELECT number FROM numbers(100000)").row_count == 100000


def test_arrow_results_stream_as_one_valid_table(process):
    client = _client(process.port)
    sql = "SELECT number AS n, toString(number) AS s FROM numbers(300000)"
    table = client.query_arrow(sql)
    assert table.num_rows == 300000 and table.column("n").to_pylist()[-1] == 299999
    with client.query_arrow_stream(sql) as batches:
        assert sum(batch.num_rows for batch in batches) == 300000
    empty = client.query_arrow(sql + " WHERE 0")
    assert empty.num_rows == 0 and empty.column_names == ["n", "s"]


def test_a_light_query_answers_while_a_long_one_runs_on_another_connection(process):
    order: list[str] = []
    long_started = threading.Event()

    def long_query():
        client = _client(process.port, send_receive_timeout=60)
        long_started.set()
        client.command("SELECT sleep(3)")
        order.append("long")

    worker = threading.Thread(target=long_query)
    worker.start()
    long_started.wait(10)
    time.sleep(0.5)  # not a measurement: lets the long query reach the server first
    assert _client(process.port).command("SELECT count() FROM system.one") == 1
    order.append("light")
    worker.join(30)
    assert order == ["light", "long"]


def test_sigterm_finishes_the_request_in_progress_exits_0_and_keeps_the_data(process):
    client = _client(process.port)
    client.command("CREATE TABLE kept (n UInt64) ENGINE = MergeTree ORDER BY n")
    client.insert("kept", [[n] for n in range(1000)], column_names=["n"])
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(_client(process.port).command("SELECT sleep(2) + 7")))
    worker.start()
    time.sleep(0.5)  # the slow request is in progress when the signal comes
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    worker.join(10)
    assert answers == [7]

    again, port = start_clickhouse_process(process.home, PASSWORD)
    try:
        assert _client(port).command("SELECT count() FROM kept") == 1000
    finally:
        again.send_signal(signal.SIGINT)
        assert again.wait(timeout=60) == 0
    log = (process.home / "server.log").read_text()
    assert PASSWORD not in log and "SELECT sleep" not in log  # requests are logged without secrets or SQL
    assert "POST SELECT 200" in log


def test_command_line_serves_the_settings_embedded_target(tmp_path):
    config = {"EMBEDDED": True, "HOST": "127.0.0.1", "PORT": 18123, "DATA_DIR": str(tmp_path / "data"),
              "PASSWORD_FILE": str(tmp_path / "password")}
    assert server.command_line(config) == [
        sys.executable, "-m", "analytics.clickhouse.server", "--data-dir", str(tmp_path / "data"),
        "--host", "127.0.0.1", "--port", "18123", "--password-file", str(tmp_path / "password")]
