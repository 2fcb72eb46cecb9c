"""HdfsConnector over real HTTP against tests/support/fake_webhdfs.py, a fake namenode + datanode.

No namenode can run on these machines. The fake speaks the WebHDFS calls the connector makes (GETFILESTATUS,
LISTSTATUS, OPEN answered by a 307 redirect to a "datanode" address, RemoteException error bodies) with the
JSON shapes of Hadoop 3's documentation; it was not compared with a real cluster.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.connectors.base import ConnectorError
from sources.connectors.hdfs import HdfsConnector
from tests.support.fake_webhdfs import FakeWebHdfs


@pytest.fixture
def hdfs(tmp_path):
    root = tmp_path / "hdfs"
    root.mkdir()
    with FakeWebHdfs(root) as fake:
        yield fake


def put(fake: FakeWebHdfs, path: str, data: bytes) -> None:
    local = fake.local(path)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def read_all(connector, batch_rows=65_536) -> pa.Table:
    return pa.Table.from_batches(list(connector.read_batches(batch_rows=batch_rows)))


def config(fake, path, **extra):
    return {"namenode_url": fake.url, "path": path, "user": "etl", **extra}


def test_a_directory_is_listed_and_its_files_read_in_name_order_through_the_datanode_redirect(hdfs):
    put(hdfs, "/data/sales/part-00001.csv", csv_bytes(["id", "amount"], [[3, "1.5"], [4, ""]]))
    put(hdfs, "/data/sales/part-00000.csv", csv_bytes(["id", "amount"], [[1, "10"], [2, "20"]]))
    put(hdfs, "/data/sales/_SUCCESS", b"")
    put(hdfs, "/data/sales/.part-00000.csv.crc", b"\x00")
    put(hdfs, "/data/sales/sub/part-9.csv", csv_bytes(["id", "amount"], [[9, "9"]]))
    put(hdfs, "/data/other.csv", csv_bytes(["x"], [[1]]))

    connector = HdfsConnector(config(hdfs, "/data/sales"))
    table = read_all(connector)

    assert table.schema == pa.schema([("id", pa.string()), ("amount", pa.string())])
    assert table.to_pylist() == [{"id": "1", "amount": "10"}, {"id": "2", "amount": "20"},
                                 {"id": "3", "amount": "1.5"}, {"id": "4", "amount": None}]
    # The protocol as a namenode sees it: status, listing, then OPEN per file, each followed to the datanode.
    assert [(r.query["op"], r.path) for r in hdfs.requests if not r.path.startswith("/datanode")] == [
        ("GETFILESTATUS", "/webhdfs/v1/data/sales"), ("LISTSTATUS", "/webhdfs/v1/data/sales"),
        ("OPEN", "/webhdfs/v1/data/sales/part-00000.csv"), ("OPEN", "/webhdfs/v1/data/sales/part-00001.csv")]
    assert all(r.query["user.name"] == "etl" for r in hdfs.requests if not r.path.startswith("/datanode"))
    assert [r.path for r in hdfs.requests if r.path.startswith("/datanode")] == [
        "/datanode/webhdfs/v1/data/sales/part-00000.csv", "/datanode/webhdfs/v1/data/sales/part-00001.csv"]
    port = hdfs.url.rsplit(":", 1)[1]
    assert [f["name"] for f in connector.describe()["files"]] == [
        f"webhdfs://127.0.0.1:{port}/data/sales/part-00000.csv", f"webhdfs://127.0.0.1:{port}/data/sales/part-00001.csv"]


def test_recursive_and_pattern(hdfs):
    put(hdfs, "/lake/2024/01/a.jsonl", b'{"m": 1}\n')
    put(hdfs, "/lake/2024/02/b.jsonl", b'{"m": 2}\n')
    put(hdfs, "/lake/2024/02/b.json", b'[{"m": 3}]')
    rows = read_all(HdfsConnector(config(hdfs, "/lake", recursive=True, pattern="*.jsonl"))).to_pylist()
    assert rows == [{"m": "1"}, {"m": "2"}]
    with pytest.raises(ConnectorError) as caught:
        read_all(HdfsConnector(config(hdfs, "/lake", pattern="*.jsonl")))  # not recursive: nothing at the top
    assert caught.value.message.endswith("/lake matches the pattern *.jsonl.")


def test_a_single_file_parquet_and_gzip(hdfs, tmp_path):
    expected = pa.table({"id": pa.array(range(500), pa.int32()), "v": [f"v{i}" for i in range(500)]})
    pq.write_table(expected, tmp_path / "t.parquet", row_group_size=100)
    put(hdfs, "/wh/t.parquet", (tmp_path / "t.parquet").read_bytes())
    put(hdfs, "/wh/t.csv.gz", gzip.compress(csv_bytes(["a"], [["x"], ["y"]])))

    batches = list(HdfsConnector(config(hdfs, "/wh/t.parquet")).read_batches(batch_rows=128))
    assert [b.num_rows for b in batches] == [128, 128, 128, 116]
    assert pa.Table.from_batches(batches).equals(pq.read_table(tmp_path / "t.parquet"))
    assert read_all(HdfsConnector(config(hdfs, "/wh/t.csv.gz"))).to_pylist() == [{"a": "x"}, {"a": "y"}]


def test_files_with_different_columns_are_refused(hdfs):
    put(hdfs, "/d/a.csv", csv_bytes(["id"], [[1]]))
    put(hdfs, "/d/b.csv", csv_bytes(["id", "extra"], [[1, 2]]))
    with pytest.raises(ConnectorError) as caught:
        read_all(HdfsConnector(config(hdfs, "/d")))
    assert "/d/b.csv has the columns id, extra" in caught.value.message and caught.value.permanent


def test_a_missing_path_is_specific_and_may_pass_later(hdfs):
    connector = HdfsConnector(config(hdfs, "/incoming/today.csv"))
    with pytest.raises(ConnectorError) as caught:
        read_all(connector)
    assert caught.value.message == f"webhdfs://{hdfs.url[7:]}/incoming/today.csv does not exist."
    assert not caught.value.permanent
    check = connector.test_connection()
    assert not check.ok and check.message == caught.value.message


def test_an_empty_directory(hdfs):
    put(hdfs, "/empty/_SUCCESS", b"")
    check = HdfsConnector(config(hdfs, "/empty")).test_connection()
    assert not check.ok and check.message == f"There is no file under webhdfs://{hdfs.url[7:]}/empty."


def test_permission_denied_is_permanent_and_names_the_user(hdfs):
    put(hdfs, "/secret/a.csv", csv_bytes(["a"], [[1]]))
    hdfs.denied.add("/secret")
    with pytest.raises(ConnectorError) as caught:
        read_all(HdfsConnector(config(hdfs, "/secret")))
    assert caught.value.permanent
    assert caught.value.message.startswith(f"HDFS denied access to webhdfs://{hdfs.url[7:]}/secret: Permission denied")
    assert caught.value.message.endswith("(user: etl).")


def test_an_unreachable_datanode_is_named(hdfs):
    put(hdfs, "/d/a.csv", csv_bytes(["a"], [[1]]))
    hdfs.datanode_url = "http://127.0.0.1:9"
    with pytest.raises(ConnectorError) as caught:
        read_all(HdfsConnector(config(hdfs, "/d/a.csv")))
    assert caught.value.message.startswith(
        f"The namenode sent the read of webhdfs://{hdfs.url[7:]}/d/a.csv to the datanode 127.0.0.1:9, which cannot "
        "be reached from here: ")
    assert not caught.value.permanent


def test_an_unreachable_namenode_fails_quickly_and_a_second_namenode_is_tried(hdfs):
    put(hdfs, "/d/a.csv", csv_bytes(["a"], [[1]]))
    started = time.monotonic()
    check = HdfsConnector({"namenode_url": "http://127.0.0.1:9", "path": "/d", "timeout_seconds": 2}).test_connection()
    assert time.monotonic() - started < 5
    assert not check.ok and check.details["permanent"] is False
    assert check.message.startswith("The namenode http://127.0.0.1:9 cannot be reached: ")
    pair = HdfsConnector(config(hdfs, "/d", namenode_url=["http://127.0.0.1:9", hdfs.url]))
    assert read_all(pair).to_pylist() == [{"a": "1"}]
    assert pair.describe()["namenode_url"] == hdfs.url


def test_a_standby_namenode_is_skipped_for_the_active_one(hdfs, tmp_path):
    put(hdfs, "/d/a.csv", csv_bytes(["a"], [[1]]))
    with FakeWebHdfs(hdfs.root, standby=True) as standby:
        alone = HdfsConnector(config(hdfs, "/d", namenode_url=standby.url)).test_connection()
        assert not alone.ok and alone.details["permanent"] is False
        assert alone.message.startswith(f"The namenode {standby.url} cannot serve now (StandbyException: Operation "
                                        "category READ is not supported in state standby.")
        standby.requests.clear()
        pair = HdfsConnector(config(hdfs, "/d", namenode_url=[standby.url, hdfs.url]))
        assert read_all(pair).to_pylist() == [{"a": "1"}]
        assert len(standby.requests) == 1  # once the active one answered, it is asked first


def test_a_cluster_that_wants_a_user(hdfs):
    put(hdfs, "/d/a.csv", csv_bytes(["a"], [[1]]))
    hdfs.anonymous_allowed = False
    check = HdfsConnector({"namenode_url": hdfs.url, "path": "/d"}).test_connection()
    assert not check.ok and check.details["permanent"] is True
    assert check.message == ("The namenode asks for authentication (Kerberos is not supported): set user, or a "
                             "delegation_token.")
    assert HdfsConnector(config(hdfs, "/d")).test_connection().ok


def test_a_server_that_is_not_webhdfs():
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>a web page</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        check = HdfsConnector({"namenode_url": url, "path": "/x"}).test_connection()
    finally:
        server.shutdown()
        server.server_close()
    assert not check.ok and check.details["permanent"] is True
    assert check.message == (f"{url} does not answer like a WebHDFS server for webhdfs://{url[7:]}/x "
                             "(check namenode_url).")


def test_test_connection_counts_files_and_checks_the_format(hdfs):
    put(hdfs, "/d/a.csv", csv_bytes(["a"], [[1]]))
    put(hdfs, "/d/b.csv", csv_bytes(["a"], [[2]]))
    check = HdfsConnector(config(hdfs, "/d")).test_connection()
    assert check.ok and check.message == f"2 files to read under webhdfs://{hdfs.url[7:]}/d."
    put(hdfs, "/raw/export.dat", b"a\n1\n")
    bad = HdfsConnector(config(hdfs, "/raw")).test_connection()
    assert not bad.ok and "set format" in bad.message


@pytest.mark.parametrize("bad, message", [
    ({"path": "/x"}, "namenode_url is required, e.g. \"http://namenode:9870\"."),
    ({"namenode_url": "namenode:9870", "path": "/x"},
     "namenode_url must be an http:// or https:// address (or a list of them), e.g. \"http://namenode:9870\"."),
    ({"namenode_url": "http://nn:9870"}, "path is required: an absolute HDFS path such as /data/sales."),
    ({"namenode_url": "http://nn:9870", "path": "data/x.csv"},
     "path must be an absolute HDFS path (starting with /), e.g. /data/sales."),
    ({"namenode_url": "http://nn:9870", "path": "/a/../b"}, "path must not contain \"..\"."),
    ({"namenode_url": "http://nn:9870", "path": "/x", "recursive": "yes"}, "recursive must be true or false."),
    ({"namenode_url": "http://nn:9870", "path": "/x", "timeout_seconds": 0},
     "timeout_seconds must be a positive number of seconds."),
    ({"namenode_url": "http://nn:9870", "path": "/x", "delimiter": ";;"},
     "delimiter must be a single character (for a tab: \"\\t\" or \"tab\")."),
    ({"namenode_url": "http://nn:9870", "path": "/x", "host": "nn"},
     "Unknown key(s) host; the HDFS connector knows: namenode_url, path, user, delegation_token, recursive, "
     "pattern, verify_tls, timeout_seconds, format, encoding, delimiter, quote_char, escape_char, has_header, "
     "record_path, sheet, max_bytes."),
])
def test_config_errors_name_the_key(bad, message):
    assert message in HdfsConnector.config_errors(bad)


def test_a_good_config_and_the_delegation_token(hdfs):
    put(hdfs, "/d/a.tsv", b"a\tb\n1\t2\n")
    good = {"namenode_url": hdfs.url, "path": "/d/", "delegation_token": "tok", "format": "tsv"}
    assert HdfsConnector.config_errors(good) == []
    assert read_all(HdfsConnector(good)).to_pylist() == [{"a": "1", "b": "2"}]
    assert hdfs.ops("OPEN")[0].query["delegation"] == "tok" and "user.name" not in hdfs.ops("OPEN")[0].query
    assert "tok" not in json.dumps(HdfsConnector(good).describe())


def test_a_namenode_redirecting_a_metadata_request_elsewhere_is_not_followed():
    """Issue 12: no redirect is followed with the credentials (user.name, delegation) to another origin; only
    OPEN's hop to a datanode is taken, to the address the namenode names."""
    seen = []

    class Other(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

    other = ThreadingHTTPServer(("127.0.0.1", 0), Other)

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{other.server_address[1]}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    namenode = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (other, namenode):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        connector = HdfsConnector({"namenode_url": f"http://127.0.0.1:{namenode.server_address[1]}",
                                   "path": "/data", "delegation_token": "Dt0k-secret-value"})
        check = connector.test_connection()
        assert not check.ok and "redirects its GETFILESTATUS request" in check.message
        assert f"127.0.0.1:{other.server_address[1]}" in check.message
        assert "Dt0k-secret-value" not in check.message
        assert seen == []
    finally:
        for server in (other, namenode):
            server.shutdown()
            server.server_close()
