"""The same file twice is loaded once (unless asked); `load_demo` loads once per database; an interrupted
`run_pipeline --sync` leaves nothing behind; the watchdog drops a dead run's staged rows."""

import hashlib
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connections

from pipelines.demo import PIPELINE_NAME
from pipelines.engine.runner import run_abandoned_cleanup, run_execute
from pipelines.models import Pipeline, PipelineRun, RunStatus
from pipelines.services import run_claim, run_create, run_rerun
from staging.models import StagingTable
from staging.writer import StagingWriter
from tests.factories import DataSourceFactory, PipelineFactory
from tests.pipelines.test_worker_beat import ROOT, _settings_module

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


def _run(pipeline, **context):
    run = run_create(pipeline=pipeline, triggered_by="test", execution_context=context)
    assert run_claim(run=run)
    return run_execute(run=run)


def _pipeline(tmp_path, rows: int = 4, name: str = "orders"):
    path = tmp_path / f"{name}.csv"
    path.write_text("id,amount\n" + "".join(f"{i},{i * 1.5}\n" for i in range(rows)))
    source = DataSourceFactory(source_type="file", connection_config={"file_path": str(path)})
    return PipelineFactory(name=name, data_source=source, configuration={"target": {"table": name}}), path


def test_the_same_file_twice_is_loaded_once_unless_asked(clickhouse, tmp_path):
    pipeline, path = _pipeline(tmp_path)
    first = _run(pipeline)
    assert first.status == RunStatus.SUCCESS
    second = _run(pipeline)
    assert second.status == RunStatus.CANCELLED and second.execution_context["step"] == "skipped"
    assert second.error_message == (f"This file was already loaded by run {first.pk} (the same SHA-256); nothing "
                                    "was loaded. Load it again to load a second copy.")
    assert clickhouse.rows("SELECT count() AS n FROM orders") == [{"n": 4}]
    again = _run(pipeline, load_again=True)
    assert again.status == RunStatus.SUCCESS
    assert clickhouse.rows("SELECT count() AS n FROM orders") == [{"n": 8}]
    path.write_text(path.read_text() + "4,6.0\n")  # new bytes: loaded
    assert _run(pipeline).status == RunStatus.SUCCESS
    assert clickhouse.rows("SELECT count() AS n FROM orders") == [{"n": 13}]


def test_a_file_loaded_again_is_still_recognised_by_the_next_run(clickhouse, tmp_path):
    """A run told to load again takes the file's digest beside the read: it is recorded all the same, so the
    next run of the same bytes is skipped as a repeat of it."""
    pipeline, path = _pipeline(tmp_path)
    again = _run(pipeline, load_again=True)
    assert again.status == RunStatus.SUCCESS
    assert again.execution_context["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    repeat = _run(pipeline)
    assert repeat.status == RunStatus.CANCELLED and f"already loaded by run {again.pk}" in repeat.error_message


def test_a_rerun_and_the_api_may_load_it_again(clickhouse, tmp_path, admin_client):
    pipeline, _path = _pipeline(tmp_path)
    first = _run(pipeline)
    rerun = run_rerun(run=first, triggered_by="test")
    assert rerun.execution_context["load_again"] is True
    response = admin_client.post("/api/v1/runs/", {"pipeline": pipeline.pk, "load_again": True},
                                 content_type="application/json")
    assert response.status_code == 201, response.content
    assert PipelineRun.objects.get(pk=response.json()["id"]).execution_context["load_again"] is True


def test_run_pipeline_says_it_skipped_and_exits_zero(clickhouse, tmp_path):
    pipeline, _path = _pipeline(tmp_path)
    call_command("run_pipeline", str(pipeline.pk), "--sync", stdout=io.StringIO())
    out = io.StringIO()
    call_command("run_pipeline", str(pipeline.pk), "--sync", stdout=out)
    assert "was already loaded by run" in out.getvalue()
    call_command("run_pipeline", str(pipeline.pk), "--sync", "--load-again", stdout=io.StringIO())
    assert list(pipeline.runs.order_by("pk").values_list("status", flat=True)) == [
        RunStatus.SUCCESS, RunStatus.CANCELLED, RunStatus.SUCCESS]


def test_load_demo_loads_once_per_database(clickhouse, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", "--rows", "300", stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_demo", "--rows", "300", stdout=out)
    assert "The demo was loaded already" in out.getvalue()
    pipeline = Pipeline.objects.get(name=PIPELINE_NAME)
    assert pipeline.runs.count() == 1
    assert clickhouse.rows("SELECT uniqExact(_pipeline_run_id) AS runs FROM sales_processing") == [{"runs": 1}]


def test_the_watchdog_drops_a_dead_runs_staged_rows(clickhouse, tmp_path):
    import pyarrow as pa

    pipeline, _path = _pipeline(tmp_path)
    run = run_create(pipeline=pipeline, triggered_by="test")
    writer = StagingWriter.create(table_name=f"stg_run_{run.pk}", schema=pa.schema([("a", pa.string())]),
                                  pipeline_run_id=run.pk, source_type="csv", source_config={},
                                  expires_in=__import__("datetime").timedelta(days=7))
    writer.finish()
    run_abandoned_cleanup(run=run)
    assert not StagingTable.objects.filter(pipeline_run_id=run.pk, is_active=True).exists()
    with connections["staging"].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"stg_run_{run.pk}"])
        assert cursor.fetchone()[0] is None


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_sync_run_is_cancelled_and_leaves_nothing(clickhouse, tmp_path, settings, how):
    pipeline, _path = _pipeline(tmp_path, rows=600_000, name="big_orders")
    base = _settings_module(tmp_path, settings.TARGET_CLICKHOUSE)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": base, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
           "ETL_VAR_DIR": str(tmp_path / "var"), "ETL_ENV_FILE": str(tmp_path / "no.env")}
    process = subprocess.Popen([sys.executable, "manage.py", "run_pipeline", str(pipeline.pk), "--sync",
                                "--batch-rows", "5000"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:  # interrupt it mid-load, once rows are staged
        run = PipelineRun.objects.filter(pipeline=pipeline).first()
        if run is not None and (run.execution_context or {}).get("rows_read", 0) > 0:
            break
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(how)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err and f"Run {run.pk} was interrupted and cancelled" in err
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not StagingTable.objects.filter(pipeline_run_id=run.pk, is_active=True).exists()
    assert clickhouse.rows("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() "
                           "AND name LIKE '%load%'") == [{"n": 0}]
    rows = clickhouse.rows("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND "
                           "name = 'big_orders'")
    if rows[0]["n"]:
        assert clickhouse.rows("SELECT count() AS n FROM big_orders") == [{"n": 0}]
    # The pipeline is free: the next run starts at once.
    assert run_claim(run=run_create(pipeline=pipeline, triggered_by="test"))


def test_a_skipped_run_offers_to_load_it_again_on_its_page(clickhouse, tmp_path, admin_client, client):
    pipeline, _path = _pipeline(tmp_path)
    _run(pipeline)
    skipped = _run(pipeline)
    page = admin_client.get(f"/runs/{skipped.pk}/").content.decode()
    button = f'action="/runs/{skipped.pk}/load-again/"'
    assert 'id="run-skipped" class="warn"' in page and button in page  # not an error in red
    response = admin_client.post(f"/runs/{skipped.pk}/load-again/")
    again = PipelineRun.objects.exclude(pk__in=[skipped.pk]).order_by("-pk").first()
    assert response.status_code == 302 and response.url == f"/runs/{again.pk}/"
    assert again.execution_context["load_again"] is True and again.execution_context["rerun_of"] == skipped.pk
    # Only a skipped run: asking on the first (successful) run changes nothing.
    first = PipelineRun.objects.filter(pipeline=pipeline).order_by("pk").first()
    count = PipelineRun.objects.count()
    assert admin_client.post(f"/runs/{first.pk}/load-again/").status_code == 302
    assert PipelineRun.objects.count() == count
    # Without the permission to start runs: no button, and the POST is refused.
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_pipelinerun"))
    client.force_login(viewer)
    assert button not in client.get(f"/runs/{skipped.pk}/").content.decode()
    assert client.post(f"/runs/{skipped.pk}/load-again/").status_code == 403
