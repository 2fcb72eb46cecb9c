"""Figures the bench derives from what it read: the many-pipelines schedule and the stage-by-stage profile."""

from datetime import datetime, timedelta, timezone

from bench.many_pipelines import schedule_figures

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def _run(pk, worker, start, end, *, status="success", rows=100):
    at = lambda s: (T0 + timedelta(seconds=s)).isoformat()  # noqa: E731
    return {"id": pk, "status": status, "records_processed": rows, "created_at": at(0), "started_at": at(start),
            "finished_at": at(end), "duration_seconds": end - start, "worker": worker, "error": ""}


def test_a_worker_idle_while_a_run_waits_is_counted_and_nothing_else():
    # w2 finishes B at 5 s and only starts C at 7 s, while C waited since 0 s: 2 s of idle worker time.
    runs = [_run(1, "w1", 0, 10), _run(2, "w2", 0, 5), _run(3, "w2", 7, 12)]
    figures = schedule_figures(runs, 2, expected_rows=100, queued_at=T0.isoformat())
    assert figures["status"] == "measured"
    assert figures["idle_while_queued_s"] == 2.0
    assert figures["wall_seconds"] == 12.0 and figures["rows_loaded"] == 300
    assert figures["rows_per_second"] == 25 and figures["runs_per_minute"] == 15.0
    assert figures["worker_busy_share"] == {"w1": round(10 / 12, 3), "w2": round(10 / 12, 3)}
    assert figures["queue_wait_max_s"] == 7.0


def test_a_run_that_failed_or_loaded_too_little_fails_the_section():
    runs = [_run(1, "w1", 0, 3), _run(2, "w2", 0, 3, status="failed", rows=0), _run(3, "w1", 3, 6, rows=99)]
    figures = schedule_figures(runs, 2, expected_rows=100, queued_at=T0.isoformat())
    assert figures["status"] == "failed: 2 of 3 runs did not load their rows"
    assert [f["id"] for f in figures["failures"]] == [2, 3]


def test_the_time_before_the_runs_were_committed_is_not_counted_as_idle():
    # Created at 0 s inside a transaction that committed at 1 s: the workers could not see them before.
    runs = [_run(1, "w1", 1, 4), _run(2, "w2", 1, 4)]
    figures = schedule_figures(runs, 2, expected_rows=100, queued_at=(T0 + timedelta(seconds=1)).isoformat())
    assert figures["idle_while_queued_s"] == 0.0 and figures["wall_seconds"] == 3.0


def test_a_profile_sample_goes_to_the_innermost_stage_and_the_worker_cpu_is_split_by_the_shares():
    from bench.profile import scaled, stage_of, stages_from_raw

    insert = ["<module> (manage.py:22)", "run_execute (pipelines/engine/runner.py:150)",
              "append (analytics/loading.py:190)", "insert (clickhouse_connect/driver/client.py:700)"]
    commit = ["run_execute (pipelines/engine/runner.py:200)", "commit (analytics/loading.py:230)",
              "command (clickhouse_connect/driver/client.py:400)"]
    analysis = ["run_analyze (pipelines/engine/analyze.py:90)", "quality_write (analytics/quality.py:50)",
                "insert (clickhouse_connect/driver/client.py:700)"]
    assert stage_of(insert) == "ClickHouse insert"
    assert stage_of(commit) == "commit"
    assert stage_of(analysis) == "analysis"
    assert stage_of(["run_execute (pipelines/engine/runner.py:120)"]).startswith("other")
    raw = "\n".join([";".join(["process 1:\"python\"", "thread (0x1)", *insert]) + " 300",
                     ";".join(commit) + " 100"])
    samples = stages_from_raw(raw)
    assert samples["ClickHouse insert"] == 3.0 and samples["commit"] == 1.0
    assert scaled(samples, 2.0)["ClickHouse insert"] == 1.5 and scaled(samples, 2.0)["commit"] == 0.5
