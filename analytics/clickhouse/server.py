"""The embedded ClickHouse: one long-lived process that owns chDB's data directory and serves ClickHouse's HTTP
interface to every other process of the machine (web, workers, beat, manage.py), which use clickhouse-connect
exactly as they would with a ClickHouse server::

    python -m analytics.clickhouse.server --data-dir DIR --host 127.0.0.1 --port PORT --password-file FILE

``--port 0`` picks a free port. The password of user ``default`` is generated into FILE (mode 0600) when FILE does
not exist and checked on every request (HTTP basic auth, X-ClickHouse-User/X-ClickHouse-Key, or the ``user`` and
``password`` URL arguments). Once it answers, the process prints exactly one line, ``LISTENING <port>``, to stdout;
SIGTERM or SIGINT stops it cleanly (requests in progress get a grace period, then are cut off; chDB is closed;
exit status 0). It logs one line per request to stderr: method, statement kind, status, time, bytes; never the
SQL, its parameters, its data or the password.

``command_line(settings.TARGET_CLICKHOUSE)`` is the command a launcher runs for the embedded target (the one
whose ``EMBEDDED`` is true, see etlsite/databases.py); ``serve()`` and ``start()`` are the same in Python.

What is served, as ClickHouse does it: the query is the ``query`` URL argument followed by the POST body (or a
multipart form's fields, which clickhouse-connect uses for long parameters); a trailing ``FORMAT X`` picks the
output format; ``param_<name>`` arguments bind ``{name:Type}`` parameters; ``database`` selects the database;
other arguments are settings for this request only; ``INSERT ... FORMAT X`` plus data (chunked or not) is
spooled to a file beside the data directory and read with ``FROM INFILE``; SELECT results stream out in
chunks as chDB produces them; errors are a non-200 status with ``X-ClickHouse-Exception-Code`` and ClickHouse's
message as the body; GET ``/ping`` and ``/`` answer ``Ok.`` without a password, like a server.

Limits: one machine (it binds to a loopback address unless told otherwise); no compression (clients use
``compress=False``); no sessions (``session_id`` is ignored); no external data; no progress headers.

The HTTP side is server_http.py, the chDB side chdb_sessions.py; chDB is used nowhere else in the product.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

from analytics.clickhouse.server_http import Server

logger = logging.getLogger("analytics.clickhouse.server")


def check_host(host: str, allow_remote: bool = False) -> None:
    """Refuse to listen beyond this machine unless asked to: the password is the only protection."""
    if allow_remote:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"refusing to listen on {host!r}: not a loopback address (pass --allow-remote to insist)")


def start(data_dir: str, host: str = "127.0.0.1", port: int = 0, password: str = "", *,
          allow_remote: bool = False) -> Server:
    """Serve in a background thread of this process; `server.port` is the port, `server.stop()` stops it."""
    check_host(host, allow_remote)
    server = Server(str(data_dir), host, port, password)
    threading.Thread(target=server.serve_forever, name="embedded-clickhouse", daemon=True).start()
    _wait_until_answering(host, server.port)
    return server


def serve(data_dir: str, host: str = "127.0.0.1", port: int = 0, password: str = "", *,
          allow_remote: bool = False, on_ready=None) -> None:
    """Serve until SIGTERM or SIGINT (call from the main thread); `on_ready(port)` once it answers."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = start(data_dir, host, port, password, allow_remote=allow_remote)
    logger.info("serving %s on %s:%d", data_dir, host, server.port)
    if on_ready:
        on_ready(server.port)
    while not stop.wait(1):
        pass
    logger.info("stopping")
    server.stop()


def _wait_until_answering(host: str, port: int) -> None:
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/ping"
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the embedded ClickHouse does not answer on {url}")


def read_or_create_password(path: str | Path) -> str:
    """The password in `path`; generated into a new 0600 file when there is none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        password = secrets.token_urlsafe(32)
        f.write(password + "\n")
    return password


def command_line(config: dict) -> list[str]:
    """The command that serves the embedded target `config` (settings.TARGET_CLICKHOUSE with EMBEDDED true)."""
    return [sys.executable, "-m", "analytics.clickhouse.server", "--data-dir", str(config["DATA_DIR"]),
            "--host", str(config["HOST"]), "--port", str(config["PORT"]),
            "--password-file", str(config["PASSWORD_FILE"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="chDB data directory (created if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (a loopback address)")
    parser.add_argument("--port", type=int, default=8123, help="TCP port (0: any free port)")
    parser.add_argument("--password-file", required=True, help="password of user default (generated if missing)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    parser.add_argument("--log-level", default="INFO", help="INFO logs each request; WARNING only problems")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=opts.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s embedded-clickhouse %(levelname)s %(message)s")
    try:
        check_host(opts.host, opts.allow_remote)
        password = read_or_create_password(opts.password_file)
        serve(opts.data_dir, opts.host, opts.port, password, allow_remote=opts.allow_remote,
              on_ready=lambda port: print(f"LISTENING {port}", flush=True))
    except Exception as exc:  # a start that fails says why, in one line
        logger.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
