"""Ceiling: ClickHouse's own CSV insert, `INSERT INTO t SELECT * FROM file(...)`, in chDB (embedded ClickHouse)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from bench.measure import report_inner
from bench.schema import create_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--path", required=True, help="chDB data directory (emptied first)")
    args = parser.parse_args()
    shutil.rmtree(args.path, ignore_errors=True)
    from chdb import session

    db = session.Session(args.path)
    db.query(create_table("clickhouse", "flights", engine=" ENGINE = MergeTree ORDER BY tuple()"))
    started = time.perf_counter()
    db.query(f"INSERT INTO flights SELECT * FROM file('{Path(args.file).resolve()}', 'CSVWithNames') "
             "SETTINGS date_time_input_format = 'best_effort'")
    inserted = time.perf_counter() - started
    rows = int(str(db.query("SELECT count() FROM flights", "CSV")).strip())
    db.close()
    report_inner(insert_seconds=inserted, rows=rows)


if __name__ == "__main__":
    main()
