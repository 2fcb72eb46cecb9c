"""The specification's migration workflow: upgrade, downgrade one step, current, history; migrate_all."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

from etlsite import relational_migrations as rm

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _tables(alias: str) -> set[str]:
    return set(connections[alias].introspection.table_names())


def test_current_and_history_name_only_the_databases_own_apps():
    current = _run("migrate_db", "staging", "current")
    assert "staging: 0004_quarantined_rows_reason_message" in current
    assert "pipelines" not in current
    history = _run("migrate_db", "metadata", "history")
    assert "pipelines.0001_initial" in history and "sources.0001_initial" in history
    assert "staging.0001_initial" not in history


@pytest.mark.parametrize("database,alias", [("staging", "staging"), ("metadata", "default")])
def test_downgrade_one_step_then_upgrade_restores_the_schema(database, alias):
    before_tables = _tables(alias)
    before_history = [(m.app, m.name) for m in rm.history(alias)]
    undone_app, _target = rm.previous_step(alias)
    try:
        _run("migrate_db", database, "downgrade", "-1", "--noinput")
        after = [(m.app, m.name) for m in rm.history(alias)]
        assert after == before_history[:-1]
        # The step's tables (if it created any: the last step may be a data migration) are dropped.
        assert _tables(alias) <= before_tables
    finally:
        _run("migrate_db", database, "upgrade", "head", "--noinput")
    assert [(m.app, m.name) for m in rm.history(alias)] == before_history
    assert _tables(alias) == before_tables
    assert undone_app in rm.apps_in(alias)


def test_downgrade_staging_drops_only_staging_tables():
    metadata_before = _tables("default")
    try:
        _run("migrate_db", "staging", "downgrade", "--noinput")  # 0004: a column only, no table
        _run("migrate_db", "staging", "downgrade", "--noinput")  # 0003: a permission only, no table
        assert "quarantined_rows" in _tables("staging")
        _run("migrate_db", "staging", "downgrade", "--noinput")
        assert "quarantined_rows" not in _tables("staging")
        assert "staging_tables" in _tables("staging")
        assert _tables("default") == metadata_before
    finally:
        _run("migrate_db", "staging", "upgrade", "--noinput")
    assert "quarantined_rows" in _tables("staging")


def test_unknown_step_is_refused_with_a_clear_message():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="one step back"):
        _run("migrate_db", "all", "downgrade", "-3")


def test_migrate_all_is_idempotent(clickhouse):
    first = _run("migrate_all", "--noinput")
    snapshot = (_tables("default"), _tables("staging"), rm.history("default"), rm.history("staging"),
                clickhouse.rows("SELECT name, checksum, applied_at FROM clickhouse_migrations FINAL ORDER BY name"))
    second = _run("migrate_all", "--noinput")
    assert "All databases are up to date." in first
    assert second.count("No migrations to apply.") == 2
    assert "No ClickHouse migrations to apply." in second
    assert snapshot == (_tables("default"), _tables("staging"), rm.history("default"), rm.history("staging"),
                        clickhouse.rows("SELECT name, checksum, applied_at FROM clickhouse_migrations FINAL "
                                        "ORDER BY name"))
