"""`python -m bench [all|report]`: run the benchmark (all sections, then the report), or re-write the report
from var/bench/results.json."""

from __future__ import annotations

import argparse
import sys

from bench.config import load_config
from bench.results import Results

SECTIONS = ("side_by_side", "profile", "small_file", "alternatives", "hundred", "small_runs", "many_pipelines",
            "workers", "pages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", nargs="?", default="all", choices=("all", "report", *SECTIONS))
    args = parser.parse_args(argv)
    cfg = load_config()
    from bench.report import report_write

    if args.command == "report":
        report_write(Results.load(cfg.results_path), cfg)
        print(f"wrote {cfg.report_path}")
        return 0
    from bench.suite import Bench

    # One section alone adds to the results of the last sitting; `all` starts a new sitting.
    keep = args.command != "all" and cfg.results_path.exists()
    bench = Bench(cfg, Results.load(cfg.results_path) if keep else None)
    try:
        bench.prepare(fresh=not keep)
    except BaseException:
        bench.stop_servers()
        raise
    sections = SECTIONS if args.command == "all" else (args.command,)
    for name in sections:
        try:
            getattr(bench, name)()
        except Exception as exc:  # one broken section must not cost the others: it is reported as failed
            bench.say(f"section {name} failed: {exc!r}")
            bench.results.section(f"{name}_error", {"error": repr(exc)[:1000]})
    bench.finish()
    report_write(bench.results, cfg)
    bench.say(f"wrote {cfg.report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
