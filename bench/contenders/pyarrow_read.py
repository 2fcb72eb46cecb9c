"""Orientation: reading the CSV with pyarrow alone (what any Arrow-based loader pays before loading)."""

from __future__ import annotations

import argparse
import time

from bench.measure import report_inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    args = parser.parse_args()
    import pyarrow.csv as pv

    started = time.perf_counter()
    rows = 0
    # Streaming, as a constant-memory loader must; empty strings as NULL (pyarrow keeps '' by default).
    reader = pv.open_csv(args.file, read_options=pv.ReadOptions(block_size=16 << 20),
                         convert_options=pv.ConvertOptions(strings_can_be_null=True))
    for batch in reader:
        rows += batch.num_rows
    report_inner(read_seconds=time.perf_counter() - started, rows=rows)


if __name__ == "__main__":
    main()
