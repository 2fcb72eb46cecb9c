"""The API connector against a real HTTP server on 127.0.0.1 (http.server in a thread), and the network policy.

Waits are never measured: the connector takes `sleep` and `clock`, and the tests look at the sleeps it asked for.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pytest

from sources import netpolicy
from sources.connectors.api import ApiConnector
from sources.connectors.base import ConnectorError

TOKEN = "s3cr3t-token"
RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, 9)]


class FakeTime:
    """A clock that moves only when the connector sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- the server -----------------------------------------------------------------------------------------

def _page(items: list, number: int, size: int) -> list:
    return items[(number - 1) * size: number * size]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def send(self, status: int, body, headers: dict | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) or body[:1] in "[{"
                         else "text/html")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        self.server.requests.append((urlsplit(self.path).path, {}, body))
        self.send(200, [{"echo": body}])

    def do_GET(self):  # one branch per endpoint
        url = urlsplit(self.path)
        q = dict(parse_qsl(url.query))
        path = url.path
        self.server.hits[path] += 1
        self.server.requests.append((path, q, dict(self.headers)))
        hits = self.server.hits[path]
        if path == "/page":
            self.send(200, {"items": _page(RECORDS, int(q["page"]), int(q.get("per_page", 3)))})
        elif path == "/offset":
            start, limit = int(q["offset"]), int(q["limit"])
            self.send(200, RECORDS[start:start + min(limit, 3)])  # the server caps pages at 3
        elif path == "/cursor":
            start = int(q.get("after", 0))
            items = RECORDS[start:start + 3]
            after = start + 3 if start + 3 < len(RECORDS) else None
            self.send(200, {"data": {"items": items}, "meta": {"next": after}})
        elif path == "/next":
            number = int(q.get("p", 1))
            items = _page(RECORDS, number, 3)
            more = number * 3 < len(RECORDS)
            self.send(200, {"results": items, "next": f"/next?p={number + 1}" if more else None})
        elif path == "/linked":
            number = int(q.get("p", 1))
            headers = {"Link": f'<http://{self.headers["Host"]}/linked?p={number + 1}>; rel="next"'} \
                if number < 3 else {}
            self.send(200, _page(RECORDS, number, 3), headers)
        elif path == "/next-away":
            self.send(200, {"results": RECORDS[:1], "next": "http://other.invalid/next?p=2"})
        elif path == "/auth/bearer":
            ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            self.send(200, RECORDS[:2]) if ok else self.send(401, {"error": "unauthorized"})
        elif path == "/auth/basic":
            expected = "Basic " + base64.b64encode(b"ann:pa55word").decode()
            ok = self.headers.get("Authorization") == expected
            self.send(200, RECORDS[:2]) if ok else self.send(401, {"error": "unauthorized"})
        elif path == "/auth/header":
            ok = self.headers.get("X-Api-Key") == TOKEN
            self.send(200, RECORDS[:2]) if ok else self.send(403, {"error": f"bad key {self.headers.get('X-Api-Key')}"})
        elif path == "/flaky429":
            self.send(429, {"error": "slow down"}, {"Retry-After": "0"}) if hits == 1 else self.send(200, RECORDS[:2])
        elif path == "/flaky500":
            self.send(500, {"error": "oops"}) if hits <= 2 else self.send(200, RECORDS[:2])
        elif path == "/always500":
            self.send(503, {"error": "down"})
        elif path == "/slow":
            time.sleep(1.0)
            self.send(200, RECORDS[:1])
        elif path == "/newkey":
            pages = {1: '[{"a": 1, "b": "x"}, {"a": 2}]', 2: '[{"c": true, "a": 3}]', 3: "[]"}
            self.send(200, pages[int(q["page"])])
        elif path == "/types":
            self.send(200, '{"data": [{"s": "text", "i": 42, "f": 2.50, "e": 1e3, "big": 12345678901234567890.5, '
                           '"t": true, "no": false, "n": null, "o": {"x": [1, 2.0], "y": "\\u00e9"}, '
                           '"l": [1, "a"], "empty": ""}, 7, "plain"]}')
        elif path == "/object":
            self.send(200, {"data": {"items": []}, "total": 0})
        elif path == "/single":
            self.send(200, {"result": {"id": 1, "ok": True}})
        elif path == "/html":
            self.send(200, "<html>maintenance</html>")
        elif path == "/redirect":
            self.send(302, {}, {"Location": "/offset?offset=0&limit=2"})
        elif path == "/redirect-away":
            self.send(302, {}, {"Location": "http://example.invalid/x"})
        elif path == "/bad":
            self.send(400, {"error": f"invalid request token={TOKEN}"})
        elif path == "/same-cursor":
            self.send(200, {"items": RECORDS[:1], "next": "same"})
        else:
            self.send(404, {"error": "not found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that gave up (the timeout test)
        pass


@pytest.fixture
def api(settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Server(("127.0.0.1", 0), Handler)
    server.hits, server.requests = Counter(), []
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def rows(connector: ApiConnector, batch_rows: int = 1000) -> list[dict]:
    return pa.Table.from_batches(list(connector.read_batches(batch_rows=batch_rows))).to_pylist()


def texts(records: list[dict]) -> list[dict]:
    return [{key: str(value) for key, value in record.items()} for record in records]


# --- pagination -----------------------------------------------------------------------------------------

def test_page_pagination(api):
    connector = ApiConnector({"url": api.base + "/page", "record_path": "items",
                              "pagination": {"type": "page", "size_param": "per_page", "page_size": 3}})
    assert rows(connector) == texts(RECORDS)
    assert [q for _p, q, _h in api.requests] == [{"page": str(n), "per_page": "3"} for n in (1, 2, 3, 4)]
    assert connector.describe()["pages_read"] == 4


def test_offset_pagination_advances_by_the_records_received(api):
    connector = ApiConnector({"url": api.base + "/offset", "pagination": {"type": "offset", "page_size": 5}})
    assert rows(connector) == texts(RECORDS)
    assert [q["offset"] for _p, q, _h in api.requests] == ["0", "3", "6", "8"]


def test_cursor_pagination_with_nested_records(api):
    connector = ApiConnector({"url": api.base + "/cursor", "record_path": "data.items",
                              "pagination": {"type": "cursor", "cursor_param": "after", "cursor_path": "meta.next"}})
    assert rows(connector) == texts(RECORDS)
    assert [q for _p, q, _h in api.requests] == [{}, {"after": "3"}, {"after": "6"}]


def test_next_link_in_the_body(api):
    connector = ApiConnector({"url": api.base + "/next", "record_path": "results", "params": {"p": 1},
                              "pagination": {"type": "next_link", "next_link_path": "next"}})
    assert rows(connector) == texts(RECORDS)
    assert [q["p"] for _p, q, _h in api.requests] == ["1", "2", "3"]


def test_next_link_in_the_link_header(api):
    connector = ApiConnector({"url": api.base + "/linked",
                              "pagination": {"type": "next_link", "next_link_path": "link_header"}})
    assert rows(connector) == texts(RECORDS)
    assert api.hits["/linked"] == 3


def test_a_next_link_to_another_host_is_refused(api):
    connector = ApiConnector({"url": api.base + "/next-away", "record_path": "results",
                              "pagination": {"type": "next_link", "next_link_path": "next"}})
    with pytest.raises(ConnectorError, match="leads to another host") as caught:
        rows(connector)
    assert caught.value.permanent


def test_a_repeated_cursor_ends_the_read(api):
    connector = ApiConnector({"url": api.base + "/same-cursor", "record_path": "items",
                              "pagination": {"type": "cursor", "cursor_path": "next"}})
    assert rows(connector) == texts(RECORDS[:1]) * 2
    assert api.hits["/same-cursor"] == 2


def test_max_pages_stops_the_read_and_says_so(api):
    connector = ApiConnector({"url": api.base + "/page", "record_path": "items", "max_pages": 2,
                              "pagination": {"type": "page", "size_param": "per_page", "page_size": 3}})
    assert rows(connector) == texts(RECORDS[:6])
    assert connector.describe()["stopped_at_max_pages"] is True


def test_batches_are_cut_across_pages(api):
    connector = ApiConnector({"url": api.base + "/page", "record_path": "items",
                              "pagination": {"type": "page", "size_param": "per_page", "page_size": 3}})
    assert [b.num_rows for b in connector.read_batches(batch_rows=5)] == [5, 3]


# --- records --------------------------------------------------------------------------------------------

def test_values_become_text_as_in_a_file(api):
    records = rows(ApiConnector({"url": api.base + "/types", "record_path": "data"}))
    assert records[0] == {
        "s": "text", "i": "42", "f": "2.50", "e": "1e3", "big": "12345678901234567890.5", "t": "true", "no": "false",
        "n": None, "o": '{"x":[1,2.0],"y":"é"}', "l": '[1,"a"]', "empty": "", "value": None,
    }
    assert [r["value"] for r in records[1:]] == ["7", "plain"]  # a record that is not an object


def test_a_key_first_seen_on_a_later_page_adds_a_column(api):
    connector = ApiConnector({"url": api.base + "/newkey", "pagination": {"type": "page"}})
    batches = list(connector.read_batches(batch_rows=2))
    assert [b.schema.names for b in batches] == [["a", "b"], ["a", "b", "c"]]
    assert all(t == pa.string() for b in batches for t in b.schema.types)
    assert pa.Table.from_batches([batches[1]]).to_pylist() == [{"a": "3", "b": None, "c": "true"}]
    assert connector.describe()["columns"] == ["a", "b", "c"]


def test_an_object_at_the_record_path_is_one_record(api):
    assert rows(ApiConnector({"url": api.base + "/single", "record_path": "result"})) == [{"id": "1", "ok": "true"}]


def test_an_object_without_record_path_is_explained(api):
    connector = ApiConnector({"url": api.base + "/object"})
    with pytest.raises(ConnectorError, match=r"set record_path .* \(the response has: data, total\)"):
        rows(connector)
    wrong = ApiConnector({"url": api.base + "/object", "record_path": "data.rows"})
    check = wrong.test_connection()
    assert not check.ok and check.message == "record_path data.rows is not in the response (it has: data, total)."


def test_a_post_sends_its_body(api):
    connector = ApiConnector({"url": api.base + "/search", "method": "POST", "body": {"q": "x", "n": 2}})
    assert rows(connector) == [{"echo": '{"q":"x","n":2}'}]


# --- authentication -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "auth"), [
    ("/auth/bearer", {"type": "bearer", "token": TOKEN}),
    ("/auth/basic", {"type": "basic", "username": "ann", "password": "pa55word"}),
    ("/auth/header", {"type": "header", "name": "X-Api-Key", "value": TOKEN}),
])
def test_auth_is_sent_and_required(api, path, auth):
    assert rows(ApiConnector({"url": api.base + path, "auth": auth})) == texts(RECORDS[:2])
    check = ApiConnector({"url": api.base + path}).test_connection()
    assert not check.ok and check.message.startswith("The API refused the request (HTTP 40")
    assert check.details == {"permanent": True}


def test_secrets_stay_out_of_messages_and_descriptions(api):
    connector = ApiConnector({"url": api.base + "/bad", "auth": {"type": "bearer", "token": TOKEN}})
    with pytest.raises(ConnectorError) as caught:
        rows(connector)
    assert caught.value.message.startswith("The API rejected the request (HTTP 400)")
    assert TOKEN not in caught.value.message
    wrong_key = ApiConnector({"url": api.base + "/auth/header", "auth": {"type": "header", "name": "X-Api-Key",
                                                                         "value": "wrong-key-123"}})
    assert "wrong-key-123" not in wrong_key.test_connection().message
    described = ApiConnector({"url": api.base + "/page?page=1&api_key=k9", "auth": {"type": "bearer",
                                                                                     "token": TOKEN}}).describe()
    assert TOKEN not in json.dumps(described) and "k9" not in json.dumps(described)


# --- retries, rate limiting, timeouts -------------------------------------------------------------------

def test_429_is_retried_after_the_servers_retry_after(api):
    fake = FakeTime()
    connector = ApiConnector({"url": api.base + "/flaky429"}, sleep=fake.sleep, clock=fake.clock)
    assert rows(connector) == texts(RECORDS[:2])
    assert fake.sleeps == [0.0] and api.hits["/flaky429"] == 2


def test_5xx_is_retried_with_exponential_backoff(api):
    fake = FakeTime()
    connector = ApiConnector({"url": api.base + "/flaky500"}, sleep=fake.sleep, clock=fake.clock)
    assert rows(connector) == texts(RECORDS[:2])
    assert fake.sleeps == [0.5, 1.0] and api.hits["/flaky500"] == 3


def test_retries_run_out(api):
    fake = FakeTime()
    connector = ApiConnector({"url": api.base + "/always500", "retries": 2}, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(ConnectorError) as caught:
        rows(connector)
    assert caught.value.message == "The API answered HTTP 503 (Service Unavailable). Tried 3 times."
    assert not caught.value.permanent
    assert fake.sleeps == [0.5, 1.0]


def test_rate_limit_spaces_the_requests(api):
    fake = FakeTime()
    connector = ApiConnector({"url": api.base + "/page", "record_path": "items", "rate_limit_per_second": 20,
                              "pagination": {"type": "page", "size_param": "per_page", "page_size": 2}},
                             sleep=fake.sleep, clock=fake.clock)
    assert len(rows(connector)) == 8
    assert api.hits["/page"] == 5
    assert fake.sleeps == pytest.approx([0.05] * 4)


def test_a_slow_server_times_out(api):
    connector = ApiConnector({"url": api.base + "/slow", "timeout_seconds": 0.2, "retries": 0})
    with pytest.raises(ConnectorError) as caught:
        rows(connector)
    assert caught.value.message == "The API at 127.0.0.1 did not answer within 0.2 seconds."
    assert not caught.value.permanent


def test_a_closed_port_is_reported(api):
    port = api.server_address[1]
    api.shutdown()
    api.server_close()
    connector = ApiConnector({"url": f"http://127.0.0.1:{port}/page", "retries": 1}, sleep=lambda s: None)
    check = connector.test_connection()
    assert not check.ok and check.message == "Nothing accepts connections at 127.0.0.1 (connection refused). " \
                                             "Tried 2 times."


# --- other answers --------------------------------------------------------------------------------------

def test_not_json_and_not_found(api):
    with pytest.raises(ConnectorError, match=r"not JSON \(Content-Type text/html\): <html>maintenance</html>"):
        rows(ApiConnector({"url": api.base + "/html"}))
    with pytest.raises(ConnectorError, match="The API has nothing at .*/nowhere \\(HTTP 404\\)"):
        rows(ApiConnector({"url": api.base + "/nowhere"}))


def test_redirects_are_followed_on_the_same_host_only(api):
    assert rows(ApiConnector({"url": api.base + "/redirect"})) == texts(RECORDS[:2])
    with pytest.raises(ConnectorError, match=r"redirects to another host, port or scheme \(http://example.invalid/x\)"):
        rows(ApiConnector({"url": api.base + "/redirect-away"}))


def test_test_connection_reads_the_first_page_only(api):
    check = ApiConnector({"url": api.base + "/page", "record_path": "items",
                          "pagination": {"type": "page", "size_param": "per_page", "page_size": 3}}).test_connection()
    assert check.ok and check.message == "The API answered; its first page has 3 records with the keys: id, name."
    assert api.hits["/page"] == 1
    assert check.details["columns"] == ["id", "name"]


# --- the network policy ---------------------------------------------------------------------------------

def test_loopback_is_refused_without_an_allow_list(api, settings):
    settings.ETL_ALLOWED_NETWORKS = []
    connector = ApiConnector({"url": api.base + "/page"})
    check = connector.test_connection()
    assert not check.ok
    assert check.message == ("Connections to 127.0.0.1 (127.0.0.1) are not allowed: it is a loopback, private or "
                             "link-local address. An administrator can allow it with the ETL_ALLOWED_NETWORKS "
                             "setting.")
    assert api.hits["/page"] == 0


def test_the_address_actually_connected_to_is_checked(api, settings, monkeypatch):
    # As if DNS had answered with a public address for the check and a private one for the connection.
    monkeypatch.setattr("sources.connectors.api.connector.check_host", lambda host, port=None: ["203.0.113.7"])
    settings.ETL_ALLOWED_NETWORKS = []
    with pytest.raises(ConnectorError, match=r"Connections to 127.0.0.1 \(127.0.0.1\) are not allowed"):
        rows(ApiConnector({"url": api.base + "/page", "retries": 3}, sleep=pytest.fail))
    assert api.hits["/page"] == 0


def test_netpolicy_addresses(settings):
    settings.ETL_ALLOWED_NETWORKS = []
    assert netpolicy.host_allowed("8.8.8.8") and netpolicy.host_allowed("2001:4860:4860::8888")
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254", "100.64.0.1",
                    "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"):
        assert not netpolicy.host_allowed(address), address
    assert not netpolicy.host_allowed("localhost")
    assert not netpolicy.host_allowed("no-such-host.invalid")
    with pytest.raises(netpolicy.HostNotFound) as caught:
        netpolicy.check_host("no-such-host.invalid")
    assert caught.value.permanent


def test_netpolicy_allow_list(settings):
    settings.ETL_ALLOWED_NETWORKS = ["10.0.0.0/8", "::1", "localhost", "*.corp.example"]
    assert netpolicy.host_allowed("10.20.30.40") and netpolicy.host_allowed("::1")
    assert netpolicy.host_allowed("localhost")
    assert not netpolicy.host_allowed("192.168.1.1") and not netpolicy.host_allowed("127.0.0.1")
    assert netpolicy.name_allowed("db.corp.example") and not netpolicy.name_allowed("corp.example.evil")
    settings.ETL_ALLOWED_NETWORKS = "127.0.0.0/8, 192.168.0.0/16"  # as a comma-separated environment value
    assert netpolicy.host_allowed("127.0.0.1") and netpolicy.host_allowed("192.168.1.1")


# --- configuration --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "message"), [
    ({}, "url is required: the address of the API (https://...)."),
    ({"url": "ftp://x/y"}, "url must be an http:// or https:// address with a host name."),
    ({"url": "https://x", "method": "DELETE"}, "method must be GET or POST."),
    ({"url": "https://x", "body": {"a": 1}}, "body is sent with method POST only."),
    ({"url": "https://x", "auth": {"type": "bearer"}}, "auth.token is required for bearer authentication."),
    ({"url": "https://x", "auth": {"type": "oauth"}}, "auth must be an object whose type is one of: bearer, basic, "
                                                     "header."),
    ({"url": "https://x", "pagination": {"type": "cursor"}},
     "pagination.cursor_path is required: the dotted path of the next cursor in the response."),
    ({"url": "https://x", "pagination": {"type": "page", "page_size": 10}},
     "pagination: give size_param and page_size together (or neither)."),
    ({"url": "https://x", "pagination": {"type": "offset", "cursor_path": "x"}},
     "pagination has unknown key(s) cursor_path for type offset"),
    ({"url": "https://x", "pagination": {"type": "next_link"}}, "pagination.next_link_path is required"),
    ({"url": "https://x", "rate_limit_per_second": 0}, "rate_limit_per_second must be a positive number."),
    ({"url": "https://x", "retries": -1}, "retries must be a whole number from 0 to 20."),
    ({"url": "https://x", "headers": {"X": 1}}, "headers must be an object of header names and text values."),
    ({"url": "https://x", "record_path": "a..b"}, "record_path must be a dotted path"),
    ({"url": "https://x", "max_pages": 0}, "max_pages must be a positive whole number."),
    ({"url": "https://x", "pages": 3}, "Unknown key(s) pages; the API connector knows:"),
])
def test_configuration_errors_name_the_key(config, message):
    errors = ApiConnector.config_errors(config)
    assert any(error.startswith(message) for error in errors), errors
    with pytest.raises(ConnectorError):
        ApiConnector(config)


def test_a_full_configuration_is_valid():
    assert ApiConnector.config_errors({
        "url": "https://api.example.com/v1/orders", "method": "GET", "headers": {"Accept-Language": "ru"},
        "params": {"status": "paid", "ids": [1, 2]}, "auth": {"type": "bearer", "token": "t"},
        "record_path": "data.items", "max_pages": 50, "rate_limit_per_second": 2.5, "retries": 5,
        "timeout_seconds": 10, "pagination": {"type": "page", "page_param": "p", "size_param": "size",
                                              "page_size": 100, "start_page": 0},
    }) == []


# --- redirects and links to another origin (issue 12): two listeners on two ports of 127.0.0.1 -------------

class Elsewhere(BaseHTTPRequestHandler):
    """The other port: records what reaches it (it must be nothing)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path, dict(self.headers)))
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Hop(BaseHTTPRequestHandler):
    """Redirects, or links the next page, to the other port of the same address."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        other = self.server.other
        if self.path.startswith("/link"):
            body = json.dumps({"results": [{"id": 1}], "next": other + "/page2"}).encode()
            self.send_response(200)
        else:
            body = b"{}"
            self.send_response(int(self.path.strip("/").split("/")[-1]))
            self.send_header("Location", other + "/stolen")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def two_ports(settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    elsewhere = Server(("127.0.0.1", 0), Elsewhere)
    elsewhere.seen = []
    hop = Server(("127.0.0.1", 0), Hop)
    hop.other = f"http://127.0.0.1:{elsewhere.server_address[1]}"
    hop.base = f"http://127.0.0.1:{hop.server_address[1]}"
    for server in (elsewhere, hop):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield hop, elsewhere
    for server in (elsewhere, hop):
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_of_the_same_address_is_refused(two_ports, status):
    hop, elsewhere = two_ports
    connector = ApiConnector({"url": f"{hop.base}/r/{status}", "auth": {"type": "bearer", "token": TOKEN},
                              "headers": {"Cookie": "sid=c00kie-value"}, "retries": 0})
    with pytest.raises(ConnectorError, match="redirects to another host, port or scheme") as caught:
        rows(connector)
    assert caught.value.permanent and hop.other in caught.value.message
    assert elsewhere.seen == []  # nothing, with or without credentials, reached the other port


def test_a_next_link_to_another_port_is_refused(two_ports):
    hop, elsewhere = two_ports
    connector = ApiConnector({"url": f"{hop.base}/link", "record_path": "results",
                              "auth": {"type": "bearer", "token": TOKEN},
                              "pagination": {"type": "next_link", "next_link_path": "next"}})
    with pytest.raises(ConnectorError, match="leads to another host, port or scheme"):
        rows(connector)
    assert elsewhere.seen == []

