"""Database settings built from the specification's environment variables.

A relational database is PostgreSQL when ``<PREFIX>_HOST`` is set and a SQLite file otherwise; the target
is a ClickHouse server when ``TARGET_CLICKHOUSE_HOST`` is set and chDB (in-process) otherwise.
"""

from pathlib import Path

from etlsite.env import env, private_file, private_folder


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
    private_folder(sqlite_path.parent)
    private_file(sqlite_path)  # 0600 before SQLite creates it with the umask's permissions
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


def clickhouse(embedded_path: Path) -> dict:
    host = env.str("TARGET_CLICKHOUSE_HOST", default="")
    return {
        "BACKEND": "server" if host else "embedded",
        "HOST": host,
        "PORT": env.int("TARGET_CLICKHOUSE_PORT", default=8123),
        "USER": env.str("TARGET_CLICKHOUSE_USER", default="default"),
        "PASSWORD": env.str("TARGET_CLICKHOUSE_PASSWORD", default=""),
        "DATABASE": env.str("TARGET_CLICKHOUSE_DATABASE", default="etl_target"),
        "SECURE": env.bool("TARGET_CLICKHOUSE_SECURE", default=False),
        "COMPRESS": env.bool("TARGET_CLICKHOUSE_COMPRESS", default=True),
        "CONNECT_TIMEOUT": env.int("TARGET_CLICKHOUSE_CONNECT_TIMEOUT", default=10),
        "SEND_RECEIVE_TIMEOUT": env.int("TARGET_CLICKHOUSE_SEND_RECEIVE_TIMEOUT", default=300),
        # Server only: the cluster (remote_servers) the schema spans; empty = one node. With it, schema
        # migrations run ON CLUSTER with Replicated and Distributed tables (analytics/clickhouse/cluster.py).
        "CLUSTER": env.str("TARGET_CLICKHOUSE_CLUSTER", default=""),
        # Embedded only: where chDB keeps its data, and how long a process waits for another to finish.
        "PATH": str(Path(env.str("TARGET_CLICKHOUSE_PATH", default=str(embedded_path))).resolve()),
        "LOCK_TIMEOUT": env.int("TARGET_CLICKHOUSE_LOCK_TIMEOUT", default=120),
    }
