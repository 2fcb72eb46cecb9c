"""`init_clickhouse`: the specification's scripts/init_clickhouse.py: create the database and its tables."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target, migrator


class Command(BaseCommand):
    help = _("Create the ClickHouse target database and its tables (applies the ClickHouse migrations).")

    def handle(self, *args, **options):
        target = get_target()
        try:
            applied = migrator.migrate(target)
            tables = target.rows(
                "SELECT name, engine, total_rows FROM system.tables WHERE database = {db:String} ORDER BY name",
                {"db": target.database},
            )
        except ClickHouseError as exc:
            raise CommandError(_("ClickHouse: %(error)s") % {"error": exc}) from exc
        self.stdout.write(_("Target: %(where)s") % {"where": target.describe()})
        self.stdout.write(_("Applied %(count)d migration(s).") % {"count": len(applied)})
        for table in tables:
            self.stdout.write(f"  {table['name']:<24} {table['engine']:<20} {table['total_rows'] or 0} rows")
