"""Shared test fixtures.

ClickHouse is reached as the product reaches it, with clickhouse-connect over HTTP: to a ClickHouse server
when TEST_CLICKHOUSE_HOST is set, otherwise to the embedded ClickHouse process (analytics/clickhouse/server.py)
started once per test session on a free port with a temporary data directory. Every test points the default
target there (tests that never ask for ClickHouse still reach it, e.g. the audit log on admin changes); the
`clickhouse` fixture adds a database of its own, `<database>_test`, migrated once and emptied before each test.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from analytics.clickhouse import get_target
from analytics.clickhouse.migrator import MIGRATIONS_TABLE, migrate
from tests.support.clickhouse import start_clickhouse_process

ROOT = Path(__file__).resolve().parent
# Folders the suite's sources read, listed as an administrator would list them in ETL_FILE_ROOTS: temporary
# folders, tests/data, and /data of the specification's example path (the factories' /data/sales_2024.csv).
TEST_FILE_ROOTS = [tempfile.gettempdir(), str(ROOT / "tests" / "data"), "/data"]


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
def clickhouse_server(tmp_path_factory):
    """Where the tests' ClickHouse answers: TARGET_CLICKHOUSE keys for it (no DATABASE)."""
    if os.environ.get("TEST_CLICKHOUSE_HOST"):
        yield {"EMBEDDED": False, "HOST": os.environ["TEST_CLICKHOUSE_HOST"],
               "PORT": int(os.environ.get("TEST_CLICKHOUSE_PORT", "8123")),
               "USER": os.environ.get("TEST_CLICKHOUSE_USER", "default"),
               "PASSWORD": os.environ.get("TEST_CLICKHOUSE_PASSWORD", ""), "SECURE": False, "COMPRESS": False,
               "CLUSTER": ""}
        return
    password = secrets.token_urlsafe(16)
    process, port = start_clickhouse_process(tmp_path_factory.mktemp("clickhouse"), password)
    yield {"EMBEDDED": False, "HOST": "127.0.0.1", "PORT": port, "USER": "default", "PASSWORD": password,
           "SECURE": False, "COMPRESS": False, "CLUSTER": ""}
    process.terminate()
    process.wait(timeout=60)


@pytest.fixture(scope="session", autouse=True)
def _file_roots():
    """Sources read only the upload folder and ETL_FILE_ROOTS (sources/fileroots.py): the suite's roots, for
    this process and the workers it starts. Tests of the rule itself set narrower ones."""
    os.environ["ETL_FILE_ROOTS"] = ",".join(TEST_FILE_ROOTS)
    django_settings.ETL_FILE_ROOTS = list(TEST_FILE_ROOTS)


@pytest.fixture(scope="session", autouse=True)
def _suite_keeps_its_priority():
    """`run_pipeline --sync` called inside the suite would lower the test process's own priority (and so of
    every worker it starts after): in this process the loads keep it; the workers it starts use the default."""
    django_settings.ETL_WORKER_NICE = 0


@pytest.fixture(scope="session", autouse=True)
def _default_target(clickhouse_server):
    """The default target is the tests' ClickHouse too (under its usual database name, which no test
    migrates), so that nothing in a test reaches var/ or a ClickHouse of `make run`."""
    config = {k: v for k, v in django_settings.TARGET_CLICKHOUSE.items() if k not in ("DATA_DIR", "PASSWORD_FILE")}
    django_settings.TARGET_CLICKHOUSE = {**config, **clickhouse_server}


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


@pytest.fixture
def clickhouse(settings, request):
    """The ClickHouse target, on a database of the tests' own, migrated and empty.

    The audit outbox is emptied too (in tests with database access): migrating and flushing the test
    databases records audit rows (beat's system tasks) that would otherwise reach this test's etl_audit_log.
    """
    if request.node.get_closest_marker("django_db"):
        from analytics.models import AuditOutbox

        AuditOutbox.objects.all().delete()
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": _test_database()}
    target = get_target()
    if target.database not in _schema_tables:
        target.drop_database()
        migrate(target)
        _schema_tables[target.database] = _table_names(target)
    _empty_tables(target, _schema_tables[target.database])
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
