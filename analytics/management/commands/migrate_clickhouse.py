"""`migrate_clickhouse`: the ClickHouse counterpart of Django's `migrate` (with --plan, --check, --fake)."""

import textwrap

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from analytics.clickhouse import ClickHouseError, get_target, migrator


class Command(BaseCommand):
    help = _("Apply the numbered ClickHouse schema migrations to the target database and record them there.")

    def add_arguments(self, parser):
        parser.add_argument("--upto", help=_("Apply migrations up to this number or name only."))
        parser.add_argument("--plan", action="store_true",
                            help=_("List what would be applied and stop (on a cluster, with the DDL it would run)."))
        parser.add_argument("--check", action="store_true",
                            help=_("Exit with an error if migrations are pending or were edited after applying."))
        parser.add_argument("--fake", action="store_true",
                            help=_("Record the migrations as applied without running them."))
        parser.add_argument("--list", action="store_true", help=_("Show every migration and whether it is applied."))

    def handle(self, *args, upto, plan, check, fake, list: bool, **options):
        target = get_target()
        self.stdout.write(_("Target: %(where)s") % {"where": target.describe()})
        try:
            if list:
                return self._list(target)
            if plan or check:
                return self._plan(target, upto, check)
            applied = migrator.migrate(
                target, upto=upto, fake=fake,
                on_apply=lambda m: self.stdout.write(
                    _("  Applying %(name)s%(fake)s") % {"name": m.name, "fake": _(" (fake)") if fake else ""}),
            )
        except ClickHouseError as exc:
            raise CommandError(_("ClickHouse: %(error)s") % {"error": exc}) from exc
        if not applied:
            self.stdout.write(_("  No ClickHouse migrations to apply."))

    def _print_sql(self, statements):
        for statement in statements:
            self.stdout.write(textwrap.indent(textwrap.dedent(statement).strip(), "    ") + ";\n")

    def _list(self, target):
        done = migrator.applied_migrations(target)
        for migration in migrator.load_migrations():
            mark = "X" if migration.name in done else " "
            self.stdout.write(f" [{mark}] {migration.name}  {migration.description}")

    def _plan(self, target, upto, check):
        pending = migrator.plan(target, upto)
        if target.cluster and pending:
            # The cluster DDL differs from the files' text: show exactly what would run on the cluster.
            self.stdout.write(_("  Cluster %(cluster)s: every statement runs ON CLUSTER.")
                              % {"cluster": target.cluster})
            self._print_sql(migrator.setup_statements(target))
        for migration in pending:
            self.stdout.write(f"  {migration.name}  {migration.description}")
            if target.cluster:
                self._print_sql(migrator.statements_for(target, migration.operations))
        edited = migrator.changed_since_applied(target)
        for name in edited:
            self.stderr.write(_("  %(name)s was edited after it was applied; add a new migration instead.")
                              % {"name": name})
        if not pending:
            self.stdout.write(_("  No ClickHouse migrations to apply."))
        if check and (pending or edited):
            raise CommandError(_("ClickHouse schema is not up to date."))
