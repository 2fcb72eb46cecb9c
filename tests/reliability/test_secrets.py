"""Secrets never leak: sources are created (through the API, so everything is audited) with known secret
values in every shape connection_config accepts — a database password, a password inside a connection URL,
an API bearer token, an API key in a URL's query, basic-auth and S3 keys — then changed, tested, and run
against a closed port so they fail. Then every place a person or a log reader sees is scanned for the
plaintext: every page of the site (admin lists, change and history pages included), every API response,
the audit log rows in ClickHouse (etl_audit_log), all log output at DEBUG, the runs' and the connection
checks' error messages, and the database row itself (encrypted at rest). None may hold a secret.
"""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import connections
from django.urls import reverse

from analytics.audit import TABLE as AUDIT_TABLE
from analytics.audit import audit_send_pending
from analytics.models import AuditOutbox
from pipelines.models import PipelineRun, RunStatus
from pipelines.services import run_claim, run_create
from sources.models import DataSource
from sources.services import source_test_connection
from tests.api.conftest import client_for, make_user
from tests.factories import PipelineFactory
from tests.reliability.urlwalk import routes

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

SECRETS = {
    "db_password": "Pw7f3a9c1eDbSecret",
    "url_password": "UrlPw1a2b3c4dSecret",
    "bearer": "Tok5b2d8e4fApiSecret",
    "query_key": "Qk9e8d7c6bApiSecret",
    "basic": "Basic3c4d5e6fSecret",
    "s3_key": "S3k0a1b2c3dSecret",
    "changed": "Chg8f7e6d5cSecret",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is: nothing listens there


def _configs(port: int) -> list[tuple[str, str, dict]]:
    s = SECRETS
    return [
        ("Orders DB", "database", {"engine": "postgresql", "host": "127.0.0.1", "port": port, "user": "etl",
                                   "password": s["db_password"], "database": "orders", "table": "orders"}),
        ("Orders DB by URL", "database", {"url": f"postgresql://etl:{s['url_password']}@127.0.0.1:{port}/orders",
                                          "table": "orders"}),
        ("Rates API", "api", {"url": f"http://127.0.0.1:{port}/rates?api_key={s['query_key']}",
                              "auth": {"type": "bearer", "token": s["bearer"]}, "retries": 0}),
        ("Basic API", "api", {"url": f"http://127.0.0.1:{port}/v1", "retries": 0,
                              "auth": {"type": "basic", "username": "etl", "password": s["basic"]}}),
        ("Exports bucket", "s3", {"bucket": "exports", "endpoint_url": f"http://127.0.0.1:{port}",
                                  "access_key_id": "AKIAEXAMPLE", "secret_access_key": s["s3_key"]}),
    ]


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


@pytest.fixture
def world(clickhouse, settings, tmp_path):
    settings.ETL_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # let the connections be tried, and fail on the closed port
    settings.MEDIA_ROOT = tmp_path
    admin = make_user("root", superuser=True)
    admin.is_staff = True
    admin.save()
    api = client_for(admin)
    port = _closed_port()
    sources = []
    for name, kind, config in _configs(port):
        response = api.post("/api/v1/sources/", {"name": name, "source_type": kind, "connection_config": config},
                            format="json")
        assert response.status_code == 201, response.content
        sources.append(DataSource.objects.get(pk=response.json()["id"]))
    # A secret changed later goes through the same paths (update audit, form merge).
    first = sources[0]
    response = api.patch(f"/api/v1/sources/{first.pk}/", {"connection_config": {
        **_configs(port)[0][2], "password": SECRETS["changed"]}}, format="json")
    assert response.status_code == 200, response.content
    return {"admin": admin, "api": api, "sources": sources, "port": port}


def test_no_secret_appears_anywhere(world, clickhouse, client, caplog):
    caplog.set_level(logging.DEBUG)
    seen: dict[str, str] = {}
    sources = world["sources"]

    # Failed connection checks and failed runs: their messages are shown to people.
    from pipelines.engine.runner import run_execute

    for source in sources:
        check = source_test_connection(source=source)
        assert not check.ok, source.name
        seen[f"check {source.name}"] = f"{check.message} {check.details}"
    for source in sources[:4]:
        pipeline = PipelineFactory(data_source=source, configuration={}, max_retries=0)
        run = run_create(pipeline=pipeline, triggered_by="test")
        assert run_claim(run=run)
        run = run_execute(run=run, batch_rows=1000)
        assert run.status == RunStatus.FAILED, (source.name, run.status)
        seen[f"run {run.pk}"] = f"{run.error_message} {run.execution_context}"

    # Audit records wait in the metadata database's outbox until a commit (which the test's transaction never
    # makes) sends them: every column of every waiting row, then sent as the beat task would.
    seen["etl_audit_outbox"] = "\n".join(map(str, AuditOutbox.objects.values_list()))
    assert audit_send_pending() >= len(sources)

    # Every page of the site, as a superuser: admin lists, change and history pages, the pages, the API.
    client.force_login(world["admin"])
    ids = {"source": [s.pk for s in sources], "run": list(PipelineRun.objects.values_list("pk", flat=True))}
    urls = [route.path for route in routes() if "<" not in route.path and "/1/" not in route.path
            and route.name not in ("admin:logout", "set_language", "switch_language")]
    for pk in ids["source"]:
        urls += [reverse("admin:sources_datasource_change", args=[pk]),
                 reverse("admin:sources_datasource_history", args=[pk]),
                 reverse("admin:sources_datasource_delete", args=[pk]),
                 f"/api/v1/sources/{pk}/"]
    for pk in ids["run"]:
        urls += [reverse("admin:pipelines_pipelinerun_change", args=[pk]), reverse("webui:run-detail", args=[pk]),
                 reverse("webui:run-logs", args=[pk]), reverse("webui:run-progress", args=[pk]),
                 f"/api/v1/runs/{pk}/"]
    urls += ["/api/v1/audit-log/?page_size=500", "/api/v1/processing-logs/?page_size=500"]
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        seen[url] = response.content.decode(errors="replace")
    # The admin's "test connection" action reports each source's result as a message.
    response = client.post(reverse("admin:sources_datasource_changelist"),
                           {"action": "test_connection", "_selected_action": ids["source"], "index": 0},
                           follow=True)
    seen["admin test_connection"] = response.content.decode(errors="replace")

    # The audit log, every column of every row.
    audit = clickhouse.query(f"SELECT * FROM {AUDIT_TABLE}").result_rows
    assert len(audit) >= len(sources) + 1
    seen["etl_audit_log"] = "\n".join(map(str, audit))
    # At rest: the row in data_sources holds ciphertext, not the secret.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT connection_config FROM data_sources")
        seen["data_sources rows"] = "\n".join(str(row) for row in cursor.fetchall())
    seen["log output"] = caplog.text + "\n".join(str(r.args) for r in caplog.records)

    leaks = {where: _leaks(text) for where, text in seen.items() if _leaks(text)}
    assert not leaks, leaks
    # The scan saw what it was meant to: the sources' pages, the failures, the audit rows, some log output.
    assert len(seen) > 150 and "Orders DB" in seen[reverse("admin:sources_datasource_changelist")]
    assert caplog.records


def test_the_scan_finds_a_secret_when_one_is_shown(world, clickhouse):
    """The control: the same secrets, decrypted in memory, are found by the scan (it can fail)."""
    source = DataSource.objects.get(pk=world["sources"][0].pk)
    assert _leaks(str(source.connection_config)) == ["changed"]
