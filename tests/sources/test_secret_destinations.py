"""A stored secret does not follow its source to another destination (issue 12, high).

For each connector that holds secrets, through the admin form and through the API, as an editor: keeping
the masked ******** and changing where the source points (host, URL, port, bucket, brokers, namenode...) is
refused with a message asking for the secrets again, and nothing is stored; keeping the mask and changing
something else keeps the secrets; typing the secrets again with the new destination saves. Then, with real
HTTP listeners on two ports of 127.0.0.1, the API connector's token never reaches the new one.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from sources.models import DataSource
from sources.secrets import PLACEHOLDER, mask_config
from sources.services import source_test_connection
from tests.api.conftest import client_for, make_user
from tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

SECRET = "St0red-Secret-9f8e"
NEW_SECRET = "Typed-Again-1a2b"


def _set(config: dict, path: str, value) -> dict:
    config = json.loads(json.dumps(config))
    *parents, last = path.split(".")
    target = config
    for key in parents:
        target = target[key]
    target[last] = value
    return config


# kind, stored configuration, {destination key: new value}, (another key, new value), secret paths
CASES = {
    "database": ("database",
                 {"engine": "postgresql", "host": "db.example.org", "port": 5432, "user": "etl",
                  "password": SECRET, "database": "orders", "table": "orders"},
                 {"host": "collector.example.net", "port": 6543, "engine": "mysql"},
                 ("table", "customers"), ["password"]),
    "database url": ("database",
                     {"url": "postgresql://etl@db.example.org:5432/orders", "password": SECRET, "table": "orders"},
                     {"url": "postgresql://etl@collector.example.net:5432/orders"},
                     ("table", "customers"), ["password"]),
    "api": ("api",
            {"url": "https://api.example.com/v1/orders", "auth": {"type": "bearer", "token": SECRET},
             "headers": {"X-Api-Key": SECRET + "-h", "Accept": "application/json"}, "public_headers": ["Accept"],
             "record_path": "data"},
            {"url": "https://api.example.com:8443/v1/orders"},
            ("record_path", "items"), ["auth.token", "headers.X-Api-Key"]),
    "s3": ("s3",
           {"bucket": "exports", "endpoint_url": "https://minio.example.org:9000", "access_key_id": "AKIAEXAMPLE1",
            "secret_access_key": SECRET, "prefix": "daily/"},
           {"endpoint_url": "https://collector.example.net:9000", "bucket": "other-bucket"},
           ("prefix", "weekly/"), ["access_key_id", "secret_access_key"]),
    "kafka": ("kafka",
              {"bootstrap_servers": "broker1.example.org:9093", "topic": "orders", "group_id": "etl",
               "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "etl",
               "sasl_password": SECRET},
              {"bootstrap_servers": "collector.example.net:9093", "security_protocol": "SASL_PLAINTEXT"},
              ("topic", "payments"), ["sasl_password"]),
    "hdfs": ("hdfs",
             {"namenode_url": "http://namenode.example.org:9870", "path": "/data/sales", "user": "etl",
              "delegation_token": SECRET},
             {"namenode_url": "http://namenode.example.org:9871", "verify_tls": False},
             ("path", "/data/returns"), ["delegation_token"]),
}
DESTINATION_CHANGES = [(name, key, value) for name, case in CASES.items() for key, value in case[2].items()]


class Channel:
    """Saves a submitted configuration through the admin form or the API, as an editor."""

    def __init__(self, name: str, client, source: DataSource):
        self.name, self.client, self.source = name, client, source

    def save(self, config: dict) -> tuple[bool, str]:
        if self.name == "api":
            response = self.client.patch(f"/api/v1/sources/{self.source.pk}/", {"connection_config": config},
                                         format="json")
            return response.status_code == 200, response.content.decode()
        url = reverse("admin:sources_datasource_change", args=[self.source.pk])
        shown = mask_config(self.source.connection_config, self.source.source_type)
        response = self.client.post(url, {
            "name": self.source.name, "description": "", "source_type": self.source.source_type,
            "is_active": "on", "connection_config": json.dumps(config),
            "initial-connection_config": json.dumps(shown)})
        if response.status_code == 302:
            return True, ""
        assert response.status_code == 200
        return False, str(response.context["adminform"].form.errors.get("connection_config", ""))

    def shown(self) -> dict:
        """The configuration as the editor gets it back (masked)."""
        if self.name == "api":
            return self.client.get(f"/api/v1/sources/{self.source.pk}/").json()["connection_config"]
        url = reverse("admin:sources_datasource_change", args=[self.source.pk])
        return json.loads(self.client.get(url).context["adminform"].form["connection_config"].value())


@pytest.fixture(params=["admin", "api"])
def channel_for(request, db):
    editor = make_user("editor", actions=("view", "add", "change"))
    editor.is_staff = True
    editor.save()

    def make(case: str) -> Channel:
        kind, config = CASES[case][0], CASES[case][1]
        source = DataSourceFactory(name=f"{case} source", source_type=kind, connection_config=config)
        if request.param == "api":
            return Channel("api", client_for(editor), source)
        from django.test import Client

        client = Client()
        client.force_login(editor)
        return Channel("admin", client, source)

    return make


@pytest.mark.parametrize(("case", "key", "value"), DESTINATION_CHANGES)
def test_keeping_the_mask_while_changing_the_destination_is_refused(channel_for, case, key, value):
    channel = channel_for(case)
    stored = channel.source.connection_config
    submitted = {**channel.shown(), key: value}
    assert PLACEHOLDER in json.dumps(submitted)
    saved, message = channel.save(submitted)
    assert not saved
    assert "points elsewhere" in message and key in message
    for path in CASES[case][4]:
        assert path in message
    assert SECRET not in message
    channel.source.refresh_from_db()
    assert channel.source.connection_config == stored  # nothing saved, the secret stays with the old host


@pytest.mark.parametrize("case", sorted(CASES))
def test_keeping_the_mask_while_changing_another_key_keeps_the_secrets(channel_for, case):
    channel = channel_for(case)
    key, value = CASES[case][3]
    saved, message = channel.save({**channel.shown(), key: value})
    assert saved, message
    channel.source.refresh_from_db()
    assert channel.source.connection_config == {**CASES[case][1], key: value}


@pytest.mark.parametrize("case", sorted(CASES))
def test_typing_the_secrets_again_with_a_new_destination_saves(channel_for, case):
    channel = channel_for(case)
    submitted = {**channel.shown(), **CASES[case][2]}
    for path in CASES[case][4]:
        submitted = _set(submitted, path, NEW_SECRET)
    saved, message = channel.save(submitted)
    assert saved, message
    channel.source.refresh_from_db()
    config = channel.source.connection_config
    assert SECRET not in json.dumps(config) and NEW_SECRET in json.dumps(config)
    assert {key: config[key] for key in CASES[case][2]} == CASES[case][2]


def test_changing_the_source_type_needs_the_secrets_again(db):
    source = DataSourceFactory(name="Orders DB", source_type="database", connection_config=CASES["database"][1])
    api = client_for(make_user("editor", actions=("view", "add", "change")))
    response = api.patch(f"/api/v1/sources/{source.pk}/", {"source_type": "api"}, format="json")
    assert response.status_code == 400
    assert "points elsewhere" in json.dumps(response.json())
    source.refresh_from_db()
    assert source.source_type == "database"


# --- the API connector against two real listeners on 127.0.0.1 --------------------------------------------

class Recorder(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append(dict(self.headers))
        body = b'[{"id": 1}]'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def listeners(settings):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    servers = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.daemon_threads = True
        server.seen = []
        server.base = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_stored_token_never_reaches_a_listener_on_another_port(listeners):
    home, elsewhere = listeners
    editor = make_user("editor", actions=("view", "add", "change"))
    api = client_for(editor)
    created = api.post("/api/v1/sources/", {"name": "Orders API", "source_type": "api", "connection_config": {
        "url": home.base + "/orders", "auth": {"type": "bearer", "token": SECRET}, "retries": 0}}, format="json")
    assert created.status_code == 201, created.content
    source = DataSource.objects.get(pk=created.json()["id"])
    assert source_test_connection(source=source).ok
    assert home.seen[-1]["Authorization"] == f"Bearer {SECRET}"

    masked = api.get(f"/api/v1/sources/{source.pk}/").json()["connection_config"]
    response = api.patch(f"/api/v1/sources/{source.pk}/", {"connection_config": {
        **masked, "url": elsewhere.base + "/orders"}}, format="json")
    assert response.status_code == 400
    assert "auth.token" in json.dumps(response.json())
    source.refresh_from_db()
    assert source_test_connection(source=source).ok  # still the old listener
    assert elsewhere.seen == []

    retyped = {**masked, "url": elsewhere.base + "/orders", "auth": {"type": "bearer", "token": NEW_SECRET}}
    assert api.patch(f"/api/v1/sources/{source.pk}/", {"connection_config": retyped},
                     format="json").status_code == 200
    source.refresh_from_db()
    assert source_test_connection(source=source).ok
    assert [seen.get("Authorization") for seen in elsewhere.seen] == [f"Bearer {NEW_SECRET}"]
    assert SECRET not in json.dumps(elsewhere.seen)
