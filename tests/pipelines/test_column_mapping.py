"""The pipeline's column_mapping: checked on save, applied by the engine right after sanitizing."""

import csv

import pytest

from pipelines.engine.mapping import column_mapping_apply, column_mapping_errors
from pipelines.engine.runner import run_execute, target_table_name
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from pipelines.validators import configuration_errors
from tests.factories import DataSourceFactory, PipelineFactory


def test_mapping_renames_only_the_named_columns():
    assert column_mapping_apply(["sale_date", "sum", "product_id"], {"sale_date": "date", "sum": "amount"}) == [
        "date", "amount", "product_id"]
    assert column_mapping_apply(["a", "b"], None) == ["a", "b"]


def test_a_mapped_column_keeps_its_name_when_it_clashes_with_an_unmapped_one():
    assert column_mapping_apply(["amount", "sum"], {"sum": "amount"}) == ["amount_2", "amount"]


def test_bad_mappings_are_refused_with_the_key_named():
    assert column_mapping_errors({"sale_date": "date"}) == []
    assert "column_mapping must be a JSON object" in column_mapping_errors(["date"])[0]
    assert "column_mapping.Sale Date" in column_mapping_errors({"Sale Date": "date"})[0]
    assert "same pipeline column" in column_mapping_errors({"a": "date", "b": "date"})[0]
    assert any("column_mapping" in e for e in configuration_errors({"column_mapping": {"x": 1}}))


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_a_run_applies_the_pipelines_mapping(tmp_path, clickhouse, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "renamed.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Sale Date", "Sum", "product_id"])
        writer.writerows([["2024-01-02", "10.5", "1"], ["2024-01-03", "7", "2"], ["2024-01-04", "oops", "3"]])
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    pipeline = PipelineFactory(data_source=source, configuration={
        "validation_rules": {"required_columns": ["date", "amount", "product_id"],
                             "data_types": {"date": "date", "amount": "float", "product_id": "integer"}},
        "column_mapping": {"sale_date": "date", "sum": "amount"},
    })
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert (run.execution_context["rows_loaded"], run.execution_context["rows_quarantined"]) == (2, 1)
    got = clickhouse.rows(f"SELECT sum(amount) AS total FROM {target_table_name(pipeline)}")
    assert got[0]["total"] == pytest.approx(17.5)
