"""Shared test fixtures.

ClickHouse tests take the `clickhouse` fixture and run twice: once through chDB in this process
("embedded") and once through clickhouse-connect over real HTTP ("http") — against a ClickHouse server when
TEST_CLICKHOUSE_HOST is set, otherwise against chDB served by tests/support/clickhouse_http_bridge.py in a
subprocess. Both use a database of their own, `<database>_test`, created and migrated once per session and
emptied before each test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from analytics.clickhouse import get_target
from analytics.clickhouse.migrator import MIGRATIONS_TABLE, migrate

ROOT = Path(__file__).resolve().parent
BRIDGE = ROOT / "tests" / "support" / "clickhouse_http_bridge.py"
# Both by default; CI's PostgreSQL pass narrows it to "embedded" (TEST_CLICKHOUSE_BACKENDS=embedded): the HTTP
# path does not depend on which relational database holds the metadata, and the embedded pass covers it.
# Folders the suite's sources read, listed as an administrator would list them in ETL_FILE_ROOTS: temporary
# folders, tests/data, and /data of the specification's example path (the factories' /data/sales_2024.csv).
TEST_FILE_ROOTS = [tempfile.gettempdir(), str(ROOT / "tests" / "data"), "/data"]
CLICKHOUSE_BACKENDS = [name for name in os.environ.get("TEST_CLICKHOUSE_BACKENDS", "embedded,http").split(",")
                       if name in ("embedded", "http")] or ["embedded", "http"]


_stack_started: list[str] = []


def pytest_sessionstart(session):
    """The suite's PostgreSQL and broker: the embedded ones under var/ are started here unless they run
    already (`make run`, `manage.py stack start`) or *_HOST / CELERY_BROKER_URL name servers; those this
    session started are stopped at its end. pytest-django then creates test_<name> databases on them."""
    from etlsite import stack
    from tests.support.broker import use_session_broker

    _stack_started.extend(stack.start(["postgres", "valkey"]))
    use_session_broker()


def pytest_sessionfinish(session, exitstatus):
    from etlsite import stack

    stack.stop(_stack_started)


def _test_database() -> str:
    return f"{django_settings.TARGET_CLICKHOUSE['DATABASE']}_test"


@pytest.fixture(scope="session")
def clickhouse_embedded_config(tmp_path_factory) -> dict:
    config = dict(django_settings.TARGET_CLICKHOUSE)
    config.update(BACKEND="embedded", PATH=str(tmp_path_factory.mktemp("chdb") / "data"), DATABASE=_test_database())
    return config


@pytest.fixture(scope="session")
def clickhouse_http_config(tmp_path_factory):
    config = dict(django_settings.TARGET_CLICKHOUSE)
    config.update(BACKEND="server", DATABASE=_test_database())
    if os.environ.get("TEST_CLICKHOUSE_HOST"):
        config.update(
            HOST=os.environ["TEST_CLICKHOUSE_HOST"],
            PORT=int(os.environ.get("TEST_CLICKHOUSE_PORT", "8123")),
            USER=os.environ.get("TEST_CLICKHOUSE_USER", "default"),
            PASSWORD=os.environ.get("TEST_CLICKHOUSE_PASSWORD", ""),
        )
        yield config
        return
    data = tmp_path_factory.mktemp("chdb-http") / "data"
    log = data.parent / "bridge.log"
    with open(log, "w") as stderr:  # a file, not a pipe: nobody reads it while the bridge runs
        process = subprocess.Popen(
            [sys.executable, str(BRIDGE), "--path", str(data), "--port", "0"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    line = process.stdout.readline()
    if not line.startswith("LISTENING"):
        process.kill()
        raise RuntimeError(f"ClickHouse HTTP bridge did not start: {line}{log.read_text()}")
    config.update(HOST="127.0.0.1", PORT=int(line.split()[1]), USER="default", PASSWORD="", COMPRESS=False,
                  SECURE=False)
    yield config
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session", autouse=True)
def _file_roots():
    """Sources read only the upload folder and ETL_FILE_ROOTS (sources/fileroots.py): the suite's roots, for
    this process and the workers it starts. Tests of the rule itself set narrower ones."""
    os.environ["ETL_FILE_ROOTS"] = ",".join(TEST_FILE_ROOTS)
    django_settings.ETL_FILE_ROOTS = list(TEST_FILE_ROOTS)


@pytest.fixture(scope="session", autouse=True)
def _one_chdb_data_directory(clickhouse_embedded_config):
    """chDB runs one engine per process and does not reliably open another data directory once one was
    open ("Error initializing EmbeddedServer"), yet tests that never ask for ClickHouse still reach it (the
    audit log written on admin changes). So the default target shares the embedded fixture's directory,
    under its own database name, which no test migrates."""
    if django_settings.TARGET_CLICKHOUSE.get("BACKEND") == "embedded":
        django_settings.TARGET_CLICKHOUSE = {**django_settings.TARGET_CLICKHOUSE,
                                             "PATH": clickhouse_embedded_config["PATH"]}


_schema_tables: dict[str, set[str]] = {}


def _table_names(target) -> set[str]:
    return {name for (name,) in target.query("SELECT name FROM system.tables WHERE database = {db:String}",
                                             {"db": target.database}).result_rows}


def _empty_tables(target, keep: set[str]) -> None:
    """Empty the migrated tables; drop the ones tests made (load targets), so each test starts clean."""
    with target.connection() as client:
        for name in _table_names(target):
            if name == MIGRATIONS_TABLE:
                continue
            verb = "TRUNCATE TABLE" if name in keep else "DROP TABLE"
            client.command(f"{verb} IF EXISTS `{name}`")


@pytest.fixture(params=CLICKHOUSE_BACKENDS)
def clickhouse(request, settings):
    """The ClickHouse target, migrated and empty; parametrized over both backends."""
    config = request.getfixturevalue(f"clickhouse_{request.param}_config")
    settings.TARGET_CLICKHOUSE = config
    target = get_target()
    if request.param not in _schema_tables:
        target.drop_database()
        migrate(target)
        _schema_tables[request.param] = _table_names(target)
    _empty_tables(target, _schema_tables[request.param])
    return target


@pytest.fixture(autouse=True)
def _english_by_default():
    """Every test starts in the default language: a request in Russian must not leak into the next test."""
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Pages render without `collectstatic` (the manifest storage is for deployments), users are created
    with a fast hasher (the production one costs ~0.8 s per `admin_client`), and the cache (throttles, login
    lockouts) is in memory, not the folder under ETL_VAR_DIR a running server shares."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: the API's throttle history lives there, and a fast machine
    running the whole suite in one process would otherwise throttle later tests' uploads."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
