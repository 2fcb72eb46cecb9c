"""A Django import as people write it: csv.DictReader, a model instance per row, `bulk_create` in batches,
in one transaction, into PostgreSQL (the URL in `--database-url`)."""

from __future__ import annotations

import argparse
import csv
import time
from datetime import datetime
from urllib.parse import urlparse

from bench.measure import report_inner
from bench.schema import kind_of

BATCH_SIZE = 5000


def configure(url: str) -> None:
    import django
    from django.conf import settings

    parts = urlparse(url)
    settings.configure(
        INSTALLED_APPS=["bench.djangoflights"],
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "HOST": parts.hostname,
                               "PORT": parts.port or 5432, "USER": parts.username or "",
                               "PASSWORD": parts.password or "", "NAME": parts.path.lstrip("/")}},
    )
    django.setup()


def convert(row: dict) -> dict:
    values = {}
    for name, text in row.items():
        kind = kind_of(name)
        if text == "":
            values[name] = None
        elif kind == "integer":
            values[name] = int(text)
        elif kind == "float":
            values[name] = float(text)
        elif kind == "datetime":
            values[name] = datetime.fromisoformat(text)
        else:
            values[name] = text
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    configure(args.database_url)
    from django.db import connection, transaction

    from bench.djangoflights.models import Flight

    with connection.schema_editor() as editor:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS flights_django")
        editor.create_model(Flight)
    started = time.perf_counter()
    rows = 0
    with open(args.file, newline="", encoding="utf-8") as fh, transaction.atomic():
        batch = []
        for row in csv.DictReader(fh):
            batch.append(Flight(**convert(row)))
            if len(batch) >= BATCH_SIZE:
                Flight.objects.bulk_create(batch)
                rows += len(batch)
                batch = []
        Flight.objects.bulk_create(batch)
        rows += len(batch)
    report_inner(load_seconds=time.perf_counter() - started, rows=rows)


if __name__ == "__main__":
    main()
