"""pandas as people use it: `read_csv` in chunks and `DataFrame.to_sql` (SQLAlchemy + psycopg2, the default
insert method) into PostgreSQL."""

from __future__ import annotations

import argparse
import time

from bench.measure import report_inner

CHUNK_ROWS = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    started = time.perf_counter()
    rows = 0
    first = True
    for chunk in pd.read_csv(args.file, chunksize=CHUNK_ROWS, parse_dates=["time_hour"]):
        chunk.to_sql("flights_pandas", engine, if_exists="replace" if first else "append", index=False)
        rows += len(chunk)
        first = False
    engine.dispose()
    report_inner(load_seconds=time.perf_counter() - started, rows=rows)


if __name__ == "__main__":
    main()
