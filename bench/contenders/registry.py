"""Every contender: its label in the report, and how to start it on a file (argv, environment, untimed setup)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bench import postgres
from bench.config import PYTHON, BenchConfig
from bench.data import DataFile
from bench.measure import ContenderFailed
from bench.modes import mode_env, staging_tables_drop
from bench.schema import create_table


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    group: str  # ceiling | system | alternative | reference
    inner_key: str | None = None  # the in-process figure that excludes interpreter start-up, if any
    notes: str = ""
    slow: bool = False


CONTENDERS = {c.key: c for c in (
    Contender("psql_copy", "psql \\copy into a typed table", "ceiling",
              notes="PostgreSQL's own CSV load; psql is only the client, the server parses the rows"),
    Contender("chdb_file", "chDB INSERT ... SELECT FROM file()", "ceiling", inner_key="insert_seconds",
              notes="ClickHouse's own CSV parser into a MergeTree table, embedded"),
    Contender("pyarrow_read", "pyarrow CSV read, no load", "reference", inner_key="read_seconds",
              notes="streaming read in 16 MiB blocks, empty strings as NULL"),
    Contender("etl_pg", "This system, PostgreSQL staging", "system",
              notes="`manage.py run_pipeline --sync`: file -> PostgreSQL staging -> validation -> "
                    "clean_duplicates -> ClickHouse (the embedded ClickHouse process, over HTTP) -> quality "
                    "metrics; RSS is the run's own process, the ClickHouse process is reported apart"),
    Contender("etl_pg_before", "This system before this sitting's changes, PostgreSQL staging", "system",
              notes="the same run from the checkout BENCH_BEFORE_TREE names (an earlier commit), measured in "
                    "the same rounds: the before/after of one sitting"),
    Contender("etl_embedded", "This system, embedded default", "system",
              notes="the same run on the embedded default's relational databases and ClickHouse process"),
    Contender("dlt_arrow", "dlt, Arrow + CSV COPY", "alternative", inner_key="load_seconds",
              notes="pyarrow batches into dlt, loader_file_format=csv (COPY) into PostgreSQL"),
    Contender("dlt_docs", "dlt, filesystem + read_csv", "alternative", inner_key="load_seconds", slow=True,
              notes="the documented filesystem source (pandas chunks to records) into PostgreSQL"),
    Contender("django_bulk", "Django bulk_create", "alternative", inner_key="load_seconds", slow=True,
              notes="csv.DictReader, a model per row, bulk_create(5000) in one transaction, PostgreSQL"),
    Contender("pandas_to_sql", "pandas to_sql", "alternative", inner_key="load_seconds", slow=True,
              notes="read_csv(chunksize=50000) + to_sql (SQLAlchemy, default method), PostgreSQL"),
)}

_SUMMARY = re.compile(r"read (\d+), loaded (\d+)")


def run_summary(output: str) -> dict:
    """Rows read and loaded, from run_pipeline's summary line."""
    found = _SUMMARY.findall(output)
    # A run that loaded nothing (skipped as a repeat, or failed quietly) is not a measurement of a load.
    if not found or int(found[-1][1]) == 0:
        last = (output.strip().splitlines() or ["no output"])[-1]
        raise ContenderFailed(f"run_pipeline loaded no rows: {last[:300]}")
    return {"rows_read": int(found[-1][0]), "rows_loaded": int(found[-1][1])}


@dataclass
class Invocation:
    argv: list[str]
    env: dict | None = None
    before: object = None  # untimed preparation before each run
    parse: object = None
    cwd: object = None  # the folder it runs in (the bench's root unless said)


def invocation(cfg: BenchConfig, key: str, data: DataFile) -> Invocation:
    path = str(data.path.resolve())
    work = cfg.var_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    user, password = postgres.CONTENDERS_ROLE
    contenders_url = cfg.pg_url(postgres.CONTENDERS_DB, user, password)
    if key == "psql_copy":
        def before():
            postgres.query(cfg, postgres.CONTENDERS_DB, "DROP TABLE IF EXISTS flights_copy; "
                           + create_table("postgres", "flights_copy") + f"; ALTER TABLE flights_copy OWNER TO {user}")
        return Invocation(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", contenders_url,
                           "-c", f"\\copy flights_copy FROM '{path}' WITH (FORMAT csv, HEADER true)"],
                          before=before)
    if key == "chdb_file":
        return Invocation([PYTHON, "-m", "bench.contenders.chdb_file", "--file", path, "--path", str(work / "chdb")])
    if key == "pyarrow_read":
        return Invocation([PYTHON, "-m", "bench.contenders.pyarrow_read", "--file", path])
    if key in ("etl_pg", "etl_embedded", "etl_pg_before"):
        mode = "pg" if key == "etl_pg_before" else key.removeprefix("etl_")
        # The earlier checkout runs in its own folder, so its own code is imported.
        cwd = before_tree() if key == "etl_pg_before" else None
        return Invocation([PYTHON, "manage.py", "run_pipeline", pipeline_name(data), "--sync",
                           # The same file is measured run after run: load it again instead of skipping it.
                           "--load-again"],
                          env=mode_env(cfg, mode), before=lambda: staging_tables_drop(cfg, mode), parse=run_summary,
                          cwd=cwd)
    if key in ("dlt_arrow", "dlt_docs"):
        env = {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": contenders_url,
               "RUNTIME__DLTHUB_TELEMETRY": "false"}
        return Invocation([PYTHON, "-m", "bench.contenders.dlt_load", "--file", path, "--path", key[4:],
                           "--pipelines-dir", str(work / "dlt")], env=env)
    if key == "django_bulk":
        return Invocation([PYTHON, "-m", "bench.contenders.django_bulk", "--file", path,
                           "--database-url", contenders_url])
    if key == "pandas_to_sql":
        return Invocation([PYTHON, "-m", "bench.contenders.pandas_to_sql", "--file", path,
                           "--database-url", contenders_url])
    raise KeyError(key)


def before_tree():
    """The checkout of an earlier commit to measure beside this one (BENCH_BEFORE_TREE), or None."""
    tree = os.environ.get("BENCH_BEFORE_TREE", "")
    return Path(tree).resolve() if tree and (Path(tree) / "manage.py").exists() else None


def pipeline_name(data: DataFile) -> str:
    return f"Flights {data.label}"

