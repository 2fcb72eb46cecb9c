"""The file connector on .gz and .zip: reading through them, unsafe members, and archive bombs."""

import gzip
import io
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.connectors import get_connector
from sources.connectors.filesupport.opening import human_size
from tests.sources.file_helpers import SAMPLES, error_of, read, rows_of

MiB = 1024 * 1024
QUOTED_ROWS = [
    ["1", "Smith, John", 'He said "hello"', "10.5"],
    ["2", "Multi\nline", None, "20"],
    ["3", "Plain", "", "30"],
    ["4", "NA", "null", "NaN"],
    ["5", 'Comma, "quote" and\nnewline', "x", "-1"],
]





def gzip_stream_of(mebibytes: int, chunk: bytes, path: Path, *, header: bytes = b"") -> None:
    """A gzip member of `header` then `mebibytes` MiB of `chunk`s, written without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = chunk * (MiB // len(chunk))
    with open(path, "ab") as stream:
        stream.write(compressor.compress(header))
        for _ in range(mebibytes):
            stream.write(compressor.compress(block))
        stream.write(compressor.flush())


# -- reading through .gz and .zip ------------------------------------------------------------------------------

def test_csv_gz_reads_like_the_plain_file(tmp_path):
    path = tmp_path / "quoted.csv.gz"
    path.write_bytes(gzip.compress((SAMPLES / "quoted.csv").read_bytes()))
    connector, batches = read({"file_path": str(path)})
    assert rows_of(batches) == QUOTED_ROWS
    assert connector.describe()["files"][0]["compression"] == "gzip"


@pytest.mark.parametrize("name", ["records.json", "records.jsonl"])
def test_json_gz(tmp_path, name):
    path = tmp_path / f"{name}.gz"
    path.write_bytes(gzip.compress((SAMPLES / name).read_bytes()))
    _, plain = read({"file_path": str(SAMPLES / name)})
    _, packed = read({"file_path": str(path)})
    assert rows_of(packed) == rows_of(plain)


def test_parquet_and_xlsx_gz_are_spooled_and_read(tmp_path):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2, 3]}), buffer)
    (tmp_path / "t.parquet.gz").write_bytes(gzip.compress(buffer.getvalue()))
    assert rows_of(read({"file_path": str(tmp_path / "t.parquet.gz")})[1]) == [[1], [2], [3]]
    workbook = openpyxl.Workbook()
    workbook.active.append(["a"])
    workbook.active.append([1])
    workbook.save(tmp_path / "w.xlsx")
    (tmp_path / "w.xlsx.gz").write_bytes(gzip.compress((tmp_path / "w.xlsx").read_bytes()))
    assert rows_of(read({"file_path": str(tmp_path / "w.xlsx.gz")})[1]) == [["1"]]


def test_cp1251_inside_gz_is_detected(tmp_path):
    text = "дата,сумма,товар\n2024-01-05,10,Молоко\n2024-01-06,20,Хлеб ржаной\n"
    path = tmp_path / "ru.csv.gz"
    path.write_bytes(gzip.compress(text.encode("cp1251")))
    connector, batches = read({"file_path": str(path)})
    assert connector.schema.names == ["дата", "сумма", "товар"] and connector.describe()["encoding"] == "cp1251"
    assert rows_of(batches)[1] == ["2024-01-06", "20", "Хлеб ржаной"]


def test_zip_with_two_csvs_reads_supported_members_in_sorted_order(tmp_path):
    path = tmp_path / "sales.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("b/march.csv", "date,amount\n2024-03-01,3\n")
        archive.writestr("a/january.csv", "date,amount\n2024-01-01,1\n2024-01-02,\n")
        archive.writestr("README.md", "not data")
        archive.writestr("__MACOSX/a/._january.csv", "\x00\x05junk")
        archive.writestr("a/", "")
    connector, batches = read({"file_path": str(path)})
    assert rows_of(batches) == [["2024-01-01", "1"], ["2024-01-02", None], ["2024-03-01", "3"]]
    assert [info["name"] for info in connector.describe()["files"]] == [f"{path}!a/january.csv",
                                                                       f"{path}!b/march.csv"]
    assert get_connector("file", {"file_path": str(path)}).test_connection().ok


def test_zip_with_nothing_readable(tmp_path):
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "hello")
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message == (
        f"{path} contains no CSV, TSV, JSON, JSON Lines, Parquet or Excel file.")


@pytest.mark.parametrize("member", ["../evil.csv", "data/../../evil.csv", "/etc/evil.csv", "..\\evil.csv",
                                    "C:/evil.csv"])
def test_zip_members_with_unsafe_paths_are_refused(tmp_path, member):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("good.csv", "a\n1\n")
        archive.writestr(member, "a\n2\n")
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message == (
        f"{path} was refused: its member {member} has an unsafe path (absolute or with \"..\").")
    check = get_connector("file", {"file_path": str(path)}).test_connection()
    assert not check.ok and "unsafe path" in check.message


def test_damaged_archives(tmp_path):
    fake_zip = tmp_path / "fake.zip"
    fake_zip.write_text("not a zip")
    assert error_of({"file_path": str(fake_zip)}).message == f"{fake_zip} is not a valid ZIP archive."
    fake_gz = tmp_path / "fake.csv.gz"
    fake_gz.write_text("a,b\n1,2\n")
    assert error_of({"file_path": str(fake_gz)}).message == f"{fake_gz} is not a gzip file (its name ends in .gz)."
    cut = tmp_path / "cut.csv.gz"
    packed = gzip.compress(b"a,b\n" + bytes(range(48, 58)) * 100_000)
    cut.write_bytes(packed[: len(packed) // 2])
    error = error_of({"file_path": str(cut)})
    assert error.permanent and error.message.startswith(f"{cut} is damaged or not a valid compressed file:")


# -- archive bombs ---------------------------------------------------------------------------------------------

def test_gzip_bomb_is_refused_quickly_by_its_declared_size(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    gzip_stream_of(200, b"\x00", path)
    assert path.stat().st_size < 1 * MiB
    started = time.monotonic()
    error = error_of({"file_path": str(path), "max_bytes": 10 * MiB})
    assert time.monotonic() - started < 1
    assert error.permanent and error.message == (
        f"{path} decompresses to more than 10 MiB (max_bytes = 10485760); it was refused as a possible archive "
        "bomb. Raise max_bytes in the connection configuration if the file is genuine.")
    check = get_connector("file", {"file_path": str(path), "max_bytes": 10 * MiB}).test_connection()
    assert not check.ok and "possible archive bomb" in check.message


def test_gzip_bomb_hiding_its_size_is_stopped_while_streaming(tmp_path):
    # Two gzip members: the trailer only tells the (tiny) last one's size, so only counting catches this.
    path = tmp_path / "sneaky.csv.gz"
    gzip_stream_of(16, b"0,0\n", path, header=b"a,b\n")
    path.write_bytes(path.read_bytes() + gzip.compress(b"1,1\n"))
    started = time.monotonic()
    error = error_of({"file_path": str(path), "max_bytes": 10 * MiB})
    assert time.monotonic() - started < 5
    assert error.permanent and "decompresses to more than 10 MiB (max_bytes = 10485760)" in error.message
    _, batches = read({"file_path": str(path), "max_bytes": 20 * MiB})  # genuine once the limit allows it
    assert sum(batch.num_rows for batch in batches) == 16 * MiB // 4 + 1


def test_by_default_a_bomb_is_refused_by_its_inflation_ratio(tmp_path, settings):
    """A 240 MB gzip bomb was read to the end (62.9 M rows, 393 s) under the old 20 GiB default. Hiding its
    size in a second member, 240 MiB of rows packed into ~240 KiB is now stopped at 64 MiB (the ratio's floor),
    far below ETL_FILE_MAX_BYTES."""
    assert settings.ETL_FILE_MAX_BYTES == 2 * 1024 * MiB and settings.ETL_FILE_MAX_RATIO == 100
    path = tmp_path / "bomb.csv.gz"
    gzip_stream_of(240, b"0,0\n", path, header=b"a,b\n")
    path.write_bytes(path.read_bytes() + gzip.compress(b"1,1\n"))
    compressed = path.stat().st_size
    assert compressed < MiB
    error = error_of({"file_path": str(path)})
    assert error.permanent and error.message == (
        f"{path} inflates to more than 100 times its compressed size of {human_size(compressed)}; it was refused "
        "as a possible archive bomb. Set max_bytes in the connection configuration if the file is genuine.")
    # A source that names its own limit is taken at its word.
    _, batches = read({"file_path": str(path), "max_bytes": 300 * MiB}, batch_rows=1 << 20)
    assert sum(batch.num_rows for batch in batches) == 240 * MiB // 4 + 1


def test_a_small_very_repetitive_file_is_not_a_bomb(tmp_path):
    """30 MiB of one repeated row compresses ~1000:1; under the ratio's 64 MiB floor it loads by default."""
    path = tmp_path / "repetitive.csv.gz"
    gzip_stream_of(30, b"2024-01-01,0\n", path, header=b"day,value\n")
    assert path.stat().st_size * 100 < 30 * MiB
    _, batches = read({"file_path": str(path)}, batch_rows=1 << 20)
    assert sum(batch.num_rows for batch in batches) == (MiB // 13) * 30


def test_zip_bomb_is_refused_by_declared_member_sizes(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("zeros.csv", b"\x00" * (30 * MiB))
    assert path.stat().st_size < MiB
    error = error_of({"file_path": str(path), "max_bytes": 10 * MiB})
    assert error.permanent and error.message.startswith(f"{path} decompresses to more than 10 MiB")


def test_max_bytes_counts_every_member_of_a_read(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(3):
            archive.writestr(f"part{index}.csv", "a\n" + "1\n" * 100_000)  # 200,002 bytes each
    error = error_of({"file_path": str(path), "max_bytes": 600_000})
    assert error.permanent and "max_bytes = 600000" in error.message
    _, batches = read({"file_path": str(path), "max_bytes": 600_006})
    assert sum(batch.num_rows for batch in batches) == 300_000


def test_xlsx_parts_count_against_max_bytes(tmp_path):
    path = tmp_path / "w.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["a"])
    workbook.save(path)
    error = error_of({"file_path": str(path), "max_bytes": 1_000})
    assert error.permanent
    assert error.message.startswith(f"{path} decompresses to more than 1000 bytes (max_bytes = 1000)")
