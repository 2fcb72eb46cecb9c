"""QuarantineStore: entries go to the staging database's quarantined_rows table, NULL apart from ''."""

import pytest

from staging.quarantine import QuarantinedRow, QuarantineEntry, QuarantineStatus, QuarantineStore

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def _entry(row: int, value, column: str = "amount") -> QuarantineEntry:
    return QuarantineEntry(row_number=row, column_name=column, value=value, reason="not a number", rule="data_types")


def test_add_stores_the_entries_and_count_counts_them_per_run():
    store = QuarantineStore()
    added = store.add(pipeline_run_id=5, staging_table="stg_run_5",
                      rows=[_entry(3, "abc"), _entry(7, None), _entry(9, ""), _entry(11, 12.5, column="")])
    store.add(pipeline_run_id=6, staging_table="stg_run_6", rows=[_entry(1, "x")])
    assert added == 4
    assert store.count(pipeline_run_id=5) == 4 and store.count(6) == 1 and store.count(7) == 0
    rows = list(QuarantinedRow.objects.filter(pipeline_run_id=5).values_list(
        "row_number", "column_name", "value", "rule", "status", "staging_table"))
    assert rows == [(3, "amount", "abc", "data_types", QuarantineStatus.OPEN, "stg_run_5"),
                    (7, "amount", None, "data_types", QuarantineStatus.OPEN, "stg_run_5"),
                    (9, "amount", "", "data_types", QuarantineStatus.OPEN, "stg_run_5"),
                    (11, "", "12.5", "data_types", QuarantineStatus.OPEN, "stg_run_5")]


def test_many_entries_and_awkward_values():
    long_value = "ж" * 100_000
    entries = [_entry(i, f"bad {i}") for i in range(1, 12_001)] + [_entry(12_001, long_value),
                                                                  _entry(12_002, "nul\x00char")]
    assert QuarantineStore().add(pipeline_run_id=1, staging_table="stg_run_1", rows=iter(entries)) == 12_002
    assert QuarantineStore().count(pipeline_run_id=1) == 12_002
    assert QuarantinedRow.objects.get(row_number=12_001).value == long_value
    assert QuarantinedRow.objects.get(row_number=12_002).value == "nul\ufffdchar"


def test_nothing_to_add():
    assert QuarantineStore().add(pipeline_run_id=1, staging_table="stg_run_1", rows=[]) == 0
    assert not QuarantinedRow.objects.exists()


def test_the_model_lives_in_the_staging_database():
    from django.db import router

    assert router.db_for_write(QuarantinedRow) == "staging"
    assert QuarantinedRow._meta.db_table == "quarantined_rows"
