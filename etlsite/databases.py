"""Database settings built from the specification's environment variables.

A relational database is PostgreSQL when ``<PREFIX>_HOST`` is set and a SQLite file otherwise; the target
is a ClickHouse server when ``TARGET_CLICKHOUSE_HOST`` is set and the embedded ClickHouse process otherwise.
"""

from pathlib import Path

from etlsite.env import env


def relational(prefix: str, sqlite_path: Path, *, default_port: int, default_name: str) -> dict:
    host = env.str(f"{prefix}_HOST", default="")
    if host:
        name = env.str(f"{prefix}_DATABASE", default=default_name)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": host,
            "PORT": env.int(f"{prefix}_PORT", default=default_port),
            "USER": env.str(f"{prefix}_USER", default=""),
            "PASSWORD": env.str(f"{prefix}_PASSWORD", default=""),
            "NAME": name,
            "CONN_MAX_AGE": env.int(f"{prefix}_CONN_MAX_AGE", default=60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "sslmode": env.str(f"{prefix}_SSLMODE", default="prefer"),
                "application_name": "etl-system",
            },
            "TEST": {"NAME": f"test_{name}"},
        }
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(sqlite_path),
        "OPTIONS": {
            # Web, worker and beat processes share the file: WAL lets readers run beside one writer, and
            # IMMEDIATE transactions take the write lock up front instead of failing half-way with "locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
        "TEST": {"NAME": str(sqlite_path.with_name(f"test_{sqlite_path.name}"))},
    }


def clickhouse(var_dir: Path) -> dict:
    """The ClickHouse target: the server named by ``TARGET_CLICKHOUSE_HOST``, or else the embedded ClickHouse
    process (analytics/clickhouse/server.py) on 127.0.0.1, which a launcher starts from ``EMBEDDED``,
    ``DATA_DIR`` and ``PASSWORD_FILE`` (``server.command_line(settings.TARGET_CLICKHOUSE)``). Both are reached
    the same way, with clickhouse-connect over HTTP."""
    common = {
        "DATABASE": env.str("TARGET_CLICKHOUSE_DATABASE", default="etl_target"),
        "CONNECT_TIMEOUT": env.int("TARGET_CLICKHOUSE_CONNECT_TIMEOUT", default=10),
        "SEND_RECEIVE_TIMEOUT": env.int("TARGET_CLICKHOUSE_SEND_RECEIVE_TIMEOUT", default=300),
    }
    host = env.str("TARGET_CLICKHOUSE_HOST", default="")
    if host:
        return {
            **common,
            "EMBEDDED": False,
            "HOST": host,
            "PORT": env.int("TARGET_CLICKHOUSE_PORT", default=8123),
            "USER": env.str("TARGET_CLICKHOUSE_USER", default="default"),
            "PASSWORD": env.str("TARGET_CLICKHOUSE_PASSWORD", default=""),
            "SECURE": env.bool("TARGET_CLICKHOUSE_SECURE", default=False),
            "COMPRESS": env.bool("TARGET_CLICKHOUSE_COMPRESS", default=True),
            # The cluster (remote_servers) the schema spans; empty = one node. With it, schema migrations run
            # ON CLUSTER with Replicated and Distributed tables (analytics/clickhouse/cluster.py).
            "CLUSTER": env.str("TARGET_CLICKHOUSE_CLUSTER", default=""),
        }
    home = Path(var_dir).resolve() / "clickhouse"
    password_file = home / "password"
    return {
        **common,
        "EMBEDDED": True,
        "HOST": "127.0.0.1",
        "PORT": env.int("ETL_EMBEDDED_CLICKHOUSE_PORT", default=18123),
        "USER": "default",
        # The process generates the file when it first starts, which may be after these settings are read:
        # the client reads it again when it connects (analytics/clickhouse/client.py).
        "PASSWORD": password_file.read_text().strip() if password_file.exists() else "",
        "SECURE": False,
        "COMPRESS": False,  # the embedded process does not compress; on one machine it would only cost CPU
        "CLUSTER": "",
        "DATA_DIR": str(home / "data"),
        "PASSWORD_FILE": str(password_file),
    }
