"""The profile behind the new-pipeline form's proposals (pipelines/profiling.py), on small files written for
each case: JSON's own types and nulls, decimal commas and day-first dates (read with the contract's formats),
NULL markers, and a sample that is not the whole file."""

import json

import pytest

from pipelines.inference import DEFAULT_NULL_VALUES
from pipelines.profiling import file_profile, sample_read


def profile_of(path, *, rows=None, markers=DEFAULT_NULL_VALUES):
    table, complete = sample_read(str(path), options={}, markers=markers, rows=rows)
    return file_profile(table, complete=complete)


@pytest.fixture
def roots(settings, tmp_path):
    settings.ETL_FILE_ROOTS = [str(tmp_path)]
    return tmp_path


def test_json_keeps_its_own_types_and_its_nulls_are_missing_values(roots):
    path = roots / "items.json"
    path.write_text(json.dumps([
        {"id": 1, "price": 2.5, "day": "2024-01-02", "kind": "a", "ok": True},
        {"id": 2, "price": None, "day": "2024-01-03", "kind": "a", "ok": False},
        {"id": 3, "price": 4, "day": "2024-01-05", "kind": "b", "ok": None},
        {"id": 4, "price": 1.25, "day": "2024-02-01", "kind": "b", "ok": True}]))
    profile = profile_of(path)
    columns = {c.name: c for c in profile.columns}
    assert {n: c.type_name for n, c in columns.items()} == {"id": "integer", "price": "float", "day": "date",
                                                           "kind": "string", "ok": "boolean"}
    assert columns["id"].propose_required and columns["id"].propose_unique
    assert (columns["price"].nulls, columns["price"].minimum, columns["price"].maximum) == (1, 1.25, 4.0)
    assert columns["price"].proposed_min is None  # seen, not proposed: the next file goes beyond it
    assert not columns["price"].propose_required
    assert (columns["day"].minimum, columns["day"].maximum) == ("2024-01-02", "2024-02-01")
    assert columns["kind"].proposed_allowed_values == ["a", "b"] and not columns["kind"].propose_unique
    assert columns["ok"].proposed_allowed_values == [] and columns["ok"].proposed_min is None


def test_decimal_commas_and_day_first_dates_are_read_with_the_files_formats(roots):
    path = roots / "prices.csv"
    path.write_text("day;price;note\n13.01.2024;1,5;NA\n02.02.2024;12,25;x\n28.02.2024;0,75;N/A\n",
                    encoding="utf-8")
    profile = profile_of(path)
    columns = {c.name: c for c in profile.columns}
    assert profile.contract.decimal_separator == "," and profile.contract.date_formats == ["%d.%m.%Y"]
    assert (columns["day"].type_name, columns["day"].minimum, columns["day"].maximum) == (
        "date", "2024-01-13", "2024-02-28")
    assert (columns["price"].type_name, columns["price"].minimum, columns["price"].maximum) == ("float", 0.75, 12.25)
    # NA and N/A are NULL: one value seen, in a column mostly empty: no allowed values proposed.
    assert (columns["note"].nulls, columns["note"].proposed_allowed_values) == (2, [])


def test_without_null_markers_na_is_a_value(roots):
    path = roots / "marks.csv"
    path.write_text("mark\nNA\nA\nNA\nB\nNA\nA\n")
    assert profile_of(path, markers=()).columns[0].proposed_allowed_values == ["A", "B", "NA"]
    assert profile_of(path).columns[0].nulls == 3


def test_a_sample_that_is_not_the_whole_file_proposes_no_range(roots):
    path = roots / "long.csv"
    path.write_text("n\n" + "".join(f"{i}\n" for i in range(50)))
    partial, whole = profile_of(path, rows=20), profile_of(path)
    assert (partial.rows, partial.complete, whole.rows, whole.complete) == (20, False, 50, True)
    assert (partial.columns[0].minimum, partial.columns[0].maximum, partial.columns[0].proposed_max) == (0, 19, None)
    assert (whole.columns[0].minimum, whole.columns[0].maximum, whole.columns[0].proposed_max) == (0, 49, None)


def test_a_header_without_rows_is_a_profile_of_nothing_that_proposes_no_rule(roots):
    path = roots / "empty.csv"
    path.write_text("a,b\n")
    profile = profile_of(path)
    assert (profile.rows, profile.complete) == (0, True)
    assert [(c.name, c.type_name, c.propose_required, c.propose_unique) for c in profile.columns] == [
        ("a", "string", False, False), ("b", "string", False, False)]
