"""The hostile-input corpus (tests/data/hostile/manifest.yaml) and the checks every case's outcome must pass."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.db import connections

from analytics.loading import ROW_NUMBER_COLUMN, RUN_ID_COLUMN
from pipelines.models import PipelineRun, RunStatus
from pipelines.targets import target_table_name
from staging.models import StagingTable

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile"
CASES: list[dict] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))["cases"]
TEST_MAX_BYTES = 64 * 1024 * 1024  # ETL_FILE_MAX_BYTES in these tests: far below the gzip bomb's 256 MiB


def case_id(case: dict) -> str:
    return case.get("file") or case["generated"]


def case_path(case: dict, generated: dict[str, Path]) -> Path:
    return CORPUS / case["file"] if "file" in case else generated[case["generated"]]


def _table_exists(clickhouse, table: str) -> bool:
    return bool(clickhouse.command("SELECT count() FROM system.tables WHERE database = {db:String} AND "
                                   "name = {t:String}", {"db": clickhouse.database, "t": table}))


def _run_rows(clickhouse, table: str, run: PipelineRun) -> int:
    if not _table_exists(clickhouse, table):
        return 0
    return clickhouse.command(f"SELECT count() FROM `{table}` WHERE {RUN_ID_COLUMN} = {{run:UInt64}}",
                              {"run": run.pk})


def assert_outcome(case: dict, run: PipelineRun, clickhouse) -> None:
    """The run ended as the manifest says: loaded exactly the expected rows, or failed with the expected
    message and left no rows behind, in staging or in the target."""
    run.refresh_from_db()
    table = target_table_name(run.pipeline)
    if "load" in case:
        expected = case["load"]
        assert run.status == RunStatus.SUCCESS, run.error_message
        assert run.execution_context["rows_loaded"] == expected["rows"]
        assert _run_rows(clickhouse, table, run) == expected["rows"]
        if "columns" in expected:
            names = [name for (name,) in clickhouse.query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
                "ORDER BY position", {"db": clickhouse.database, "t": table}).result_rows]
            assert [n for n in names if not n.startswith("_")] == expected["columns"]
        for column, values in expected.get("values", {}).items():
            got = [value for (value,) in clickhouse.query(
                f"SELECT `{column}` FROM `{table}` WHERE {RUN_ID_COLUMN} = {{run:UInt64}} "
                f"ORDER BY {ROW_NUMBER_COLUMN}", {"run": run.pk}).result_rows]
            assert got == values, column
        return
    assert run.status == RunStatus.FAILED, f"{case_id(case)} ended {run.status}"
    assert case["error"] in run.error_message, run.error_message
    assert "Traceback" not in run.error_message and "Internal error" not in run.error_message
    assert _run_rows(clickhouse, table, run) == 0
    assert not clickhouse.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '\\\\_load%'",
        {"db": clickhouse.database})
    assert_no_staged_rows(run)


def assert_no_staged_rows(run: PipelineRun) -> None:
    """No staging table of the run is left, registered or on disk."""
    assert not StagingTable.objects.filter(pipeline_run_id=run.pk, is_active=True).exists()
    staging = connections["staging"]
    with staging.cursor() as cursor:
        tables = staging.introspection.table_names(cursor)
    assert f"stg_run_{run.pk}" not in tables
