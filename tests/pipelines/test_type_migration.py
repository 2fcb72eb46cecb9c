"""Changing a pipeline's column types after its table was created: the run stops at once with the difference,
recorded as a pending type change; one approval migrates the table (in place when every stored value converts,
by a rebuild only when the person agreed to NULL the rest), it is audited, and the next run loads.

Everything here runs on the suite's real ClickHouse and PostgreSQL.
"""

import csv
import datetime
import json
import shutil
from io import StringIO
from pathlib import Path

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from analytics.loading import TargetLoad, TargetTypeConflict, table_columns
from analytics.type_migration import (
    ColumnChange,
    TypeMigrationError,
    rebuild_table_name,
    type_migration_apply,
    type_migration_preview,
)
from pipelines.engine.drift import schema_change_decide
from pipelines.engine.repeats import LOAD_AGAIN_KEY
from pipelines.engine.runner import run_execute
from pipelines.execution import run_should_retry
from pipelines.models import RunStatus, SchemaChange, SchemaChangeKind, SchemaChangeStatus
from pipelines.services import run_claim, run_create
from pipelines.type_changes import type_change_apply
from tests.factories import DataSourceFactory, PipelineFactory
from tests.webui.conftest import user_with

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public"
STRING = "Nullable(String)"


def _run(pipeline, **context):
    run = run_create(pipeline=pipeline, triggered_by="test", execution_context=context)
    assert run_claim(run=run)
    return run_execute(run=run)


def _untyped_pipeline(path: Path, table: str, **config):
    """A pipeline whose first load keeps every column as text (an empty contract: nothing inferred)."""
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    return PipelineFactory(name=table, data_source=source,
                           configuration={"target": {"table": table}, "inferred": {"data_types": {}}, **config})


def _declare(pipeline, data_types: dict) -> None:
    pipeline.configuration = {**pipeline.configuration, "validation_rules": {"data_types": data_types}}
    pipeline.save()


def _audit_rows(target) -> list[dict]:
    rows = target.rows("SELECT table_name, operation_type, operation_details, user_id FROM etl_audit_log")
    return [{**row, "details": json.loads(row["operation_details"])} for row in rows
            if json.loads(row["operation_details"]).get("action") == "migrate_types"]


# -- the whole way, on a public file ----------------------------------------------------------------------------

PENGUIN_TYPES = {"sample_number": "integer", "date_egg": "date", "culmen_length_mm": "float",
                 "body_mass_g": "integer", "clutch_completion": "boolean", "delta_15_n_o_oo": "float"}


def _independent_penguins() -> list[list]:
    """The file by Python's csv module: NA is NULL, each column converted on its own."""
    convert = {"Sample Number": int, "Date Egg": datetime.date.fromisoformat, "Culmen Length (mm)": float,
               "Body Mass (g)": int, "Clutch Completion": lambda v: {"yes": True, "no": False}[v.lower()],
               "Delta 15 N (o/oo)": float, "Species": str}
    with open(PUBLIC / "penguins-raw.csv", newline="", encoding="utf-8") as fh:
        return [[None if row[name] in ("", "NA") else fn(row[name]) for name, fn in convert.items()]
                for row in csv.DictReader(fh)]


def test_a_later_type_change_migrates_with_one_approval(clickhouse, tmp_path):
    path = shutil.copy(PUBLIC / "penguins-raw.csv", tmp_path / "penguins-raw.csv")
    pipeline = _untyped_pipeline(Path(path), "penguins")
    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS, first.error_message
    assert table_columns(clickhouse, "penguins")["sample_number"] == STRING

    _declare(pipeline, PENGUIN_TYPES)
    failed = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    assert failed.status == RunStatus.FAILED
    assert ("Column sample_number of target table penguins is Nullable(String), the data is now Nullable(Int64)"
            in failed.error_message)
    assert "Column date_egg of target table penguins is Nullable(String), the data is now Nullable(Date32)" \
        in failed.error_message
    assert "/schema-changes/" in failed.error_message
    assert f"migrate_target_types {pipeline.pk} --apply" in failed.error_message
    assert failed.execution_context["transient"] is False and not run_should_retry(failed)  # not retried
    assert clickhouse.command("SELECT count() FROM penguins") == 344  # nothing of the failed run

    change = SchemaChange.objects.get(pipeline=pipeline)
    assert (change.kind, change.status, change.pipeline_run_id) == (SchemaChangeKind.TYPES, "pending", failed.pk)
    assert {c["column"]: (c["from"], c["to"]) for c in change.diff["retyped"]}["body_mass_g"] == (
        STRING, "Nullable(Int64)")
    assert len(change.diff["retyped"]) == len(PENGUIN_TYPES)

    result = type_change_apply(change=change, by="ann")
    assert (result.method, result.rows, result.nulled) == ("modify", 344, 0)
    change.refresh_from_db()
    assert (change.status, change.decided_by, change.result["method"]) == ("applied", "ann", "modify")

    loaded = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    assert loaded.status == RunStatus.SUCCESS, loaded.error_message
    assert (loaded.records_processed, loaded.records_failed) == (344, 0)
    types = table_columns(clickhouse, "penguins")
    assert (types["sample_number"], types["date_egg"], types["clutch_completion"], types["species"]) == (
        "Nullable(Int64)", "Nullable(Date32)", "Nullable(Bool)", STRING)
    expected = _independent_penguins()
    for run in (first, loaded):  # the migrated rows and the new ones alike
        rows = clickhouse.query(
            "SELECT sample_number, date_egg, culmen_length_mm, body_mass_g, clutch_completion, delta_15_n_o_oo, "
            "species FROM penguins WHERE _pipeline_run_id = {run:UInt64} ORDER BY _row_number",
            {"run": run.pk}).result_rows
        assert [list(row) for row in rows] == expected

    audit = _audit_rows(clickhouse)
    assert len(audit) == 1
    details = audit[0]["details"]
    assert (audit[0]["table_name"], details["outcome"], details["method"], details["rows"], details["by"]) == (
        "penguins", "applied", "modify", 344, "ann")
    assert {"column": "sample_number", "from": STRING, "to": "Nullable(Int64)"} in details["columns"]


def test_the_same_difference_coming_back_reopens_the_applied_change(clickhouse, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("qty,name\n1,x\n2,y\n")
    pipeline = _untyped_pipeline(path, "reopened")
    assert _run(pipeline).status == RunStatus.SUCCESS
    _declare(pipeline, {"qty": "integer"})
    assert _run(pipeline, **{LOAD_AGAIN_KEY: True}).status == RunStatus.FAILED
    change = SchemaChange.objects.get(pipeline=pipeline)
    type_change_apply(change=change, by="ann")
    clickhouse.command("ALTER TABLE reopened MODIFY COLUMN qty Nullable(String) SETTINGS mutations_sync = 2")
    again = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    assert again.status == RunStatus.FAILED
    change.refresh_from_db()
    assert (change.status, change.pipeline_run_id, change.decided_by) == ("pending", again.pk, "")
    assert SchemaChange.objects.filter(pipeline=pipeline).count() == 1
    assert schema_change_decide(change=change, approve=False, by="ann")  # dismissed...
    third = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    change.refresh_from_db()
    # ...until a run meets it again
    assert (third.status, change.status, change.pipeline_run_id) == ("failed", "pending", third.pk)


def test_a_split_run_meets_the_conflict_before_any_part_starts(clickhouse, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("qty,name\n" + "".join(f"{i},r{i}\n" for i in range(1, 9)))
    pipeline = _untyped_pipeline(path, "split_typed", parallelism={"parts": 2})
    first = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=first)
    assert run_execute(run=first, split=False).status == RunStatus.SUCCESS  # in this process, no workers
    _declare(pipeline, {"qty": "integer"})
    failed = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    assert failed.status == RunStatus.FAILED and "migrate_target_types" in failed.error_message
    assert failed.execution_context["transient"] is False and "parts" not in failed.execution_context
    change = SchemaChange.objects.get(pipeline=pipeline, kind=SchemaChangeKind.TYPES)
    type_change_apply(change=change, by="ann")
    assert table_columns(clickhouse, "split_typed")["qty"] == "Nullable(Int64)"


# -- the ClickHouse side ----------------------------------------------------------------------------------------

def _table(target, name: str, rows: dict[str, list]) -> None:
    """A pipeline's table (made by the loader) holding `rows` as text columns."""
    data = pa.table({"_row_number": pa.array(range(1, len(next(iter(rows.values()))) + 1), pa.int64()),
                     **{k: pa.array(v, pa.string()) for k, v in rows.items()}})
    load = TargetLoad(target, table=name, pipeline_run_id=1)
    load.begin(data.schema)
    load.append(data)
    load.commit()


def test_modify_when_every_value_converts(clickhouse):
    _table(clickhouse, "measures", {"n": ["1", None, "-3"], "x": ["1.5", "2", None], "note": ["a", "b", "c"]})
    changes = [ColumnChange("n", STRING, "Nullable(Int64)"), ColumnChange("x", STRING, "Nullable(Float64)")]
    preview = type_migration_preview(clickhouse, "measures", changes)
    assert (preview.rows, preview.unconvertible, preview.method) == (3, 0, "modify")
    result = type_migration_apply(clickhouse, "measures", changes)
    assert (result.method, result.rows) == ("modify", 3)
    assert clickhouse.query("SELECT n, x, note FROM measures ORDER BY _row_number").result_rows == [
        (1, 1.5, "a"), (None, 2.0, "b"), (-3, None, "c")]
    assert table_columns(clickhouse, "measures")["n"] == "Nullable(Int64)"


def test_values_that_do_not_convert_are_counted_and_refused_unless_nulling_is_asked_for(clickhouse):
    _table(clickhouse, "mixed", {"n": ["1", "lots", "2.5", None, "lots"], "d": ["2024-01-01", "2024-02-30", None,
                                                                                "2024-03-01", "x"]})
    changes = [ColumnChange("n", STRING, "Nullable(Int64)"), ColumnChange("d", STRING, "Nullable(Date32)")]
    preview = type_migration_preview(clickhouse, "mixed", changes)
    assert preview.method == "rebuild" and preview.unconvertible == 5
    by_column = {c.column: c for c in preview.columns}
    assert by_column["n"].unconvertible == 3 and sorted(by_column["n"].examples) == ["2.5", "lots"]
    assert by_column["d"].unconvertible == 2 and sorted(by_column["d"].examples) == ["2024-02-30", "x"]
    before = clickhouse.query("SELECT * FROM mixed ORDER BY _row_number").result_rows

    with pytest.raises(TypeMigrationError, match="5 stored values of mixed would not convert"):
        type_migration_apply(clickhouse, "mixed", changes)
    assert clickhouse.query("SELECT * FROM mixed ORDER BY _row_number").result_rows == before  # untouched
    assert table_columns(clickhouse, "mixed")["n"] == STRING

    result = type_migration_apply(clickhouse, "mixed", changes, null_unconvertible=True)
    assert (result.method, result.rows, result.nulled) == ("rebuild", 5, 5)
    assert clickhouse.query("SELECT n, d, _pipeline_run_id FROM mixed ORDER BY _row_number").result_rows == [
        (1, datetime.date(2024, 1, 1), 1), (None, None, 1), (None, None, 1), (None, datetime.date(2024, 3, 1), 1),
        (None, None, 1)]
    assert table_columns(clickhouse, "mixed")["d"] == "Nullable(Date32)"
    assert not clickhouse.command("EXISTS TABLE {t:Identifier}", {"t": rebuild_table_name("mixed")})


@pytest.mark.parametrize(("wanted", "good", "bad"), [
    ("Nullable(Date32)", ["2024-01-05", "2024/01/05"], ["2024-02-30", "2024-13-01", "31.12.2020", "yesterday"]),
    ("Nullable(DateTime64(6, 'UTC'))", ["2024-01-01 10:00:00", "2024-01-01T10:00"],
     ["2024-01-01 25:00:00", "2024-01-01 10:61:00", "1700000000", "2024-02-30 10:00:00"]),
    ("Nullable(Decimal(38, 2))", ["1.25", "-3"], ["1.255", "1,5"]),
    ("Nullable(Int64)", ["7", "-20"], ["1.0", "0x10", "99999999999999999999"]),
])
def test_text_that_clickhouse_would_read_as_another_value_does_not_convert(clickhouse, wanted, good, bad):
    """ClickHouse's own cast reads 2024-02-30 as 2024-03-01, 25:00 as the next day, cuts 1.255 to 1.25..."""
    _table(clickhouse, "strict", {"v": good + bad})
    preview = type_migration_preview(clickhouse, "strict", [ColumnChange("v", STRING, wanted)])
    assert preview.columns[0].unconvertible == len(bad)
    assert sorted(preview.columns[0].examples) == sorted(bad)[:5]
    type_migration_apply(clickhouse, "strict", [ColumnChange("v", STRING, wanted)], null_unconvertible=True)
    values = [v for (v,) in clickhouse.query("SELECT v FROM strict ORDER BY _row_number").result_rows]
    assert values[len(good):] == [None] * len(bad) and None not in values[:len(good)]


def test_a_failing_alter_leaves_the_table_and_the_change_pending_with_the_reason(clickhouse, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("qty,name\n1,x\n2,y\n")
    pipeline = _untyped_pipeline(path, "projected")
    assert _run(pipeline).status == RunStatus.SUCCESS
    _declare(pipeline, {"qty": "integer"})
    assert _run(pipeline, **{LOAD_AGAIN_KEY: True}).status == RunStatus.FAILED
    change = SchemaChange.objects.get(pipeline=pipeline)
    # Someone added a projection over the column: ClickHouse refuses to change its type.
    clickhouse.command("ALTER TABLE projected ADD PROJECTION by_n (SELECT qty, count() GROUP BY qty)")
    with pytest.raises(TypeMigrationError, match="breaks projection"):
        type_change_apply(change=change, by="ann")
    change.refresh_from_db()
    assert change.status == SchemaChangeStatus.PENDING and "breaks projection" in change.last_error
    assert table_columns(clickhouse, "projected")["qty"] == STRING
    assert clickhouse.query("SELECT qty FROM projected ORDER BY _row_number").result_rows == [("1",), ("2",)]
    assert [row["details"]["outcome"] for row in _audit_rows(clickhouse)] == ["failed"]
    assert _run(pipeline, **{LOAD_AGAIN_KEY: True}).status == RunStatus.FAILED  # still the same conflict


def test_a_failing_rebuild_leaves_the_table_and_no_copy(clickhouse):
    _table(clickhouse, "rebuilt", {"v": ["1", "x"]})
    clickhouse.command("ALTER TABLE rebuilt ADD PROJECTION by_v (SELECT v, count() GROUP BY v)")
    with pytest.raises(TypeMigrationError, match="could not rebuild rebuilt"):
        type_migration_apply(clickhouse, "rebuilt", [ColumnChange("v", STRING, "Nullable(Int64)")],
                             null_unconvertible=True)
    assert clickhouse.query("SELECT v FROM rebuilt ORDER BY _row_number").result_rows == [("1",), ("x",)]
    assert table_columns(clickhouse, "rebuilt")["v"] == STRING
    assert not clickhouse.command("EXISTS TABLE {t:Identifier}", {"t": rebuild_table_name("rebuilt")})


def test_a_stale_change_is_refused(clickhouse):
    _table(clickhouse, "stale", {"n": ["1"]})
    with pytest.raises(TypeMigrationError, match="is Nullable\\(String\\) now, not Nullable\\(Int32\\)"):
        type_migration_preview(clickhouse, "stale", [ColumnChange("n", "Nullable(Int32)", "Nullable(Int64)")])
    with pytest.raises(TypeMigrationError, match="not a column type"):
        type_migration_preview(clickhouse, "stale", [ColumnChange("n", STRING, "Nullable(Int64)) SETTINGS x=1")])
    with pytest.raises(TypeMigrationError, match="application's own schema"):
        type_migration_preview(clickhouse, "etl_audit_log", [ColumnChange("n", STRING, "Nullable(Int64)")])


def test_the_loader_names_every_differing_column_before_changing_anything(clickhouse):
    _table(clickhouse, "several", {"a": ["1"], "b": ["2"]})
    load = TargetLoad(clickhouse, table="several", pipeline_run_id=2)
    schema = pa.schema([("_row_number", pa.int64()), ("a", pa.int64()), ("b", pa.float64()), ("new", pa.string())])
    with pytest.raises(TargetTypeConflict) as conflict:
        load.begin(schema)
    assert conflict.value.conflicts == [("a", STRING, "Nullable(Int64)"), ("b", STRING, "Nullable(Float64)")]
    assert conflict.value.transient is False
    assert "new" not in table_columns(clickhouse, "several")


# -- the page and the command -----------------------------------------------------------------------------------

@pytest.fixture
def pending(clickhouse, tmp_path):
    """A pending type change whose column holds one value that does not convert."""
    path = tmp_path / "q.csv"
    path.write_text("qty,name\n1,x\nmany,y\n3,z\n")
    pipeline = _untyped_pipeline(path, "quantities")
    assert _run(pipeline).status == RunStatus.SUCCESS
    _declare(pipeline, {"qty": "integer"})
    assert _run(pipeline, **{LOAD_AGAIN_KEY: True}).status == RunStatus.FAILED
    return SchemaChange.objects.get(pipeline=pipeline)


def test_the_page_previews_and_approves_with_nulling_only_when_asked(admin_client, pending, clickhouse):
    page = admin_client.get("/schema-changes/").content.decode()
    assert "table quantities: qty Nullable(String) -&gt; Nullable(Int64)" in page
    assert "The table holds 3 rows." in page and "<code>many</code>" in page
    assert "set the 1 value that does not convert to NULL" in page
    url = reverse("webui:schema-change-decide", args=[pending.pk])

    refused = admin_client.post(url, {"decision": "approve"}, follow=True).content.decode()
    assert "was not migrated" in refused and "1 stored value of quantities would not convert" in refused
    pending.refresh_from_db()
    assert pending.status == "pending" and "would not convert" in pending.last_error
    assert table_columns(clickhouse, "quantities")["qty"] == STRING

    done = admin_client.post(url, {"decision": "approve", "null_unconvertible": "1"}, follow=True).content.decode()
    assert "was migrated (table rebuilt, 3 rows); the next run loads." in done
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.result["nulled"]) == ("applied", "admin", 1)
    assert clickhouse.query("SELECT qty FROM quantities ORDER BY _row_number").result_rows == [(1,), (None,), (3,)]
    audit = [row for row in _audit_rows(clickhouse) if row["details"]["outcome"] == "applied"]
    assert len(audit) == 1 and audit[0]["details"]["method"] == "rebuild" and audit[0]["details"]["nulled"] == 1
    assert audit[0]["user_id"] is not None
    after = _run(pending.pipeline, **{LOAD_AGAIN_KEY: True})  # "many" is quarantined now, the rest loads
    assert after.status == RunStatus.SUCCESS, after.error_message
    assert (after.records_processed, after.records_failed) == (3, 1)


def test_the_next_run_loads_after_the_page_approval(admin_client, clickhouse, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("qty,name\n1,x\n2,y\n")
    pipeline = _untyped_pipeline(path, "approved_here")
    assert _run(pipeline).status == RunStatus.SUCCESS
    _declare(pipeline, {"qty": "integer"})
    assert _run(pipeline, **{LOAD_AGAIN_KEY: True}).status == RunStatus.FAILED
    change = SchemaChange.objects.get(pipeline=pipeline)
    admin_client.post(reverse("webui:schema-change-decide", args=[change.pk]), {"decision": "approve"})
    change.refresh_from_db()
    assert change.status == "applied"
    run = _run(pipeline, **{LOAD_AGAIN_KEY: True})
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert clickhouse.query("SELECT qty FROM approved_here ORDER BY _pipeline_run_id, _row_number").result_rows == [
        (1,), (2,), (1,), (2,)]


def test_approving_needs_the_change_permission(client, django_user_model, pending, clickhouse):
    client.force_login(user_with(django_user_model, "viewer", "pipelines.view_schemachange"))
    page = client.get("/schema-changes/")
    assert page.status_code == 200 and "<code>many</code>" in page.content.decode()
    assert "Approve the migration" not in page.content.decode()
    url = reverse("webui:schema-change-decide", args=[pending.pk])
    assert client.post(url, {"decision": "approve", "null_unconvertible": "1"}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending" and table_columns(clickhouse, "quantities")["qty"] == STRING


def test_the_page_in_russian(admin_client, pending):
    page = admin_client.get("/schema-changes/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Таблица содержит 3 строки." in page
    assert "Одобрить миграцию" in page
    assert "таблица quantities" in page
    done = admin_client.post(reverse("webui:schema-change-decide", args=[pending.pk]),
                             {"decision": "approve", "null_unconvertible": "1"}, HTTP_ACCEPT_LANGUAGE="ru",
                             follow=True).content.decode()
    assert "Таблица конвейера quantities переведена на новые типы (таблица перестроена, 3 строки)" in done


def test_the_command_previews_refuses_and_applies(pending, clickhouse):
    out = StringIO()
    call_command("migrate_target_types", str(pending.pipeline_id), stdout=out)
    text = out.getvalue()
    assert "qty: Nullable(String) -> Nullable(Int64), 1 value does not convert, e.g. many" in text
    assert "Nothing was changed; add --apply" in text
    with pytest.raises(CommandError, match="1 stored value does not convert; nothing was changed"):
        call_command("migrate_target_types", pending.pipeline.name, "--apply", stdout=StringIO())
    assert table_columns(clickhouse, "quantities")["qty"] == STRING
    out = StringIO()
    call_command("migrate_target_types", pending.pipeline.name, "--apply", "--null-unconvertible", stdout=out)
    assert "The table was migrated (table rebuilt, 3 rows)" in out.getvalue()
    pending.refresh_from_db()
    assert pending.status == "applied" and pending.decided_by == "command"
    audit = _audit_rows(clickhouse)
    assert [row["details"]["outcome"] for row in audit] == ["applied"]
    assert audit[0]["details"]["by"] == "command"
    with pytest.raises(CommandError, match="has no pending change of column types"):
        call_command("migrate_target_types", pending.pipeline.name, "--apply", stdout=StringIO())
    with pytest.raises(CommandError, match="No pipeline named or numbered"):
        call_command("migrate_target_types", "no such pipeline", stdout=StringIO())


def test_examples_of_a_sensitive_column_are_masked_without_the_permission(client, django_user_model, pending,
                                                                          clickhouse):
    clickhouse.insert("data_catalog", [["quantities", clickhouse.database, "qty", "pii"]],
                      ["table_name", "schema_name", "column_name", "sensitivity_level"])
    client.force_login(user_with(django_user_model, "viewer", "pipelines.view_schemachange"))
    page = client.get("/schema-changes/").content.decode()
    assert "<code>many</code>" not in page and "<code>•••</code>" in page
    client.force_login(user_with(django_user_model, "trusted", "pipelines.view_schemachange",
                                 "analytics.view_sensitive_data"))
    assert "<code>many</code>" in client.get("/schema-changes/").content.decode()


def test_the_admin_action_does_not_approve_a_type_change_without_migrating(admin_client, pending, clickhouse):
    response = admin_client.post(reverse("admin:pipelines_schemachange_changelist"),
                                 {"action": "approve", "_selected_action": [pending.pk]}, follow=True)
    assert "approved on the Schema changes page" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending" and table_columns(clickhouse, "quantities")["qty"] == STRING


def test_a_replay_that_meets_a_type_change_says_where_to_migrate(clickhouse, tmp_path):
    from pipelines.engine.errors import RunError
    from pipelines.engine.replay import quarantine_replay
    from staging.quarantine import QuarantinedRow

    path = tmp_path / "r.csv"
    path.write_text("qty,name\n1,x\n2,\n")
    pipeline = _untyped_pipeline(path, "replayed", validation_rules={"not_null": ["name"]})
    run = _run(pipeline)
    assert (run.status, run.records_failed) == (RunStatus.SUCCESS, 1)
    QuarantinedRow.objects.filter(pipeline_run_id=run.pk).update(status="corrected", corrected_value="y")
    _declare(pipeline, {"qty": "integer"})
    with pytest.raises(RunError, match="migrate_target_types"):
        quarantine_replay(run=run)
    assert SchemaChange.objects.get(pipeline=pipeline).kind == SchemaChangeKind.TYPES
