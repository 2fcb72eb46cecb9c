"""`python -m bench.staging_drop`: drop the runs' staging tables (stg_run_*) of the mode whose environment this
process has, between measured runs; untimed."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django

    django.setup()
    from django.db import connections

    with connections["staging"].cursor() as cursor:
        cursor.execute("SELECT schemaname, tablename FROM pg_tables WHERE tablename LIKE 'stg\\_run\\_%%'")
        for schema, table in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')


if __name__ == "__main__":
    main()
