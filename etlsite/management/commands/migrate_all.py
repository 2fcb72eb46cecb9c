"""`migrate_all`: bring the metadata, staging and ClickHouse databases to their latest schema."""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from etlsite.relational_migrations import DATABASE_NAMES


class Command(BaseCommand):
    help = _("Apply every pending migration to the metadata, staging and ClickHouse databases. Safe to re-run.")

    def add_arguments(self, parser):
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument("--skip-clickhouse", action="store_true",
                            help=_("Only the relational databases."))

    def handle(self, *args, interactive, skip_clickhouse, verbosity, **options):
        # ClickHouse first: the relational migrations save rows (roles, schedules) whose audit records go to
        # ClickHouse's audit log, which must exist by then (else a first `make run` warned, during this very
        # command, that the audit log needs `migrate_all`).
        if not skip_clickhouse:
            self.stdout.write(self.style.MIGRATE_HEADING(_("clickhouse database")))
            call_command("migrate_clickhouse", verbosity=verbosity, stdout=self.stdout)
        for name, alias in DATABASE_NAMES.items():
            self.stdout.write(self.style.MIGRATE_HEADING(_("%(name)s database") % {"name": name}))
            call_command("migrate", database=alias, interactive=interactive, verbosity=verbosity,
                         stdout=self.stdout)
        # Permissions exist only after `migrate`; the read-only role follows them.
        call_command("create_roles", verbosity=verbosity, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(_("All databases are up to date.")))
