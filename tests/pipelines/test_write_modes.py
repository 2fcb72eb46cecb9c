"""Write modes on the real engine, real files and the embedded ClickHouse: append adds, replace swaps the
table's content atomically (a failed run leaves the old one), merge keeps the newest row per key exactly
(no FINAL needed), in one-part and split runs; a merge without a key is a field error."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from etlsite.celery import app as celery_app
from pipelines.engine.runner import run_execute
from pipelines.models import RunStatus
from pipelines.services import run_claim, run_create
from pipelines.tasks import TaskDispatcher
from tests.factories import DataSourceFactory, PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)

FIRST = "id,name,amount\n1,alpha,1.5\n2,beta,2.5\n3,gamma,3.5\n4,delta,4.5\n"
# id 2 comes twice (the later row wins), 3 changes, 5 is new; 1 and 4 are not in this file.
SECOND = "id,name,amount\n2,beta-old,20.5\n5,epsilon,5.5\n3,gamma-new,30.5\n2,beta-new,21.5\n"


def _file(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _pipeline(tmp_path, table: str, **config):
    source = DataSourceFactory(source_type="file", connection_config={"file_path": _file(tmp_path, "first.csv",
                                                                                         FIRST)})
    return PipelineFactory(name=table, data_source=source, max_retries=0,
                           configuration={"target": {"table": table}, **config})


def _run(pipeline, *, batch_rows: int = 65_536, **context):
    run = run_create(pipeline=pipeline, triggered_by="test", execution_context={"load_again": True, **context})
    assert run_claim(run=run)
    run = run_execute(run=run, batch_rows=batch_rows, dispatcher=TaskDispatcher)  # split runs send their parts
    run.refresh_from_db()
    return run


def _rows(clickhouse, table: str) -> list[tuple]:
    return [tuple(r) for r in clickhouse.query(f"SELECT id, name, amount FROM `{table}` ORDER BY id, name")
            .result_rows]


def _leftovers(clickhouse) -> list[str]:
    return [r[0] for r in clickhouse.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND (startsWith(name, '_load_') "
        "OR startsWith(name, '_keys_'))").result_rows]


def _reconciles(ctx: dict) -> bool:
    return ctx["rows_read"] == ctx["rows_loaded"] + ctx["rows_quarantined"] + sum(ctx["rows_removed"].values())


def test_append_twice_doubles(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_append")
    for _ in range(2):
        run = _run(pipeline)
        assert run.status == RunStatus.SUCCESS, run.error_message
        assert run.execution_context["write"] == {"mode": "append", "rows_replaced": 0}
    assert clickhouse.command("SELECT count() FROM wm_append") == 8
    assert clickhouse.command("SELECT uniqExact(id) FROM wm_append") == 4


def test_replace_twice_leaves_exactly_the_second_files_rows(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_replace", write_mode="replace")
    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS, first.error_message
    assert first.execution_context["write"] == {"mode": "replace", "rows_replaced": 0}
    assert _rows(clickhouse, "wm_replace") == [(1, "alpha", 1.5), (2, "beta", 2.5), (3, "gamma", 3.5),
                                               (4, "delta", 4.5)]
    second = _run(pipeline, file_path=_file(tmp_path, "second.csv", SECOND))
    assert second.status == RunStatus.SUCCESS, second.error_message
    assert second.execution_context["write"] == {"mode": "replace", "rows_replaced": 4}
    assert _rows(clickhouse, "wm_replace") == [(2, "beta-new", 21.5), (2, "beta-old", 20.5), (3, "gamma-new", 30.5),
                                               (5, "epsilon", 5.5)]
    assert clickhouse.command("SELECT uniqExact(_pipeline_run_id) FROM wm_replace") == 1
    assert _reconciles(second.execution_context)
    assert _leftovers(clickhouse) == []
    # The analyses key on the run's rows: they still find them after the swap.
    quality = second.analysis_results.get(analysis_type="data_quality", result_data__table="wm_replace")
    assert quality.metrics["row_count"] == 4
    assert clickhouse.command("SELECT count() FROM data_lineage WHERE pipeline_run_id = {r:UInt64}",
                              {"r": second.pk}) > 0


def test_a_failed_replace_leaves_the_old_content(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_replace_fail", write_mode="replace")
    assert _run(pipeline).status == RunStatus.SUCCESS
    before = _rows(clickhouse, "wm_replace_fail")
    # Good rows first (loaded into the run's temporary table batch by batch), then a row with a field too many.
    broken = "id,name,amount\n" + "".join(f"{i},n{i},{i}.0\n" for i in range(10, 30)) + "99,x,1.0,extra\n"
    run = _run(pipeline, batch_rows=4, file_path=_file(tmp_path, "broken.csv", broken))
    assert run.status == RunStatus.FAILED
    assert _rows(clickhouse, "wm_replace_fail") == before
    assert _leftovers(clickhouse) == []


def test_merge_keeps_the_newest_row_per_key(clickhouse, tmp_path, admin_client):
    pipeline = _pipeline(tmp_path, "wm_merge", write_mode="merge", merge_key=["id"])
    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS, first.error_message
    second = _run(pipeline, file_path=_file(tmp_path, "second.csv", SECOND))
    assert second.status == RunStatus.SUCCESS, second.error_message
    ctx = second.execution_context
    assert (ctx["rows_read"], ctx["rows_loaded"], ctx["rows_removed"]) == (4, 3, {"merge_key_repeats": 1})
    assert _reconciles(ctx)
    assert ctx["write"] == {"mode": "merge", "rows_replaced": 2, "merge_key": ["id"]}  # ids 2 and 3
    # No FINAL: a plain read is exact.
    assert _rows(clickhouse, "wm_merge") == [(1, "alpha", 1.5), (2, "beta-new", 21.5), (3, "gamma-new", 30.5),
                                             (4, "delta", 4.5), (5, "epsilon", 5.5)]
    owners = dict(clickhouse.query("SELECT id, _pipeline_run_id FROM wm_merge").result_rows)
    assert owners == {1: first.pk, 2: second.pk, 3: second.pk, 4: first.pk, 5: second.pk}
    assert _leftovers(clickhouse) == []
    page = admin_client.get(reverse("webui:run-detail", args=[second.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Write mode merge on id: 2 earlier rows with the same key were replaced." in page.content.decode()
    assert "Removed by merge_key_repeats" in page.content.decode()
    api = admin_client.get(f"/api/v1/runs/{second.pk}/").json()
    assert api["execution_context"]["write"] == {"mode": "merge", "rows_replaced": 2, "merge_key": ["id"]}


def test_merge_on_two_columns_and_a_row_without_a_key_is_quarantined(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_merge2", write_mode="merge", merge_key=["id", "name"])
    assert _run(pipeline).status == RunStatus.SUCCESS
    run = _run(pipeline, file_path=_file(tmp_path, "more.csv",
                                         "id,name,amount\n1,alpha,100.5\n1,other,7.5\n,nobody,9.5\n"))
    assert run.status == RunStatus.SUCCESS, run.error_message
    assert (run.execution_context["rows_quarantined"], run.execution_context["write"]["rows_replaced"]) == (1, 1)
    assert _rows(clickhouse, "wm_merge2") == [(1, "alpha", 100.5), (1, "other", 7.5), (2, "beta", 2.5),
                                              (3, "gamma", 3.5), (4, "delta", 4.5)]


def test_merge_key_missing_from_the_source_fails_the_run(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_merge_nokey", write_mode="merge", merge_key=["order_id"])
    run = _run(pipeline)
    assert run.status == RunStatus.FAILED
    assert "order_id" in run.error_message
    assert "wm_merge_nokey" not in [r[0] for r in clickhouse.query("SHOW TABLES").result_rows]


@pytest.mark.parametrize(("config", "message"), [
    ({"write_mode": "merge"}, "merge_key: write_mode merge needs the columns that identify a row"),
    ({"write_mode": "merge", "merge_key": []}, "merge_key must be a non-empty list of column names."),
    ({"write_mode": "merge", "merge_key": ["_row_number"]}, "merge_key: _row_number is a column the loader adds"),
    ({"write_mode": "upsert"}, "write_mode must be one of append, replace, merge; got \"upsert\"."),
    ({"write_mode": "replace", "merge_key": ["id"]}, "merge_key applies to write_mode merge only"),
])
def test_write_mode_configuration_errors_are_field_errors(config, message):
    pipeline = PipelineFactory.build(data_source=DataSourceFactory(), configuration=config)
    with pytest.raises(ValidationError) as info:
        pipeline.full_clean()
    assert any(text.startswith(message) for text in info.value.message_dict["configuration"]), info.value


def test_the_api_answers_a_merge_without_key_with_a_field_error(admin_client):
    source = DataSourceFactory()
    response = admin_client.post("/api/v1/pipelines/", {"name": "merge without key", "data_source": source.pk,
                                                        "configuration": {"write_mode": "merge"}},
                                 content_type="application/json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["configuration"]
    assert fields["configuration"][0].startswith("merge_key: write_mode merge needs the columns"), fields


def test_a_merge_key_the_existing_table_lacks_is_a_field_error(clickhouse, tmp_path):
    pipeline = _pipeline(tmp_path, "wm_existing")
    assert _run(pipeline).status == RunStatus.SUCCESS
    pipeline.configuration = {**pipeline.configuration, "write_mode": "merge", "merge_key": ["order_id"]}
    with pytest.raises(ValidationError) as info:
        pipeline.full_clean()
    assert info.value.message_dict["configuration"] == [
        "merge_key: the target table wm_existing has no column order_id (its columns: id, name, amount)."]
    pipeline.configuration["merge_key"] = ["id"]
    pipeline.full_clean()


@pytest.fixture
def eager(monkeypatch):
    """Parts and the commit of a split run run inside this process, one after the other."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def _big(first_id: int, count: int, label: str) -> str:
    return "id,name,amount\n" + "".join(f"{i},{label}{i},{i}.5\n" for i in range(first_id, first_id + count))


def test_split_runs_replace_and_merge(clickhouse, tmp_path, eager):
    for mode in ("replace", "merge"):
        table = f"wm_split_{mode}"
        config = {"write_mode": mode, "parallelism": {"parts": 2}}
        if mode == "merge":
            config["merge_key"] = ["id"]
        pipeline = _pipeline(tmp_path, table, **config)
        first = _run(pipeline, batch_rows=50, file_path=_file(tmp_path, f"{mode}1.csv", _big(1, 300, "a")))
        assert first.status == RunStatus.SUCCESS, first.error_message
        # ids 201..500, and ids 201..250 once more at the end (in the second part): the last ones win.
        text = _big(201, 300, "b") + _big(201, 50, "c").split("\n", 1)[1]
        second = _run(pipeline, batch_rows=50, file_path=_file(tmp_path, f"{mode}2.csv", text))
        assert second.status == RunStatus.SUCCESS, second.error_message
        ctx = second.execution_context
        assert ctx["split"]["parts"] == 2 and sorted(ctx["parts"]) == ["0", "1"]
        assert _reconciles(ctx)
        names = dict(clickhouse.query(f"SELECT id, name FROM `{table}`").result_rows)
        count = clickhouse.command(f"SELECT count() FROM `{table}`")
        if mode == "replace":
            assert ctx["write"]["rows_replaced"] == 300 and ctx["rows_loaded"] == 350
            assert count == 350 and min(names) == 201
        else:
            assert ctx["rows_removed"] == {"merge_key_repeats": 50} and ctx["rows_loaded"] == 300
            assert ctx["write"]["rows_replaced"] == 100  # ids 201..300 were there
            assert count == 500 and len(names) == 500
            assert names[1] == "a1" and names[201] == "c201" and names[260] == "b260" and names[500] == "b500"
    assert _leftovers(clickhouse) == []


def test_replay_respects_the_write_mode(clickhouse, tmp_path):
    from pipelines.engine.errors import RunError
    from pipelines.engine.replay import quarantine_replay
    from staging.quarantine import QuarantinedRow

    bad = "id,name,amount\n1,alpha,1.5\n2,beta,not-a-number\n"
    pipeline = _pipeline(tmp_path, "wm_replay", write_mode="replace",
                         validation_rules={"data_types": {"amount": "float"}, "max_failed_ratio": 0.9})
    first = _run(pipeline, file_path=_file(tmp_path, "bad1.csv", bad))
    second = _run(pipeline, file_path=_file(tmp_path, "bad2.csv", bad.replace("alpha", "alpha2")))
    assert (first.status, second.status) == (RunStatus.SUCCESS, RunStatus.SUCCESS)
    QuarantinedRow.objects.update(status="corrected", corrected_value="2.5")
    with pytest.raises(RunError, match=f"Run {second.pk} replaced the table's content"):
        quarantine_replay(run=first)
    assert quarantine_replay(run=second).replayed == 1  # the table's current content: the row joins it
    assert _rows(clickhouse, "wm_replay") == [(1, "alpha2", 1.5), (2, "beta", 2.5)]

    merged = _pipeline(tmp_path, "wm_replay_merge", write_mode="merge", merge_key=["id"],
                       validation_rules={"data_types": {"amount": "float"}, "max_failed_ratio": 0.9})
    run = _run(merged, file_path=_file(tmp_path, "bad3.csv", bad))
    QuarantinedRow.objects.filter(pipeline_run_id=run.pk).update(status="corrected", corrected_value="2.5")
    with pytest.raises(RunError, match="merged on a key cannot be replayed"):
        quarantine_replay(run=run)


def test_a_merge_that_fails_between_attach_and_delete_loses_no_key(clickhouse, tmp_path, monkeypatch):
    from analytics import write_modes

    pipeline = _pipeline(tmp_path, "wm_merge_fault", write_mode="merge", merge_key=["id"])
    assert _run(pipeline).status == RunStatus.SUCCESS
    real = write_modes.older_versions_delete

    def temp_table_gone(target, **kwargs):  # a real ClickHouse failure: the key subquery's table is missing
        target.command(f"DROP TABLE `{kwargs['temp_table']}`")
        return real(target, **kwargs)

    monkeypatch.setattr(write_modes, "older_versions_delete", temp_table_gone)
    second = _file(tmp_path, "second.csv", SECOND)
    failed = _run(pipeline, file_path=second)
    assert failed.status == RunStatus.FAILED
    assert sorted(dict(clickhouse.query("SELECT id, count() FROM wm_merge_fault GROUP BY id").result_rows)) == \
        [1, 2, 3, 4, 5]  # every key still has a row (2 and 3 have two for now)
    monkeypatch.undo()
    assert _run(pipeline, file_path=second).status == RunStatus.SUCCESS  # the next merge settles the keys
    assert _rows(clickhouse, "wm_merge_fault") == [(1, "alpha", 1.5), (2, "beta-new", 21.5),
                                                   (3, "gamma-new", 30.5), (4, "delta", 4.5), (5, "epsilon", 5.5)]
    assert _leftovers(clickhouse) == []
