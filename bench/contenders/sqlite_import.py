"""Ceiling of the embedded default's staging: SQLite's own bulk CSV import (`sqlite3` CLI `.import`) into a
typed table, or, without the CLI, one executemany() in one transaction."""

from __future__ import annotations

import argparse
import csv
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from bench.measure import report_inner
from bench.schema import create_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--db", required=True, help="SQLite file (replaced)")
    parser.add_argument("--method", choices=("cli", "executemany"), default="cli")
    args = parser.parse_args()
    db = Path(args.db)
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as con:
        con.execute(create_table("sqlite", "flights"))
    started = time.perf_counter()
    if args.method == "cli" and shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(db), "PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;",
                        f".import --csv --skip 1 {Path(args.file).resolve()} flights"], check=True)
        method = "cli"
    else:
        _executemany(db, Path(args.file))
        method = "executemany"
    inserted = time.perf_counter() - started
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT count(*) FROM flights").fetchone()[0]
    report_inner(insert_seconds=inserted, rows=rows, method=method)


def _executemany(db: Path, path: Path) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    with path.open(newline="", encoding="utf-8") as fh, con:
        reader = csv.reader(fh)
        header = next(reader)
        marks = ", ".join("?" * len(header))
        con.executemany(f"INSERT INTO flights VALUES ({marks})",
                        ([v if v != "" else None for v in row] for row in reader))
    con.close()


if __name__ == "__main__":
    main()
