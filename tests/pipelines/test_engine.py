"""A whole run on real data: the ClickHouse rows equal an independent computation over the source file."""

import csv
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from analytics.loading import ROW_NUMBER_COLUMN
from pipelines.demo import demo_load
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import Pipeline, PipelineRun, RunStatus, SchemaChange
from pipelines.services import run_claim, run_create
from staging.models import FileMetadata, ProcessingLog, StagingTable
from staging.writer import StagingWriter

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(pipeline: Pipeline, **context) -> PipelineRun:
    run = run_create(pipeline=pipeline, triggered_by="test", execution_context=context)
    assert run_claim(run=run)
    return run_execute(run=run, batch_rows=700)


def _expected(csv_path: Path) -> list[dict]:
    """The demo pipeline by hand: validate, clean_duplicates, validate_amounts, enrich with products."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(csv_path.parent / "products.csv", newline="", encoding="utf-8") as fh:
        products = {r["product_id"]: r for r in csv.DictReader(fh)}
    valid = []
    for number, row in enumerate(rows, start=1):
        try:
            date.fromisoformat(row["date"])
            float(row["amount"])
            int(row["product_id"])
        except ValueError:
            continue
        valid.append((number, row))
    seen, unique = set(), []
    for number, row in valid:
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            unique.append((number, row))
    kept = [(n, r) for n, r in unique if float(r["amount"]) > 0]
    return [{**r, "_row_number": n, **{k: v for k, v in products[r["product_id"]].items() if k != "product_id"}}
            for n, r in kept], len(rows), len(rows) - len(valid), len(valid) - len(unique), len(unique) - len(kept)


@pytest.fixture
def demo(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    pipeline = demo_load(data_dir=tmp_path / "demo", rows=3000)
    return pipeline, tmp_path / "demo" / "sales_2024.csv"


def test_the_demo_pipeline_loads_exactly_what_an_independent_computation_expects(demo, clickhouse):
    pipeline, csv_path = demo
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS, run.error_message
    expected, read, invalid, duplicates, non_positive = _expected(csv_path)
    ctx = run.execution_context
    assert (ctx["rows_read"], ctx["rows_quarantined"], ctx["rows_loaded"]) == (read, invalid, len(expected))
    assert ctx["rows_removed"] == {"clean_duplicates": duplicates, "validate_amounts": non_positive}
    assert run.records_processed == read and run.records_failed == invalid

    table = target_table_name(pipeline)
    got = clickhouse.rows(
        f"SELECT count() AS n, sum(amount) AS total, uniqExact(product_id) AS products, min(date) AS first, "
        f"max(date) AS last, countIf(product_name IS NULL) AS unmatched, groupUniqArray(channel) AS channels "
        f"FROM {table} WHERE _pipeline_run_id = {{run:UInt64}}", {"run": run.pk})[0]
    assert got["n"] == len(expected)
    assert got["total"] == pytest.approx(sum(float(r["amount"]) for r in expected))
    assert got["products"] == len({r["product_id"] for r in expected})
    assert (got["first"], got["last"]) == (min(date.fromisoformat(r["date"]) for r in expected),
                                           max(date.fromisoformat(r["date"]) for r in expected))
    assert got["unmatched"] == 0
    assert sorted(got["channels"]) == sorted({r["channel"] for r in expected})
    numbers = [r[0] for r in clickhouse.query(
        f"SELECT {ROW_NUMBER_COLUMN} FROM {table} ORDER BY {ROW_NUMBER_COLUMN}").result_rows]
    assert numbers == [r["_row_number"] for r in expected]
    types = dict(clickhouse.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
        {"db": clickhouse.database, "t": table}).result_rows)
    assert (types["date"], types["amount"], types["product_id"], types["product_name"]) == (
        "Nullable(Date32)", "Nullable(Float64)", "Nullable(Int64)", "Nullable(String)")

    staged = StagingTable.objects.get(pipeline_run_id=run.pk)
    assert staged.row_count == read
    # The staging table's row-number index waits for the first reader (a page of staged rows builds it).
    def row_number_indexes():
        with connections["staging"].cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [staged.table_name])
            return [d for (d,) in cursor.fetchall() if d.endswith(f"({ROW_NUMBER_COLUMN})")]

    assert row_number_indexes() == []
    assert StagingWriter.open(table_name=staged.table_name).preview(limit=2)[1][0][0] == 1
    assert len(row_number_indexes()) == 1
    with connections["staging"].cursor() as cursor:
        cursor.execute(f'SELECT array_agg("{ROW_NUMBER_COLUMN}" ORDER BY "{ROW_NUMBER_COLUMN}") FROM '
                       f'"{staged.table_name}"')
        assert cursor.fetchone()[0] == list(range(1, read + 1))
    kinds = set(ProcessingLog.objects.filter(pipeline_run_id=run.pk).values_list("operation_type", flat=True))
    assert kinds == {"load", "validate", "transform", "export"}


def test_running_the_same_run_again_leaves_one_copy(demo, clickhouse):
    pipeline, _ = demo
    run = _run(pipeline)
    loaded = run.execution_context["rows_loaded"]
    PipelineRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    again = run_execute(run=run, batch_rows=500)
    assert again.status == RunStatus.SUCCESS, again.error_message
    assert clickhouse.command(f"SELECT count() FROM {target_table_name(pipeline)}") == loaded


def test_a_failed_run_leaves_no_rows_and_says_why(demo, clickhouse, tmp_path):
    pipeline, _ = demo
    bad = tmp_path / "no_amount.csv"
    bad.write_text("order_id,date,product_id\n1,2024-01-01,1\n", encoding="utf-8")
    run = _run(pipeline, file_path=str(bad))
    assert run.status == RunStatus.FAILED
    assert "amount" in run.error_message and "required" in run.error_message
    assert clickhouse.command("SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '_load%'",
                              {"db": clickhouse.database}) == 0


def test_schema_drift_policies(demo, clickhouse, tmp_path):
    pipeline, csv_path = demo
    assert _run(pipeline).status == RunStatus.SUCCESS
    wider = tmp_path / "wider.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    wider.write_text("\n".join([lines[0] + ",region"] + [line + (",north" if i % 2 else ",") for i, line in
                                                          enumerate(lines[1:200])]) + "\n", encoding="utf-8")

    pipeline.configuration = {**pipeline.configuration, "schema_policy": "freeze"}
    pipeline.save()
    frozen = _run(pipeline, file_path=str(wider))
    assert frozen.status == RunStatus.FAILED and "added: region" in frozen.error_message

    pipeline.configuration = {**pipeline.configuration, "schema_policy": "approve"}
    pipeline.save()
    waiting = _run(pipeline, file_path=str(wider))
    assert waiting.status == RunStatus.FAILED and "waits for approval" in waiting.error_message
    change = SchemaChange.objects.get(pipeline=pipeline)
    assert change.diff["added"] == ["region"] and change.status == "pending"
    change.status = "approved"
    change.save()
    approved = _run(pipeline, file_path=str(wider))
    assert approved.status == RunStatus.SUCCESS, approved.error_message
    table = target_table_name(pipeline)
    assert clickhouse.command(f"SELECT countIf(region = 'north') FROM {table} WHERE _pipeline_run_id = "
                              f"{{r:UInt64}}", {"r": approved.pk}) > 0


def test_quarantine_policy_sets_aside_rows_with_values_in_new_columns(demo, clickhouse, tmp_path):
    pipeline, csv_path = demo
    assert _run(pipeline).status == RunStatus.SUCCESS
    pipeline.configuration = {**pipeline.configuration, "schema_policy": "quarantine"}
    pipeline.save()
    lines = csv_path.read_text(encoding="utf-8").splitlines()[:101]
    wider = tmp_path / "wider.csv"
    wider.write_text("\n".join([lines[0] + ",region"] + [line + (",north" if i < 10 else ",")
                                                          for i, line in enumerate(lines[1:])]) + "\n")
    run = _run(pipeline, file_path=str(wider))
    assert run.status == RunStatus.SUCCESS, run.error_message
    ctx = run.execution_context
    assert ctx["rows_quarantined"] >= 10
    assert ctx["rows_read"] == ctx["rows_loaded"] + ctx["rows_quarantined"] + sum(ctx["rows_removed"].values())
    columns = [r[0] for r in clickhouse.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
        {"db": clickhouse.database, "t": target_table_name(pipeline)}).result_rows]
    assert "region" not in columns


def test_run_pipeline_command_with_a_file_records_it(demo, clickhouse, capsys):
    pipeline, csv_path = demo
    call_command("run_pipeline", pipeline.name, "--file", str(csv_path), "--sync")
    out = capsys.readouterr().out
    run = PipelineRun.objects.get()
    assert run.status == RunStatus.SUCCESS
    assert f"Run {run.pk}" in out and "loaded" in out
    record = FileMetadata.objects.get(pipeline_run_id=run.pk)
    assert record.status == "processed" and record.processing_finished_at is not None


def test_corrected_quarantined_rows_replay_into_the_target_once(demo, clickhouse):
    from pipelines.engine.replay import quarantine_replay
    from staging.quarantine import QuarantinedRow

    pipeline, _ = demo
    run = _run(pipeline)
    missing = QuarantinedRow.objects.filter(pipeline_run_id=run.pk, column_name="amount", value__isnull=True)
    numbers = sorted(missing.values_list("row_number", flat=True))
    assert numbers, "the demo data has rows without an amount"
    before = run.execution_context["rows_loaded"]
    missing.update(status="corrected", corrected_value="10.5")

    result = quarantine_replay(run=run)
    assert (result.replayed, result.still_failing) == (len(numbers) - result.removed, 0)
    table = target_table_name(pipeline)
    got = clickhouse.query(f"SELECT _row_number, amount FROM {table} WHERE _row_number IN {{n:Array(Int64)}}",
                           {"n": numbers}).result_rows
    assert {n for n, _ in got} <= set(numbers) and all(a == 10.5 for _, a in got)
    assert len(got) == result.replayed
    run.refresh_from_db()
    ctx = run.execution_context
    assert ctx["rows_loaded"] == before + result.replayed
    assert ctx["rows_read"] == ctx["rows_loaded"] + ctx["rows_quarantined"] + sum(ctx["rows_removed"].values())
    assert clickhouse.command(f"SELECT count() FROM {table}") == ctx["rows_loaded"]

    missing_again = QuarantinedRow.objects.filter(pipeline_run_id=run.pk, row_number__in=numbers)
    assert set(missing_again.values_list("status", flat=True)) == {"replayed"}
    assert quarantine_replay(run=run).replayed == 0  # nothing left to replay: no second copy
    assert clickhouse.command(f"SELECT count() FROM {table}") == ctx["rows_loaded"]


def test_a_header_without_rows_is_a_clear_failure(demo, clickhouse, tmp_path):
    pipeline, _ = demo
    empty = tmp_path / "header_only.csv"
    empty.write_text("order_id,date,product_id,quantity,amount,channel\n", encoding="utf-8")
    run = _run(pipeline, file_path=str(empty))
    assert run.status == RunStatus.FAILED and "no rows" in run.error_message


def test_every_run_is_analysed(demo, clickhouse):
    pipeline, csv_path = demo
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS, run.error_message
    table = target_table_name(pipeline)
    types = set(run.analysis_results.values_list("analysis_type", flat=True))
    assert "data_quality" in types
    quality = clickhouse.rows("SELECT metric_name, column_name, metric_value FROM data_quality_metrics "
                              "WHERE pipeline_run_id = {r:UInt64}", {"r": run.pk})
    by_key = {(q["metric_name"], q["column_name"]): q["metric_value"] for q in quality}
    assert by_key[("row_count", "")] == run.execution_context["rows_loaded"]
    assert by_key[("null_rate", "amount")] == 0.0

    expected, *_ = _expected(csv_path)
    revenue = clickhouse.command("SELECT sum(metric_value) FROM business_metrics WHERE metric_name = 'revenue' "
                                 "AND pipeline_run_id = {r:UInt64}", {"r": run.pk})
    assert float(revenue) == pytest.approx(sum(float(r["amount"]) for r in expected))

    target_columns = {name for (name,) in clickhouse.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "AND name NOT LIKE '\\\\_%'", {"db": clickhouse.database, "t": table}).result_rows}
    lineage = {r[0] for r in clickhouse.query(
        "SELECT target_column FROM data_lineage WHERE pipeline_run_id = {r:UInt64} AND target_table = {t:String}",
        {"r": run.pk, "t": table}).result_rows}
    assert target_columns and target_columns <= lineage
    catalog = {r[0] for r in clickhouse.query(
        "SELECT column_name FROM data_catalog FINAL WHERE table_name = {t:String}", {"t": table}).result_rows}
    assert target_columns <= catalog


def test_a_run_exports_as_a_valid_openlineage_event(demo, clickhouse, capsys):
    import json

    from tests.analytics.test_lineage import _validator

    pipeline, _ = demo
    run = _run(pipeline)
    call_command("export_openlineage", str(run.pk))
    event = json.loads(capsys.readouterr().out)
    assert event["eventType"] == "COMPLETE" and event["job"]["name"] == pipeline.name
    output = event["outputs"][0]
    fields = output["facets"]["columnLineage"]["fields"]
    assert "product_name" in fields and "amount" in fields
    core = json.loads((Path(__file__).resolve().parents[1] / "analytics" / "openlineage_spec" /
                       "OpenLineage.json").read_text())
    _validator(core).validate(event)
