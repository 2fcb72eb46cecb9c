"""The ways this system runs, as environments for its processes: PostgreSQL mode (metadata and staging on the
local PostgreSQL, databases of the benchmark's own) and the embedded default. Both reach ClickHouse as every
deployment does, over HTTP: the embedded ClickHouse process under the mode's ETL_VAR_DIR (bench/server.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench import postgres
from bench.config import PYTHON, ROOT, BenchConfig

MODES = ("pg", "embedded")
_PRODUCT_PREFIXES = ("METADATA_POSTGRES_", "STAGING_POSTGRES_", "TARGET_CLICKHOUSE_", "CELERY_")


def var_dir(cfg: BenchConfig, mode: str) -> Path:
    return cfg.var_dir / mode


def mode_env(cfg: BenchConfig, mode: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRODUCT_PREFIXES)}
    # The flights files are read where they were generated: a folder the mode's sources may read.
    env.update(DJANGO_SETTINGS_MODULE="etlsite.settings", ETL_VAR_DIR=str(var_dir(cfg, mode)),
               ETL_FILE_ROOTS=str(cfg.data_dir), DJANGO_LOG_LEVEL="WARNING",
               DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
    if mode == "pg":
        (meta_user, meta_password), (stg_user, stg_password) = postgres.METADATA_ROLE, postgres.STAGING_ROLE
        env.update(
            METADATA_POSTGRES_HOST=cfg.pg_host, METADATA_POSTGRES_PORT=str(cfg.pg_port),
            METADATA_POSTGRES_USER=meta_user, METADATA_POSTGRES_PASSWORD=meta_password,
            METADATA_POSTGRES_DATABASE=postgres.METADATA_DB,
            STAGING_POSTGRES_HOST=cfg.pg_host, STAGING_POSTGRES_PORT=str(cfg.pg_port),
            STAGING_POSTGRES_USER=stg_user, STAGING_POSTGRES_PASSWORD=stg_password,
            STAGING_POSTGRES_DATABASE=postgres.STAGING_DB,
        )
    from bench.server import server_for

    env.update(server_for(var_dir(cfg, mode)).env())
    env.update(extra)
    return env


def mode_reset(cfg: BenchConfig, mode: str) -> None:
    """Start the mode from empty databases (its ClickHouse process stopped first, and started again on use)."""
    from bench.server import server_for

    mode_stop(cfg, mode)  # first: it reads the mode's environment, which starts the ClickHouse process
    server_for(var_dir(cfg, mode)).stop()
    shutil.rmtree(var_dir(cfg, mode), ignore_errors=True)
    var_dir(cfg, mode).mkdir(parents=True)
    if mode == "pg":
        postgres.roles_ensure(cfg)
        postgres.database_recreate(cfg, postgres.METADATA_DB, postgres.METADATA_ROLE[0])
        postgres.database_recreate(cfg, postgres.STAGING_DB, postgres.STAGING_ROLE[0])
    else:
        mode_start(cfg, mode)


def _stack(cfg: BenchConfig, mode: str, action: str) -> None:
    # The embedded default's PostgreSQL and Valkey, as `make run` starts them, under the mode's var/; its
    # ClickHouse process is the bench's own (bench/server.py), so that its memory can be read.
    subprocess.run([PYTHON, "manage.py", "stack", action, "postgres", "valkey"], env=mode_env(cfg, mode),
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=300)


def mode_start(cfg: BenchConfig, mode: str) -> None:
    if mode == "embedded":
        _stack(cfg, mode, "start")


def mode_stop(cfg: BenchConfig, mode: str) -> None:
    if mode == "embedded" and (var_dir(cfg, mode) / "postgres").exists():
        _stack(cfg, mode, "stop")


def staging_tables_drop(cfg: BenchConfig, mode: str) -> None:
    """Drop the runs' staging tables between measured runs (disk, not speed: they would expire in 7 days);
    through the product's own staging connection, so that it works for either mode."""
    subprocess.run([PYTHON, "-m", "bench.staging_drop"], env=mode_env(cfg, mode), cwd=ROOT, check=True,
                   timeout=600)
