"""The embedded stack's launcher (`manage.py stack`, etlsite/stack.py) on a var/ folder of the test's own:
start, status, a second start that reuses the running servers, stop, a restart that finds its data again,
and starts that fail saying which server and why."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest
import redis

from etlsite import stack

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ("METADATA_POSTGRES_", "STAGING_POSTGRES_", "TARGET_CLICKHOUSE_", "CELERY_BROKER_URL")


@pytest.fixture
def var():
    """A var/ folder of the test's own, with a short path (Unix sockets live under it) outside pytest's base
    folder (which every new pytest session makes 0700 again, while the embedded cluster runs as its own user
    when the tests run as root); every server started there is stopped, and the folder removed, after it."""
    folder = Path(tempfile.mkdtemp(prefix="etl-stack-"))
    yield folder
    subprocess.run(_command("stop"), env=_env(folder), cwd=ROOT, capture_output=True, timeout=120)
    shutil.rmtree(folder, ignore_errors=True)


def _env(var: Path) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(EXTERNAL)}
    return {**clean, "ETL_VAR_DIR": str(var), "ETL_ENV_FILE": str(var / "none.env"),
            "DJANGO_SETTINGS_MODULE": "etlsite.settings", "ETL_EMBEDDED_CLICKHOUSE_PORT": str(_port_for(var))}


_PORTS: dict[Path, int] = {}


def _port_for(var: Path) -> int:
    """A free port for this folder's ClickHouse process, the same for every command on it (not `make run`'s)."""
    if var not in _PORTS:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            _PORTS[var] = sock.getsockname()[1]
    return _PORTS[var]


def _command(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "stack", *args]


def _stack(var: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(_command(*args), env=_env(var), cwd=ROOT, capture_output=True, text=True, timeout=180)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _status(var: Path) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in _stack(var, "status").stdout.splitlines() if line.strip()}


def _pg(var: Path, database="etl_metadata", user="metadata_user"):
    connection = psycopg2.connect(host=str(var / "postgres"), port=5432, user=user, dbname=database)
    connection.autocommit = True
    return connection


def _valkey(var: Path):
    return redis.Redis(unix_socket_path=str(var / "valkey" / "valkey.sock"))


def test_start_status_reuse_stop_and_restart_keeps_the_data(var):
    started = _stack(var, "start")
    assert "Started: postgres, valkey" in started.stdout
    status = _status(var)
    assert status["postgres"][0] == "running" and str(var / "postgres") in " ".join(status["postgres"])
    assert status["valkey"][0] == "running" and str(var / "valkey" / "valkey.sock") in " ".join(status["valkey"])
    pid = status["postgres"][2].rstrip(",")

    # Both databases, each owned by its role, in one cluster; the roles may create (test) databases.
    with _pg(var) as metadata, metadata.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (v text)")
        cursor.execute("INSERT INTO kept VALUES ('a row')")
        cursor.execute("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True,)
    with _pg(var, "etl_staging", "staging_user") as staging, staging.cursor() as cursor:
        cursor.execute("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'etl_staging'")
        assert cursor.fetchone() == ("staging_user",)
    _valkey(var).set("kept", "a value")

    again = _stack(var, "start")
    assert "Started: none (all running)" in again.stdout
    assert _status(var)["postgres"][2].rstrip(",") == pid, "a second start must reuse the running cluster"

    assert "Stopped: clickhouse, valkey, postgres" in _stack(var, "stop").stdout
    assert [state[0] for state in _status(var).values()][:2] == ["stopped", "stopped"]
    with pytest.raises(psycopg2.OperationalError):
        _pg(var)

    _stack(var, "start")
    with _pg(var) as metadata, metadata.cursor() as cursor:
        cursor.execute("SELECT v FROM kept")
        assert cursor.fetchall() == [("a row",)]
    assert _valkey(var).get("kept") == b"a value"  # from the append-only file
    assert len(list(var.glob("*/PG_VERSION"))) == 1, "one cluster"


def test_wait_reports_what_does_not_answer(var):
    result = _stack(var, "wait", "--timeout", "0.5", ok=False)
    assert result.returncode != 0
    assert "Not answering after 0.5 s: postgres, valkey" in result.stderr


def test_a_corrupt_cluster_says_postgres_and_why(var):
    _stack(var, "start", "postgres")
    _stack(var, "stop")
    (var / "postgres" / "PG_VERSION").write_text("9\n")
    result = _stack(var, "start", ok=False)
    assert result.returncode != 0
    assert "postgres did not start: pg_ctl exited with status 1." in result.stderr
    assert f"Last lines of {var / 'postgres' / 'log'}:" in result.stderr
    assert "incompatible with server" in result.stderr  # PostgreSQL's own reason, from its log


def test_an_occupied_socket_says_valkey_and_why(var):
    path = var / "valkey" / "valkey.sock"
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as squatter:
        squatter.bind(str(path))
        squatter.listen(1)
        result = _stack(var, "start", "valkey", ok=False)
    assert result.returncode != 0
    assert f"valkey did not start: another program listens on {path}." in result.stderr


def test_a_broken_append_only_file_says_valkey_and_why_and_stops_what_it_started(var):
    _stack(var, "start", "valkey")
    _stack(var, "stop")
    manifest = next((var / "valkey").glob("appendonlydir/*.manifest"))
    manifest.write_text("this is not a manifest\n")
    result = _stack(var, "start", ok=False)
    assert result.returncode != 0
    assert "valkey did not start: valkey-server exited while starting." in result.stderr
    assert "manifest" in result.stderr.lower()  # Valkey's own reason, from its log
    status = _status(var)
    assert status["postgres"][0] == "stopped", "the start stops what it had started before the failure"


# --- the ClickHouse process, against a stand-in until analytics.clickhouse.server is wired in ---------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_clickhouse_process_is_started_detached_and_stopped(tmp_path):
    """The product's ClickHouse process (analytics.clickhouse.server): started in a session of its own, its
    password generated into PASSWORD_FILE, answering queries with it, stopped by SIGTERM."""
    import clickhouse_connect

    port = _free_port()
    piece = stack.ClickHouse(tmp_path, {"EMBEDDED": True, "HOST": "127.0.0.1", "PORT": port,
                                        "DATA_DIR": tmp_path / "clickhouse" / "data",
                                        "PASSWORD_FILE": tmp_path / "clickhouse" / "password"})
    assert piece.enabled and not piece.running()
    piece.start()
    try:
        assert piece.running()
        pid = int(piece.pidfile.read_text().split()[0])
        assert os.getpgid(pid) == pid, "in a session of its own: a Ctrl+C meant for the caller does not reach it"
        password = (tmp_path / "clickhouse" / "password").read_text().strip()
        client = clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default", password=password,
                                               compress=False)
        assert client.command("SELECT 40 + 2") == 42
        client.close()
    finally:
        piece.stop()
    assert not piece.running() and not piece.pidfile.exists()


def test_a_clickhouse_process_that_exits_at_once_says_clickhouse_and_why(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "clickhouse_command", lambda config: [
        sys.executable, "-c", "import sys; sys.exit('cannot open the data folder')"])
    piece = stack.ClickHouse(tmp_path, {"EMBEDDED": True, "HOST": "127.0.0.1", "PORT": _free_port()})
    with pytest.raises(stack.StackError) as caught:
        piece.start()
    message = str(caught.value)
    assert message.startswith("clickhouse did not start: the process exited with status 1 while starting.")
    assert "cannot open the data folder" in message
