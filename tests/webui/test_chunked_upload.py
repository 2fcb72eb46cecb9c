"""Resumable chunked uploads through the JSON endpoints: limits with clear messages, resume, finish."""

import pytest
from django.urls import reverse

from staging.models import FileMetadata
from webui import chunked

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

CONTENT = b"date,amount,product_id\n" + b"".join(b"2024-01-%02d,%d.5,%d\n" % (d, d, d) for d in range(1, 29))
SIZE = len(CONTENT)


def _open(client, name="sales.csv", size=SIZE, modified=1700000000000):
    return client.post(reverse("webui:upload-session"), {"name": name, "size": size, "modified": modified,
                                                        "client_id": "browser-1"}, content_type="application/json")


def _put(client, url, offset, data):
    return client.put(url, data, content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET=str(offset))


def test_an_interrupted_upload_resumes_from_the_bytes_the_server_has(client, uploader, settings):
    settings.ETL_UPLOAD_CHUNK_BYTES = 100
    session = _open(client).json()
    assert session["received"] == 0
    assert _put(client, session["chunk_url"], 0, CONTENT[:100]).json() == {"received": 100}
    # The browser is closed; the same file chosen again finds the same session and goes on from byte 100.
    again = _open(client).json()
    assert (again["key"], again["received"]) == (session["key"], 100)
    # A chunk for the wrong offset is refused with the offset to continue from.
    stale = _put(client, again["chunk_url"], 0, CONTENT[:100])
    assert stale.status_code == 409 and stale.json()["received"] == 100
    offset = 100
    while offset < len(CONTENT):
        offset = _put(client, again["chunk_url"], offset, CONTENT[offset:offset + 100]).json()["received"]
    done = client.post(again["finish_url"]).json()
    record = FileMetadata.objects.get(pk=done["file_id"])
    assert (record.original_filename, record.file_size, record.uploaded_by) == ("sales.csv", len(CONTENT), "uploader")
    assert open(record.file_path, "rb").read() == CONTENT
    assert not (chunked.sessions_dir() / session["key"]).exists(), "the session is removed once registered"


def test_another_user_or_another_file_gets_its_own_session(client, uploader):
    first = _open(client).json()["key"]
    assert _open(client, modified=1700000000001).json()["key"] != first
    assert _open(client, name="other.csv").json()["key"] != first


def test_size_and_type_limits_are_refused_before_any_byte_is_sent(client, uploader, settings):
    settings.ETL_UPLOAD_MAX_BYTES = 1000
    too_big = _open(client, size=5000)
    assert too_big.status_code == 400
    assert "is 4.9\xa0KB, larger than the limit of 1,000\xa0B" in too_big.json()["error"]
    exe = _open(client, name="tool.exe")
    assert exe.status_code == 400 and "this type of file cannot be loaded" in exe.json()["error"]
    assert "is empty" in _open(client, size=0).json()["error"]


def test_a_chunk_larger_than_the_chunk_size_or_the_file_is_refused(client, uploader, settings):
    settings.ETL_UPLOAD_CHUNK_BYTES = 10
    session = _open(client, size=15).json()
    assert _put(client, session["chunk_url"], 0, b"x" * 11).status_code == 413
    assert _put(client, session["chunk_url"], 0, b"x" * 10).json() == {"received": 10}
    assert "more bytes than the file's size" in _put(client, session["chunk_url"], 10, b"x" * 10).json()["error"]
    unfinished = client.post(session["finish_url"])
    assert unfinished.status_code == 400 and "not complete: 10 of 15 bytes" in unfinished.json()["error"]
    assert FileMetadata.objects.count() == 0


def test_the_same_content_twice_is_flagged_as_a_duplicate(client, uploader):
    keys = []
    for modified in (1, 2):
        session = _open(client, modified=modified).json()
        _put(client, session["chunk_url"], 0, CONTENT)
        keys.append(client.post(session["finish_url"]).json())
    assert keys[0]["duplicate_of"] is None
    assert keys[1]["duplicate_of"]["id"] == keys[0]["file_id"]


def test_uploading_needs_the_permission_and_a_login(client, django_user_model):
    assert _open(client).status_code == 401
    from tests.webui.conftest import user_with

    client.force_login(user_with(django_user_model, "viewer", "pipelines.view_pipeline"))
    denied = _open(client)
    assert denied.status_code == 403 and "permission" in denied.json()["error"]


@pytest.mark.parametrize("key", ["0" * 40, "A" * 40, "..."])
def test_unknown_or_malformed_sessions_are_refused_clearly(client, uploader, key):
    response = _put(client, f"/upload/sessions/{key}/", 0, b"x")
    assert response.status_code == 400 and "Unknown upload session" in response.json()["error"]


def test_abandoned_sessions_are_removed_and_recent_ones_kept(client, uploader, settings):
    import os
    import time

    from webui.tasks import upload_sessions_expire_task

    settings.ETL_UPLOAD_CHUNK_BYTES = 100
    settings.ETL_UPLOAD_SESSION_HOURS = 24
    old = _open(client, name="old.csv").json()
    _put(client, old["chunk_url"], 0, CONTENT[:100])
    recent = _open(client, name="recent.csv").json()
    _put(client, recent["chunk_url"], 0, CONTENT[:100])
    two_days_ago = time.time() - 48 * 3600
    for path in (chunked.sessions_dir() / old["key"]).iterdir():
        os.utime(path, (two_days_ago, two_days_ago))

    assert upload_sessions_expire_task() == "1 abandoned upload sessions removed"

    assert not (chunked.sessions_dir() / old["key"]).exists()
    assert (chunked.sessions_dir() / recent["key"] / "data").stat().st_size == 100
    # The abandoned upload's browser comes back: it starts again from byte 0 instead of failing.
    assert _open(client, name="old.csv").json()["received"] == 0
