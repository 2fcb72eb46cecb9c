"""dlt loading the flights CSV into PostgreSQL, two ways:

- `docs`: the documented filesystem source, `filesystem(...) | read_csv()` (pandas chunks turned into records,
  normalised row by row, loaded as INSERT statements: the postgres destination's preferred format);
- `arrow`: the fast path dlt documents for structured data: Arrow record batches from pyarrow's CSV reader,
  loaded with `loader_file_format="csv"` (PostgreSQL COPY).
Credentials come from the environment (`DESTINATION__POSTGRES__CREDENTIALS`), as dlt reads them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.measure import report_inner


def flights_arrow(path: Path):
    import dlt
    import pyarrow.csv as pv

    @dlt.resource(name="flights", write_disposition="replace")
    def flights():
        reader = pv.open_csv(path, read_options=pv.ReadOptions(block_size=16 << 20),
                             convert_options=pv.ConvertOptions(strings_can_be_null=True))
        yield from reader

    return flights()


def flights_documented(path: Path):
    from dlt.sources.filesystem import filesystem, read_csv

    files = filesystem(bucket_url=path.parent.resolve().as_uri(), file_glob=path.name)
    return (files | read_csv()).with_name("flights")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--path", choices=("docs", "arrow"), required=True)
    parser.add_argument("--pipelines-dir", required=True)
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    path = Path(args.file)
    pipeline = dlt.pipeline(pipeline_name=f"bench_dlt_{args.path}", destination="postgres",
                            dataset_name=f"flights_{args.path}", pipelines_dir=args.pipelines_dir)
    started = time.perf_counter()
    if args.path == "arrow":
        info = pipeline.run(flights_arrow(path), loader_file_format="csv")
    else:
        info = pipeline.run(flights_documented(path), write_disposition="replace")
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("flights", 0)
    report_inner(load_seconds=seconds, rows=rows)


if __name__ == "__main__":
    main()
