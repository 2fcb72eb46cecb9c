"""The hostile inputs that would be huge or binary in git, written into a directory at test time.

Each generator writes one file and is named by that file; tests/data/hostile/manifest.yaml refers to them as
``generated: <name>``. Sizes are fixed, so outcomes (row counts, error messages) are too.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

LONG_LINE_BYTES = 10 * 1024 * 1024
WIDE_COLUMNS = 10_000
BOMB_BYTES = 256 * 1024 * 1024  # decompressed; the test's limit (ETL_FILE_MAX_BYTES) is far below it
NESTING_DEPTH = 100_000
CSV = "id,name,amount\n1,a,10\n2,b,20\n"


def _nul_bytes(path: Path) -> None:
    path.write_bytes(b"id,name\n1,ab\x00cd\n2,ef\n")


def _binary_named_csv(path: Path) -> None:
    # A PNG signature and header, then bytes that decode as nothing in particular.
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)


def _long_line(path: Path) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write("id,payload\n1,")
        out.write("x" * LONG_LINE_BYTES)
        out.write("\n2,short\n")


def _ten_thousand_columns(path: Path) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write(",".join(f"c{i}" for i in range(WIDE_COLUMNS)) + "\n")
        out.write(",".join(str(i) for i in range(WIDE_COLUMNS)) + "\n")


def _utf16(path: Path) -> None:
    path.write_bytes("город,сумма\nМосква,100\nКазань,200\n".encode("utf-16"))  # with its BOM


def _encoding_switch(path: Path) -> None:
    # Two MiB of UTF-8 (past the 1 MiB sample the encoding is detected on), then cp1251.
    head = "id,city\n" + "".join(f"{i},Москва\n" for i in range(1, 150_001))
    path.write_bytes(head.encode("utf-8") + "150001,Казань\n".encode("cp1251"))


def _gzip_bomb(path: Path) -> None:
    block = b"0" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"id\n")
        for _ in range(BOMB_BYTES // len(block)):
            out.write(block)


def _zip_traversal(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", CSV)
        archive.writestr("../../../tmp/evil.csv", CSV)


def _zip_absolute(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("/etc/cron.d/evil.csv", CSV)


def _zip_good(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "not data")
        archive.writestr("sales/part1.csv", CSV)


def _xlsx_formulas(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "amount", "total"])
    sheet.append([1, 10, "=B2*2"])
    sheet.append([2, 20, '=HYPERLINK("http://example.invalid","x")'])
    book.save(path)  # openpyxl stores formulas without cached values, as many generated workbooks do


def _deep_json(path: Path) -> None:
    path.write_text('[{"id": 1, "v": ' + "[" * NESTING_DEPTH + "]" * NESTING_DEPTH + "}]", encoding="ascii")


def _deep_jsonl(path: Path) -> None:
    path.write_text('{"id": 1, "v": ' + '{"a": ' * NESTING_DEPTH + "1" + "}" * NESTING_DEPTH + "}\n",
                    encoding="ascii")


def _random_bytes_csv(path: Path) -> None:
    path.write_bytes(bytes((i * 7919) % 256 for i in range(65_536)))


GENERATORS = {
    "nul_bytes.csv": _nul_bytes,
    "binary_png.csv": _binary_named_csv,
    "long_line_10mb.csv": _long_line,
    "ten_thousand_columns.csv": _ten_thousand_columns,
    "utf16.csv": _utf16,
    "encoding_switch.csv": _encoding_switch,
    "gzip_bomb.csv.gz": _gzip_bomb,
    "zip_traversal.zip": _zip_traversal,
    "zip_absolute.zip": _zip_absolute,
    "zip_with_readme.zip": _zip_good,
    "formulas.xlsx": _xlsx_formulas,
    "deep_nesting.json": _deep_json,
    "deep_nesting.jsonl": _deep_jsonl,
    "binary_noise.csv": _random_bytes_csv,
}


def generate(directory: Path) -> dict[str, Path]:
    """Write every generated input into `directory`; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, write in GENERATORS.items():
        path = directory / name
        if not path.exists():
            write(path)
        paths[name] = path
    return paths
