"""The specification's five ClickHouse tables, created by versioned migrations recorded in ClickHouse."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.clickhouse import get_target, migrator

SPEC_COLUMNS = {
    "data_quality_metrics": ["id", "table_name", "column_name", "metric_name", "metric_value", "threshold_min",
                             "threshold_max", "is_passed", "pipeline_run_id", "created_at", "updated_at"],
    "business_metrics": ["id", "metric_category", "metric_name", "metric_value", "metric_unit", "dimension_values",
                         "calculation_date", "pipeline_run_id", "created_at", "updated_at"],
    "data_lineage": ["id", "source_table", "source_column", "target_table", "target_column", "transformation_type",
                     "transformation_logic", "pipeline_run_id", "record_count", "created_at", "updated_at"],
    "data_catalog": ["id", "table_name", "schema_name", "column_name", "data_type", "is_nullable", "default_value",
                     "description", "business_meaning", "owner", "tags", "sensitivity_level", "sensitivity_state",
                     "sensitivity_evidence", "column_fingerprint", "last_updated", "created_at", "updated_at"],
    "etl_audit_log": ["id", "operation_type", "table_name", "operation_details", "user_id", "session_id",
                      "ip_address", "user_agent", "pipeline_run_id", "created_at", "updated_at"],
}


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def fresh_database(clickhouse, settings):
    """The same backend with a database of its own, dropped before and after."""
    settings.TARGET_CLICKHOUSE = {**settings.TARGET_CLICKHOUSE, "DATABASE": f"{clickhouse.database}_fresh"}
    target = get_target()
    target.drop_database()
    yield target
    target.drop_database()


def test_every_specification_table_has_its_columns(clickhouse):
    rows = clickhouse.query(
        "SELECT table, name FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        {"db": clickhouse.database},
    ).result_rows
    columns: dict[str, list[str]] = {}
    for table, name in rows:
        columns.setdefault(table, []).append(name)
    for table, expected in SPEC_COLUMNS.items():
        assert columns[table] == expected, table


def test_ids_and_timestamps_are_generated_by_clickhouse(clickhouse):
    clickhouse.insert("etl_audit_log", [["create", "pipelines"], ["update", "pipelines"]],
                      ["operation_type", "table_name"])
    rows = clickhouse.rows("SELECT id, created_at FROM etl_audit_log")
    assert len({r["id"] for r in rows}) == 2
    assert all(r["created_at"] is not None for r in rows)


def test_audit_log_refuses_an_operation_type_outside_the_specification(clickhouse):
    from analytics.clickhouse import ClickHouseError

    with pytest.raises(ClickHouseError, match="operation_type_known"):
        clickhouse.insert("etl_audit_log", [["truncate"]], ["operation_type"])
    assert clickhouse.command("SELECT count() FROM etl_audit_log") == 0


def test_migrate_creates_database_records_and_is_idempotent(fresh_database):
    assert not fresh_database.database_exists()
    first = _run("migrate_clickhouse")
    assert "Applying 0001_initial" in first
    tables = set(fresh_database.command(
        "SELECT arrayStringConcat(groupArray(name), ',') FROM system.tables WHERE database = {db:String}",
        {"db": fresh_database.database}).split(","))
    assert set(SPEC_COLUMNS) | {"clickhouse_migrations"} == tables
    applied = migrator.applied_migrations(fresh_database)
    assert list(applied) == [m.name for m in migrator.load_migrations()]

    second = _run("migrate_clickhouse")
    assert "No ClickHouse migrations to apply." in second
    assert migrator.applied_migrations(fresh_database) == applied
    assert "[X] 0001_initial" in _run("migrate_clickhouse", "--list")
    _run("migrate_clickhouse", "--check")


def test_plan_and_check_report_pending_migrations_without_applying(fresh_database):
    out = _run("migrate_clickhouse", "--plan")
    assert "0001_initial" in out
    assert not fresh_database.database_exists()
    with pytest.raises(CommandError, match="not up to date"):
        _run("migrate_clickhouse", "--check")


def test_fake_records_without_running(fresh_database):
    _run("migrate_clickhouse", "--fake")
    assert "0001_initial" in migrator.applied_migrations(fresh_database)
    assert fresh_database.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'data_lineage'",
        {"db": fresh_database.database}) == 0


def test_upto_an_unknown_migration_is_a_clear_error(fresh_database):
    with pytest.raises(CommandError, match="No ClickHouse migration named 0999"):
        _run("migrate_clickhouse", "--upto", "0999")


def test_an_applied_migration_edited_afterwards_fails_the_check(clickhouse, monkeypatch):
    original = migrator.load_migrations()
    edited = [migrator.Migration(m.name, m.description, m.operations + ("SELECT 1",)) for m in original]
    monkeypatch.setattr(migrator, "load_migrations", lambda: edited)
    assert migrator.changed_since_applied(clickhouse) == [m.name for m in original]
    with pytest.raises(CommandError):
        _run("migrate_clickhouse", "--check")


def test_init_clickhouse_lists_the_tables(fresh_database):
    out = _run("init_clickhouse")
    for table in SPEC_COLUMNS:
        assert table in out
