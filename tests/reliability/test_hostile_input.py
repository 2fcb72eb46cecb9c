"""Every file of the hostile corpus, through `manage.py run_pipeline` and through the upload API: a correct load
or a failed run / refused upload with the specific message of tests/data/hostile/manifest.yaml, never a server
error, and no rows of a failed run left in staging or in ClickHouse. The biggest cases also run in a process of
their own, whose peak memory is bounded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from etlsite.identifiers import sanitize_columns
from pipelines.models import PipelineRun
from pipelines.targets import target_table_name
from pipelines.tasks import run_pipeline_task
from staging.models import FileMetadata
from staging.uploads import uploads_dir
from tests.api.conftest import client_for, error_of, make_user
from tests.factories import DataSourceFactory, PipelineFactory
from tests.reliability.hostile import CASES, CORPUS, TEST_MAX_BYTES, assert_outcome, case_id, case_path
from tests.reliability.hostile_generate import generate
from tests.support.clickhouse import clickhouse_env

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

ROOT = Path(__file__).resolve().parents[2]
SPECTRUM = CORPUS / "csv-spectrum"
RUN_TIMEOUT_SECONDS = 300
MAX_RSS_BYTES = 1024**3


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(autouse=True)
def _limits(settings, tmp_path):
    settings.ETL_FILE_MAX_BYTES = TEST_MAX_BYTES
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pipeline():
    source = DataSourceFactory(name="hostile files", connection_config={"file_path": str(CORPUS / "ok_reference.csv")})
    return PipelineFactory(name="hostile", data_source=source, configuration=HOSTILE_CONFIGURATION, schedule_cron="")


def _last_run(pipeline) -> PipelineRun:
    return PipelineRun.objects.filter(pipeline=pipeline).latest("pk")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_run_pipeline_command(case, pipeline, clickhouse, generated):
    path = case_path(case, generated)
    try:
        call_command("run_pipeline", pipeline.name, file=str(path), sync=True, verbosity=0)
    except CommandError as error:
        assert "error" in case, str(error)
        assert case["error"] in str(error)
    else:
        assert "load" in case, f"{case_id(case)} loaded, but the manifest expects: {case.get('error')}"
    assert_outcome(case, _last_run(pipeline), clickhouse)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_upload_api(case, pipeline, clickhouse, generated):
    api = client_for(make_user("uploader", superuser=True))
    path = case_path(case, generated)
    name = case.get("upload_as", path.name)
    files_before = FileMetadata.objects.count()
    response = api.post("/api/v1/files/", {"file": SimpleUploadedFile(name, path.read_bytes()),
                                           "pipeline": pipeline.pk}, format="multipart")
    assert response.status_code < 500
    if "upload_error" in case:
        assert response.status_code == 400, response.json()
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert any(case["upload_error"] in message for message in error["fields"]["file"]), error
        assert FileMetadata.objects.count() == files_before
        assert not PipelineRun.objects.filter(pipeline=pipeline).exists()
        assert not [p for p in uploads_dir().rglob("*") if p.is_file()]  # nothing stored, not even a temporary
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    stored = FileMetadata.objects.get(pk=body["file"]["id"])
    assert Path(stored.file_path).resolve().is_relative_to(uploads_dir().resolve())
    assert "/" not in stored.filename and ".." not in stored.filename
    # What a worker does with the run the upload queued (the task itself, executed here).
    run_pipeline_task.apply(args=[body["run"]["id"]])
    run = PipelineRun.objects.get(pk=body["run"]["id"])
    assert_outcome(case, run, clickhouse)
    detail = api.get(f"/api/v1/runs/{run.pk}/")
    assert detail.status_code == 200 and detail.json()["status"] == run.status


# --- csv-spectrum: each parse equals the package's expected JSON ---------------------------------------------

SPECTRUM_CASES = sorted(p.stem for p in (SPECTRUM / "csvs").glob("*.csv"))
# Known mistakes of csv-spectrum 2.0.0's expected parses, open upstream: location_coordinates.json is an object,
# not an array (max-mapper/csv-spectrum#22), and its phone number is not the CSV's (#20, fix in PR #23).
SPECTRUM_ERRATA = {"location_coordinates": {"Contact Phone Number": "2095257564"}}


def _spectrum_expected(name: str) -> list[dict]:
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text(encoding="utf-8"))
    expected = [expected] if isinstance(expected, dict) else expected
    return [{**row, **SPECTRUM_ERRATA.get(name, {})} for row in expected]


def _assert_spectrum_parse(name: str, run: PipelineRun, clickhouse) -> None:
    run.refresh_from_db()
    assert run.status == "success", run.error_message
    expected = _spectrum_expected(name)
    columns = list(expected[0])
    loaded = ", ".join(f"`{column}`" for column in sanitize_columns(columns))
    rows = clickhouse.query(
        f"SELECT {loaded} FROM `{target_table_name(run.pipeline)}` WHERE _pipeline_run_id = {{run:UInt64}} "
        "ORDER BY _row_number", {"run": run.pk}).result_rows
    # An empty unquoted field is NULL by design (docs/ENGINE.md); csv-spectrum, being JSON of strings, says "".
    got = [dict(zip(columns, ("" if value is None else value for value in row), strict=True)) for row in rows]
    assert got == expected


@pytest.mark.parametrize("name", SPECTRUM_CASES)
def test_csv_spectrum_run_pipeline(name, pipeline, clickhouse):
    call_command("run_pipeline", pipeline.name, file=str(SPECTRUM / "csvs" / f"{name}.csv"), sync=True,
                 verbosity=0)
    _assert_spectrum_parse(name, _last_run(pipeline), clickhouse)


@pytest.mark.parametrize("name", SPECTRUM_CASES)
def test_csv_spectrum_upload(name, pipeline, clickhouse):
    api = client_for(make_user("uploader", superuser=True))
    content = (SPECTRUM / "csvs" / f"{name}.csv").read_bytes()
    response = api.post("/api/v1/files/", {"file": SimpleUploadedFile(f"{name}.csv", content),
                                           "pipeline": pipeline.pk}, format="multipart")
    assert response.status_code == 201, response.json()
    run_pipeline_task.apply(args=[response.json()["run"]["id"]])
    _assert_spectrum_parse(name, PipelineRun.objects.get(pk=response.json()["run"]["id"]), clickhouse)


# --- the biggest cases in a process of their own: time and peak memory --------------------------------------

BIG_CASES = [case for case in CASES if case.get("big")]
# One pipeline reads every hostile file, each with columns of its own: an empty contract keeps them text (a
# contract inferred from the first file would cast the next files' same-named columns), and no NULL markers,
# so that each file's text is loaded as written and compared with what Python's csv module reads.
HOSTILE_CONFIGURATION = {"inferred": {"data_types": {}}, "null_values": []}


def _site_env(var_dir: Path, clickhouse: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_POSTGRES_HOST", "_CLICKHOUSE_HOST"))}
    env.update(ETL_VAR_DIR=str(var_dir), ETL_FILE_MAX_BYTES=str(TEST_MAX_BYTES), DJANGO_DEBUG="false",
               **clickhouse_env(clickhouse, "hostile_site"))
    return env


def _manage(env, *args, timeout=RUN_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def separate_site(clickhouse_server):
    """A site of its own (its embedded PostgreSQL under a temporary ETL_VAR_DIR, a ClickHouse database of its
    own on the tests' ClickHouse) with the `hostile` pipeline. The folder is outside pytest's base folder, which
    pytest keeps 0700: run as root, the embedded PostgreSQL runs as a user of its own that must reach it."""
    folder = Path(tempfile.mkdtemp(prefix="etl-hostile-"))
    env = _site_env(folder, clickhouse_server)
    done = _manage(env, "stack", "start", "postgres")
    assert done.returncode == 0, done.stderr
    try:
        yield from _site_ready(env)
    finally:
        _manage(env, "stack", "stop", "postgres")
        shutil.rmtree(folder, ignore_errors=True)


def _site_ready(env):
    done = _manage(env, "migrate_all")
    assert done.returncode == 0, done.stderr
    done = _manage(env, "shell", "-c", (
        "from sources.models import DataSource; from pipelines.models import Pipeline; "
        f"s = DataSource.objects.create(name='hostile', source_type='file', "
        f"connection_config={{'file_path': {str(CORPUS / 'ok_reference.csv')!r}}}); "
        f"Pipeline.objects.create(name='hostile', data_source=s, status='active', "
        f"configuration={HOSTILE_CONFIGURATION!r})"))
    assert done.returncode == 0, done.stderr
    yield env


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize("case", BIG_CASES, ids=case_id)
def test_big_case_in_bounded_memory(case, separate_site, generated, tmp_path):
    output = tmp_path / "output.txt"
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("peak_rss.py")), str(RUN_TIMEOUT_SECONDS), str(output), "--",
         sys.executable, "manage.py", "run_pipeline", "hostile", "--file", str(case_path(case, generated)),
         "--sync"], cwd=ROOT, env=separate_site, timeout=RUN_TIMEOUT_SECONDS + 60)
    text = output.read_text()
    assert done.returncode != 124, f"{case_id(case)} took longer than {RUN_TIMEOUT_SECONDS} s"
    peak = int(text.rsplit("MAXRSS ", 1)[1])
    print(f"{case_id(case)}: max RSS {peak / 1024**2:.0f} MiB")
    assert peak < MAX_RSS_BYTES
    if "load" in case:
        assert done.returncode == 0, text
    else:
        assert done.returncode == 1 and case["error"] in text, text
        assert "Traceback" not in text


# --- the upload page's resumable upload refuses the same files with the same messages -----------------------

REFUSED_CASES = [case for case in CASES if "upload_error" in case]


@pytest.mark.parametrize("case", REFUSED_CASES, ids=case_id)
def test_upload_page_refuses(case, admin_client, generated):
    from django.urls import reverse

    from webui import chunked

    content = case_path(case, generated).read_bytes()
    opened = admin_client.post(reverse("webui:upload-session"), {
        "name": case.get("upload_as", case_id(case)), "size": len(content), "modified": 1700000000000,
        "client_id": "hostile"}, content_type="application/json")
    if not content:  # refused before a byte is sent
        assert opened.status_code == 400 and case["upload_error"] in opened.json()["error"]
        return
    session = opened.json()
    sent = admin_client.put(session["chunk_url"], content, content_type="application/octet-stream",
                            HTTP_X_UPLOAD_OFFSET="0")
    assert sent.status_code == 200, sent.content
    finished = admin_client.post(session["finish_url"])
    assert finished.status_code == 400
    assert case["upload_error"] in finished.json()["error"]
    assert not FileMetadata.objects.exists()
    assert not (chunked.sessions_dir() / session["key"]).exists()
    assert not [p for p in uploads_dir().rglob("*") if p.is_file()]
