"""The file connector on CSV and TSV: dialects, NULLs, encodings, headers, errors, globs and batch sizes.

Expected rows come from Python's csv module (an independent parser), not from the connector's own code.
"""

import codecs
import csv
import hashlib
import io
import random
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pytest

from sources.connectors import get_connector
from sources.connectors.file import sha256_of, sniff
from sources.connectors.filesupport.detection import detect_encoding
from tests.sources.file_helpers import SAMPLES, error_of, read, rows_of

RUSSIAN = (
    "дата,сумма,товар,город\n"
    "2024-01-05,1500.50,Молоко пастеризованное,Москва\n"
    "2024-01-06,230.00,\"Хлеб ржаной, нарезка\",Санкт-Петербург\n"
    "2024-01-07,99.90,Сыр российский,Екатеринбург\n"
    "2024-01-08,,Яблоки сезонные,Нижний Новгород\n"
)




def csv_module_rows(path: Path, *, encoding="utf-8-sig", **dialect) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as stream:
        return [row for row in csv.reader(stream, **dialect) if row]



# -- CSV dialects and NULLs ----------------------------------------------------------------------------------

def test_quoted_delimiters_newlines_and_doubled_quotes():
    connector, batches = read({"file_path": str(SAMPLES / "quoted.csv")})
    assert connector.schema.names == ["id", "name", "comment", "amount"]
    assert all(field.type == pa.string() for field in connector.schema)
    assert rows_of(batches) == [
        ["1", "Smith, John", 'He said "hello"', "10.5"],
        ["2", "Multi\nline", None, "20"],
        ["3", "Plain", "", "30"],
        ["4", "NA", "null", "NaN"],
        ["5", 'Comma, "quote" and\nnewline', "x", "-1"],
    ]


def test_only_an_empty_unquoted_field_is_null():
    _, batches = read({"file_path": str(SAMPLES / "quoted.csv")})
    comment = pa.concat_arrays([batch.column("comment") for batch in batches])
    assert comment.null_count == 1 and comment[1].as_py() is None  # 2,"Multi\nline",,20
    assert comment[2].as_py() == ""  # 3,Plain,"",30: quoted, so an empty text
    assert rows_of(batches)[3] == ["4", "NA", "null", "NaN"]  # pyarrow's default null list would null these


def test_backslash_escapes_with_escape_char():
    _, batches = read({"file_path": str(SAMPLES / "escaped_backslash.csv"), "escape_char": "\\"})
    assert rows_of(batches) == [["1", 'a "quoted" word', "1"], ["2", "back\\slash", "2"], ["3", "plain", "3"]]


def test_tsv_by_extension_with_a_quoted_tab():
    connector, batches = read({"file_path": str(SAMPLES / "tabs.tsv")})
    assert connector.schema.names == ["id", "name", "city"]
    assert rows_of(batches) == [["1", "Ivan", "Moscow"], ["2", "quoted\ttab", "Kazan"], ["3", None, "Omsk"]]
    assert connector.describe()["delimiter"] == "\t"


def test_semicolon_sniffed_and_decimal_comma_reported_but_left_as_text():
    connector, batches = read({"file_path": str(SAMPLES / "decimal_comma.csv")})
    assert rows_of(batches) == [["2024-01-05", "1500,50", "17", "ok"], ["2024-01-06", "230,00", "18", "a; b"],
                                ["2024-01-07", "-99,90", "19", None]]
    description = connector.describe()
    assert description["delimiter"] == ";" and description["files"][0]["delimiter_detection"] == "sniffed"
    assert description["decimal_comma"] is True and description["decimal_comma_columns"] == ["amount"]
    assert get_connector("file", {"file_path": str(SAMPLES / "quoted.csv")}).describe()["decimal_comma"] is False


def test_configured_delimiter_wins_over_sniffing(tmp_path):
    path = tmp_path / "pipes.csv"
    path.write_text("a|b;c\n1|2;3\n4|5;6\n")
    connector, batches = read({"file_path": str(path)})
    # both are consistent on every line; csv.Sniffer prefers ";" to "|"
    assert connector.schema.names == ["a|b", "c"] and rows_of(batches) == [["1|2", "3"], ["4|5", "6"]]
    connector, batches = read({"file_path": str(path), "delimiter": "|"})
    assert connector.schema.names == ["a", "b;c"] and rows_of(batches) == [["1", "2;3"], ["4", "5;6"]]
    assert connector.describe()["files"][0]["delimiter_detection"] == "configured"
    connector, _ = read({"file_path": str(path), "delimiter": "tab"})
    assert connector.schema.names == ["a|b;c"]


def test_single_column_falls_back_to_comma(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("amount\n10\n\n20\n")
    connector, batches = read({"file_path": str(path)})
    assert connector.describe()["delimiter"] == "," and rows_of(batches) == [["10"], ["20"]]


def test_no_header_names_columns_by_position(tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("2024-01-01,10,1\n2024-01-02,,2\n")
    connector, batches = read({"file_path": str(path), "has_header": False})
    assert connector.schema.names == ["column_1", "column_2", "column_3"]
    assert rows_of(batches) == [["2024-01-01", "10", "1"], ["2024-01-02", None, "2"]]


CSV_SAMPLES = {  # file -> the dialect an independent reader needs
    "quoted.csv": {},
    "escaped_backslash.csv": {"escapechar": "\\"},
    "tabs.tsv": {"delimiter": "\t"},
    "decimal_comma.csv": {"delimiter": ";"},
    "utf8_bom.csv": {},
    "ragged.csv": None,  # read separately: it must fail
    "header_only.csv": {},
    "glob/sales_2024_01.csv": {}, "glob/sales_2024_02.csv": {}, "glob/sales_2024_03.csv": {},
}


def test_every_csv_sample_is_listed():
    found = {str(path.relative_to(SAMPLES)) for path in SAMPLES.rglob("*") if path.suffix in (".csv", ".tsv")}
    assert found - {"empty.csv"} == set(CSV_SAMPLES)


@pytest.mark.parametrize("name", [name for name, dialect in CSV_SAMPLES.items() if dialect is not None])
def test_rows_equal_pythons_csv_module(name):
    dialect = CSV_SAMPLES[name]
    config = {"file_path": str(SAMPLES / name)}
    if "escapechar" in dialect:
        config["escape_char"] = dialect["escapechar"]
    connector, batches = read(config)
    expected = csv_module_rows(SAMPLES / name, **dialect)
    assert connector.schema.names == expected[0]
    # The csv module cannot tell an empty unquoted field from "", so NULLs compare as "" here
    # (test_only_an_empty_unquoted_field_is_null checks the difference).
    assert [["" if value is None else value for value in row] for row in rows_of(batches)] == expected[1:]


# -- encodings -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251"), ("koi8-r", "koi8-r"),
    ("utf-16", "utf-16"), ("utf-16-le", None),
])
def test_encodings_are_detected_and_transcoded(tmp_path, encoding, detected):
    path = tmp_path / f"sales_{encoding}.csv"
    data = RUSSIAN.encode(encoding)
    if encoding == "utf-16-le":  # a BOM written by hand, as Windows tools do
        data = codecs.BOM_UTF16_LE + data
        detected = "utf-16"
    path.write_bytes(data)
    connector, batches = read({"file_path": str(path)})
    assert connector.schema.names == ["дата", "сумма", "товар", "город"]
    assert connector.describe()["encoding"] == detected
    expected = list(csv.reader(io.StringIO(RUSSIAN)))
    assert [["" if v is None else v for v in row] for row in rows_of(batches)] == expected[1:]
    assert rows_of(batches)[3][1] is None


def test_utf8_bom_does_not_reach_the_first_column_name():
    connector, batches = read({"file_path": str(SAMPLES / "utf8_bom.csv")})
    assert connector.schema.names[0] == "date"
    assert connector.describe()["encoding"] == "utf-8-sig"
    # also when the configuration says plain utf-8, as the specification's example does
    connector, _ = read({"file_path": str(SAMPLES / "utf8_bom.csv"), "encoding": "utf-8"})
    assert connector.schema.names == ["date", "amount", "product_id"]


def test_configured_encoding_wins(tmp_path):
    path = tmp_path / "cp1251.csv"
    path.write_bytes(RUSSIAN.encode("cp1251"))
    connector, batches = read({"file_path": str(path), "encoding": "koi8-r"})
    assert connector.describe()["encoding"] == "koi8-r"
    assert connector.schema.names != ["дата", "сумма", "товар", "город"]  # read as told, however garbled
    assert connector.schema.names == [name.encode("cp1251").decode("koi8-r") for name in ["дата", "сумма", "товар",
                                                                                         "город"]]


def test_a_wrong_encoding_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "cp1251.csv"
    path.write_bytes(RUSSIAN.encode("cp1251"))
    error = error_of({"file_path": str(path), "encoding": "utf-8"})
    assert error.permanent and error.message == (
        f"{path} cannot be decoded as utf-8; set encoding in the connection configuration.")
    error = error_of({"file_path": str(path), "encoding": "utf-16"})
    assert "cannot be decoded as utf-16" in error.message


@pytest.mark.parametrize(("text", "encoding", "expected"), [
    ("a,b\n1,2\n", "ascii", "utf-8"),
    ("имя,сумма\nИван,5\n", "koi8-r", "koi8-r"),  # too short for charset-normalizer alone
    ("имя,сумма\nИван,5\n", "cp1251", "cp1251"),
    ("id,name\n1,Café crème\n2,Müller\n3,Ærøskøbing\n", "utf-8", "utf-8"),
])
def test_detect_encoding_on_short_samples(text, encoding, expected):
    assert detect_encoding(text.encode(encoding))[0] == expected


# -- empty, header only, ragged --------------------------------------------------------------------------------

def test_an_empty_file_is_a_permanent_error():
    error = error_of({"file_path": str(SAMPLES / "empty.csv")})
    assert error.permanent and error.message == f"{SAMPLES / 'empty.csv'}: the file is empty."


def test_blank_lines_only_count_as_empty(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n \n\n")
    assert "the file is empty" in error_of({"file_path": str(path)}).message


def test_header_only_gives_no_batch_but_a_schema():
    connector, batches = read({"file_path": str(SAMPLES / "header_only.csv")})
    assert batches == []
    assert connector.schema == pa.schema([("date", pa.string()), ("amount", pa.string()),
                                          ("product_id", pa.string())])
    fresh = get_connector("file", {"file_path": str(SAMPLES / "header_only.csv")})
    assert fresh.read_schema().names == ["date", "amount", "product_id"]
    assert fresh.test_connection().ok


def test_ragged_rows_fail_naming_the_first_line_and_the_count():
    error = error_of({"file_path": str(SAMPLES / "ragged.csv")})
    assert error.permanent
    assert error.message == (f"{SAMPLES / 'ragged.csv'}, line 4: 2 fields where the header has 3. "
                             "2 rows in the file do not match the header.")


def test_one_ragged_row_is_singular(tmp_path):
    path = tmp_path / "one_bad.csv"
    path.write_text("a,b\r\n1,2\r\n3,4\r\n5,6,7\r\n")
    error = error_of({"file_path": str(path)})
    assert error.message.endswith("line 4: 3 fields where the header has 2. 1 row in the file does not match "
                                  "the header.")


def test_an_unclosed_quote_is_an_error_not_a_value_holding_the_rest_of_the_file(tmp_path):
    # pyarrow (like the csv module without strict=True) accepts a quote left open at the end of the file: the
    # value would hold the rest of the file. The connector counts quotes as pyarrow reads and refuses it.
    path = tmp_path / "unclosed.csv"
    for text in ('a,b,c\n1,2,3\n4,"never closed,5\n6,7,8\n', 'a,b\n1,"never closed\n2,3\n'):
        path.write_text(text)
        error = error_of({"file_path": str(path)})
        assert error.permanent and error.message.startswith(f"{path} has a quote (\") that is never closed")
    # A quote inside an unquoted value is a character (5" is five inches), even when the count is odd.
    path.write_text('a,b\n1,5" pipe\n2,"x ""y"""\n')
    assert rows_of(read({"file_path": str(path)})[1]) == [["1", '5" pipe'], ["2", 'x "y"']]


# -- paths and globs -------------------------------------------------------------------------------------------

def test_glob_reads_three_files_in_sorted_order():
    connector, batches = read({"file_path": str(SAMPLES / "glob" / "sales_2024_*.csv")}, batch_rows=2)
    assert [batch.num_rows for batch in batches] == [2, 2, 2]  # batches cross file boundaries
    assert [row[0] for row in rows_of(batches)] == ["2024-01-01", "2024-01-02", "2024-02-01", "2024-03-01",
                                                    "2024-03-02", "2024-03-03"]
    assert rows_of(batches)[4] == ["2024-03-02", None, "5"]
    files = connector.describe()["files"]
    assert [Path(info["name"]).name for info in files] == ["sales_2024_01.csv", "sales_2024_02.csv",
                                                          "sales_2024_03.csv"]
    assert [info["rows"] for info in files] == [2, 1, 3]


def test_glob_files_must_share_columns(tmp_path):
    shutil.copy(SAMPLES / "glob" / "sales_2024_01.csv", tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("product_id,date,amount\n9,2024-05-01,1\n")  # same columns, other order
    _, batches = read({"file_path": str(tmp_path / "*.csv")})
    assert rows_of(batches)[-1] == ["2024-05-01", "1", "9"]
    (tmp_path / "c.csv").write_text("date,total\n2024-06-01,1\n")
    error = error_of({"file_path": str(tmp_path / "*.csv")})
    assert error.permanent and error.message == (
        f"{tmp_path / 'c.csv'} has the columns date, total, but {tmp_path / 'a.csv'} has date, amount, product_id; "
        "files read together must have the same columns.")


def test_missing_files_are_clear_and_may_come_later(tmp_path):
    error = error_of({"file_path": str(tmp_path / "sales_*.csv")})
    assert error.message == f"No file matches {tmp_path / 'sales_*.csv'}." and error.permanent is False
    error = error_of({"file_path": str(tmp_path / "sales.csv")})
    assert error.message == f"The file {tmp_path / 'sales.csv'} does not exist." and error.permanent is False
    error = error_of({"file_path": str(tmp_path)})
    assert error.permanent and "is a folder" in error.message and "*.csv" in error.message


def test_a_literal_name_with_glob_characters(tmp_path):
    path = tmp_path / "report [final].csv"
    path.write_text("a\n1\n")
    assert rows_of(read({"file_path": str(path)})[1]) == [["1"]]


def test_unknown_extension_asks_for_format(tmp_path):
    path = tmp_path / "export.dat"
    path.write_text("a;b\n1;2\n")
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message == (
        f"The format of {path} cannot be told from its name; set format to one of: csv, tsv, json, jsonl, "
        "parquet, xlsx.")
    assert rows_of(read({"file_path": str(path), "format": "csv"})[1]) == [["1", "2"]]


# -- batch sizes -----------------------------------------------------------------------------------------------

def test_200000_rows_in_exactly_four_batches_equal_to_the_csv_module(tmp_path):
    path = tmp_path / "big.csv"
    generator = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "amount", "comment"])
        for i in range(200_000):
            comment = generator.choice(["", "ok", 'said "hi"', "a, b", "line\nbreak", "сумма"])
            amount = "" if i % 97 == 0 else f"{generator.uniform(-1e4, 1e4):.2f}"
            writer.writerow([i, f"name {i}", amount, comment])
    started = time.monotonic()
    connector, batches = read({"file_path": str(path)}, batch_rows=50_000)
    elapsed = time.monotonic() - started
    assert [batch.num_rows for batch in batches] == [50_000] * 4
    expected = csv_module_rows(path, encoding="utf-8")
    assert connector.schema.names == expected[0]
    table = pa.Table.from_batches(batches)
    for index, name in enumerate(expected[0]):
        # csv.writer writes "" unquoted, so here every "" in the csv module's parse is a NULL
        assert table.column(name).to_pylist() == [row[index] or None for row in expected[1:]], name
    assert table.column("amount").null_count == len(range(0, 200_000, 97))
    assert elapsed < 10


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 7])
def test_batches_never_exceed_batch_rows(batch_rows):
    _, batches = read({"file_path": str(SAMPLES / "glob" / "*.csv")}, batch_rows=batch_rows)
    assert all(batch.num_rows <= batch_rows for batch in batches)
    assert all(batch.num_rows == batch_rows for batch in batches[:-1])
    assert sum(batch.num_rows for batch in batches) == 6


def test_batch_rows_must_be_positive():
    connector = get_connector("file", {"file_path": str(SAMPLES / "quoted.csv")})
    with pytest.raises(ValueError, match="batch_rows must be a positive integer"):
        list(connector.read_batches(batch_rows=0))


# -- describe, test_connection, helpers ------------------------------------------------------------------------

def test_describe_reports_what_was_detected():
    connector, _ = read({"file_path": str(SAMPLES / "quoted.csv")})
    description = connector.describe()
    assert {key: description[key] for key in ("kind", "format", "encoding", "delimiter", "quote_char",
                                              "has_header", "columns")} == {
        "kind": "file", "format": "csv", "encoding": "utf-8", "delimiter": ",", "quote_char": '"',
        "has_header": True, "columns": ["id", "name", "comment", "amount"]}
    assert description["files"] == [{
        "name": str(SAMPLES / "quoted.csv"), "format": "csv", "encoding": "utf-8", "encoding_detection": "ascii",
        "encoding_confident": True,
        "delimiter": ",", "delimiter_detection": "sniffed", "quote_char": '"', "has_header": True, "columns": 4,
        "decimal_comma_columns": [], "rows": 5}]
    assert get_connector("file", {"file_path": str(SAMPLES / "tabs.tsv")}).describe()["delimiter"] == "\t"


def test_test_connection_reads_the_header_and_never_raises_for_user_problems(tmp_path):
    check = get_connector("file", {"file_path": str(SAMPLES / "glob" / "*.csv")}).test_connection()
    assert check.ok and check.message == "3 files can be read; columns: date, amount, product_id."
    assert len(check.details["files"]) == 3
    check = get_connector("file", {"file_path": str(tmp_path / "missing.csv")}).test_connection()
    assert not check.ok and check.message == f"The file {tmp_path / 'missing.csv'} does not exist."
    assert check.details == {"permanent": False}
    check = get_connector("file", {"file_path": str(SAMPLES / "empty.csv")}).test_connection()
    assert not check.ok and "the file is empty" in check.message and check.details["permanent"]
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.csv").write_text("x,z\n1,2\n")
    check = get_connector("file", {"file_path": str(tmp_path / "*.csv")}).test_connection()
    assert not check.ok and "must have the same columns" in check.message


def test_sha256_of(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert sha256_of(str(path)) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 20_000)  # several read chunks
    assert sha256_of(str(big)) == hashlib.sha256(big.read_bytes()).hexdigest()


def test_sniff_for_an_upload_preview(tmp_path):
    path = tmp_path / "preview.csv"
    lines = ["дата;сумма;товар"] + [f"2024-01-{day:02d};{day},50;Товар {day}" for day in range(1, 31)]
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1251"))
    result = sniff(str(path))
    assert result["format"] == "csv" and result["encoding"] == "cp1251" and result["delimiter"] == ";"
    assert result["header"] == ["дата", "сумма", "товар"]
    assert len(result["rows"]) == 20 and result["rows"][0] == ["2024-01-01", "1,50", "Товар 1"]
    assert result["decimal_comma_columns"] == ["сумма"]
