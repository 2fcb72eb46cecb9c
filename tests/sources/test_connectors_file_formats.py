"""The file connector on JSON, JSON Lines, Parquet and Excel."""

import datetime
import json
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.connectors.file import sniff
from tests.sources.file_helpers import SAMPLES, error_of, read, rows_of


def all_strings(schema: pa.Schema) -> bool:
    return all(field.type == pa.string() for field in schema)


# -- JSON ------------------------------------------------------------------------------------------------------

def test_json_array_of_objects_as_text():
    connector, batches = read({"file_path": str(SAMPLES / "records.json")}, batch_rows=2)
    assert connector.schema.names == ["date", "amount", "product_id", "tags", "meta", "active", "name"]
    assert all_strings(connector.schema) and [batch.num_rows for batch in batches] == [2, 1]
    assert rows_of(batches) == [
        ["2024-01-05", "10.50", "1", '["a","b"]', '{"source":"pos","score":0.5}', None, None],
        ["2024-01-06", None, "2", None, None, "true", "Молоко"],
        ["2024-01-07", "1E+3", "3", None, None, "false", None],
    ]
    assert connector.describe()["format"] == "json"


def test_json_numbers_keep_their_text_against_an_independent_parse():
    with open(SAMPLES / "records.json", encoding="utf-8") as stream:
        expected = json.load(stream, parse_float=str, parse_int=str)
    _, batches = read({"file_path": str(SAMPLES / "records.json")})
    amounts = [row[1] for row in rows_of(batches)]
    assert amounts[:2] == [record["amount"] for record in expected[:2]] == ["10.50", None]


@pytest.mark.parametrize("record_path", ["data.items", ["data", "items"]])
def test_json_with_record_path(record_path):
    connector, batches = read({"file_path": str(SAMPLES / "nested.json"), "record_path": record_path})
    assert connector.schema.names == ["date", "amount", "product_id", "note"]
    assert rows_of(batches) == [["2024-01-05", "10", "1", None], ["2024-01-06", "12.25", "2", "late"]]
    assert connector.describe()["record_path"] == "data.items"


def test_json_errors_are_specific(tmp_path):
    nested = SAMPLES / "nested.json"
    error = error_of({"file_path": str(nested)})
    assert error.permanent and error.message == (
        f"{nested} holds a JSON object, not an array of records; set record_path to the key that holds the "
        "records.")
    error = error_of({"file_path": str(nested), "record_path": "data.rows"})
    assert error.message == (f"{nested}: record_path data.rows: there is no key rows at data (keys there: items).")
    error = error_of({"file_path": str(nested), "record_path": "meta"})
    assert error.message == f"{nested}: record_path meta points to a dict, not to an array of records."
    hinted = tmp_path / "hint.json"
    hinted.write_text('{"total": 2, "rows": [{"a": 1}]}')
    assert error_of({"file_path": str(hinted)}).message.endswith("Keys holding arrays: rows.")
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"a": 1},\n{"a": 2,,}\n]')
    assert error_of({"file_path": str(broken)}).message == (
        f"{broken}, line 3: invalid JSON (Expecting property name enclosed in double quotes).")
    scalars = tmp_path / "scalars.json"
    scalars.write_text("[1, 2]")
    assert error_of({"file_path": str(scalars)}).message == (
        f"{scalars}: record 1 is not a JSON object ({{...}}); each record must be one.")
    trailing = tmp_path / "trailing.json"
    trailing.write_text('[{"a": 1}] x')
    assert "expected the end of the file" in error_of({"file_path": str(trailing)}).message
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert error_of({"file_path": str(empty)}).message == f"{empty}: the file is empty."


def test_json_empty_array_has_no_rows_and_no_columns(tmp_path):
    path = tmp_path / "none.json"
    path.write_text("[ ]")
    connector, batches = read({"file_path": str(path)})
    assert batches == [] and connector.schema.names == []


def test_json_array_larger_than_the_parser_chunk(tmp_path):
    path = tmp_path / "long.json"
    records = [{"id": i, "text": "x" * (i % 50), "n": i / 4} for i in range(30_000)]
    records[29_999]["late_key"] = "only here"
    path.write_text(json.dumps(records, indent=1))  # ~2 MiB: crosses the 1 MiB read chunks
    connector, batches = read({"file_path": str(path)}, batch_rows=10_000)
    assert [batch.num_rows for batch in batches] == [10_000] * 3
    assert connector.schema.names == ["id", "text", "n", "late_key"]
    rows = rows_of(batches)
    assert rows[12_345] == ["12345", "x" * (12_345 % 50), str(12_345 / 4), None]
    assert rows[-1][3] == "only here"


def test_json_in_utf16(tmp_path):
    path = tmp_path / "utf16.json"
    path.write_bytes('[{"город": "Москва"}]'.encode("utf-16"))
    connector, batches = read({"file_path": str(path)})
    assert connector.schema.names == ["город"] and rows_of(batches) == [["Москва"]]


# -- JSON Lines ------------------------------------------------------------------------------------------------

def test_jsonl_skips_blank_lines_and_unions_keys():
    connector, batches = read({"file_path": str(SAMPLES / "records.jsonl")})
    assert connector.schema.names == ["date", "amount", "product_id", "extra"] and all_strings(connector.schema)
    assert rows_of(batches) == [["2024-01-05", "10", "1", None], ["2024-01-06", "2.5", "2", '{"k":[1,2]}'],
                                ["2024-01-07", None, "3", None]]


def test_jsonl_by_format_key_and_errors_name_the_line(tmp_path):
    path = tmp_path / "events.log"
    path.write_text('{"a": 1}\n{"a": 2\n')
    error = error_of({"file_path": str(path), "format": "ndjson"})
    assert error.permanent and error.message.startswith(f"{path}, line 2: invalid JSON (")
    path.write_text('{"a": 1}\n\n[1]\n')
    assert error_of({"file_path": str(path), "format": "jsonl"}).message == (
        f"{path}: line 3 is not a JSON object ({{...}}); each record must be one.")


# -- Parquet ---------------------------------------------------------------------------------------------------

def test_parquet_keeps_native_types_and_batch_limits(tmp_path):
    path = tmp_path / "sales.parquet"
    table = pa.table({
        "date": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 365) for i in range(2_500)]),
        "amount": pa.array([None if i % 10 == 0 else i * 1.5 for i in range(2_500)], type=pa.float64()),
        "product_id": pa.array(range(2_500), type=pa.int64()),
        "name": pa.array([f"товар {i}" for i in range(2_500)]),
    })
    pq.write_table(table, path, row_group_size=1_000)
    connector, batches = read({"file_path": str(path)}, batch_rows=600)
    assert all(batch.num_rows <= 600 for batch in batches)
    assert [batch.num_rows for batch in batches] == [600, 600, 600, 600, 100]  # re-cut across row groups
    result = pa.Table.from_batches(batches)
    assert result.schema == table.schema.remove_metadata()
    assert result.equals(table)
    assert connector.describe()["format"] == "parquet"


def test_parquet_glob_with_column_order_differences(tmp_path):
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), tmp_path / "p1.parquet")
    pq.write_table(pa.table({"b": ["z"], "a": [3]}), tmp_path / "p2.parquet")
    _, batches = read({"file_path": str(tmp_path / "*.parquet")})
    assert rows_of(batches) == [[1, "x"], [2, "y"], [3, "z"]]


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("a,b\n1,2\n")
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message.startswith(f"{path} is not a readable Parquet file:")


# -- Excel -----------------------------------------------------------------------------------------------------

def write_xlsx(path: Path) -> None:
    """A workbook as openpyxl writes it, then given the formula's cached value as Excel would on saving
    (openpyxl itself never calculates formulas)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Продажи"
    sheet.append(["Дата", "amount", "qty", "total", "active"])
    sheet.append([datetime.date(2024, 1, 5), 10.5, 3, "=B2*C2", True])
    sheet.append([datetime.datetime(2024, 1, 6, 14, 30), "n/a", None, None, False])
    sheet.append([])  # an empty row, skipped like an empty CSV line
    sheet.append([None, 7])
    other = workbook.create_sheet("Other")
    other.append(["x"])
    other.append([1])
    workbook.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    assert "<f>B2*C2</f><v />" in xml
    parts["xl/worksheets/sheet1.xml"] = xml.replace("<f>B2*C2</f><v />", "<f>B2*C2</f><v>31.5</v>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_xlsx_first_sheet_with_cached_formula_values(tmp_path):
    path = tmp_path / "sales.xlsx"
    write_xlsx(path)
    connector, batches = read({"file_path": str(path)})
    assert connector.schema.names == ["Дата", "amount", "qty", "total", "active"]
    assert all_strings(connector.schema)
    assert rows_of(batches) == [
        ["2024-01-05", "10.5", "3", "31.5", "true"],
        ["2024-01-06 14:30:00", "n/a", None, None, "false"],
        [None, "7", None, None, None],
    ]
    assert connector.describe()["sheet"] == "Продажи"


def test_xlsx_named_sheet_no_header_and_missing_sheet(tmp_path):
    path = tmp_path / "sales.xlsx"
    write_xlsx(path)
    connector, batches = read({"file_path": str(path), "sheet": "Other", "has_header": False})
    assert connector.schema.names == ["column_1"] and rows_of(batches) == [["x"], ["1"]]
    error = error_of({"file_path": str(path), "sheet": "Итоги"})
    assert error.permanent and error.message == f"{path} has no sheet Итоги (sheets: Продажи, Other)."


def test_xlsx_value_beyond_the_header(tmp_path):
    path = tmp_path / "wide.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.active.append([1, 2, 3])
    workbook.save(path)
    error = error_of({"file_path": str(path)})
    assert error.message == f"{path}, row 2: a value in column C, beyond the header's 2 columns."


def test_xlsx_empty_workbook_and_not_a_workbook(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert error_of({"file_path": str(path)}).message == f"{path}: the file is empty."
    fake = tmp_path / "fake.xlsx"
    fake.write_text("a,b\n")
    assert error_of({"file_path": str(fake)}).message.startswith(f"{fake} is not a readable .xlsx workbook:")


def test_sniff_previews_any_format(tmp_path):
    path = tmp_path / "sales.xlsx"
    write_xlsx(path)
    result = sniff(str(path))
    assert result["format"] == "xlsx" and result["header"][0] == "Дата"
    assert result["rows"][0] == ["2024-01-05", "10.5", "3", "31.5", "true"]
    result = sniff(str(SAMPLES / "records.jsonl"))
    assert result["format"] == "jsonl" and result["encoding"] == "utf-8" and len(result["rows"]) == 3


@pytest.mark.parametrize(("fmt", "content", "line", "constant"), [
    ("json", '[\n{"price": 1.5},\n{"price": NaN}\n]', 3, "NaN"),
    ("json", '[{"price": 1.5}, {"price": -Infinity}]', 1, "-Infinity"),
    ("jsonl", '{"price": 1.5}\n{"price": 2}\n{"price": Infinity}\n', 3, "Infinity"),
])
def test_nan_and_infinity_are_not_json(tmp_path, fmt, content, line, constant):
    """Python's json module takes them and they were stored as the text "nan" / "inf"."""
    path = tmp_path / f"prices.{fmt}"
    path.write_text(content)
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message == (
        f"{path}, line {line}: invalid JSON ({constant} is not a JSON value; write null, or the number as a "
        "string).")


def test_nan_under_a_record_path_is_not_json_either(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text('{"data": {"rows": [\n{"a": 1},\n{"a": NaN}]}}')
    error = error_of({"file_path": str(path), "record_path": "data.rows"})
    assert error.message == (f"{path}, line 3: invalid JSON (NaN is not a JSON value; write null, or the number "
                             "as a string).")
