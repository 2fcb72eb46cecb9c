"""`migrate_db metadata|staging|all upgrade|downgrade|current|history`: the specification's migrate.py."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from etlsite import relational_migrations as rm


class Command(BaseCommand):
    help = _(
        "Manage the relational databases' migrations as the specification's scripts/migrate.py does: "
        "upgrade [head], downgrade -1, current, history; for metadata, staging or all."
    )

    def add_arguments(self, parser):
        parser.add_argument("database", choices=["metadata", "staging", "all"])
        parser.add_argument("action", choices=["upgrade", "downgrade", "current", "history"])
        parser.add_argument("target", nargs="?", default=None,
                            help=_("upgrade: 'head' (default). downgrade: '-1' (default), the only step supported."))
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, database, action, target, interactive, verbosity, **options):
        for alias in rm.aliases_for(database):
            label = _("%(name)s database (%(alias)s)") % {"name": self._name(alias), "alias": alias}
            self.stdout.write(self.style.MIGRATE_HEADING(label))
            getattr(self, f"_{action}")(alias, target, interactive=interactive, verbosity=verbosity)

    @staticmethod
    def _name(alias: str) -> str:
        return next(name for name, a in rm.DATABASE_NAMES.items() if a == alias)

    def _upgrade(self, alias, target, *, interactive, verbosity):
        if target not in (None, "head"):
            raise CommandError(_("upgrade takes 'head' or nothing; use `migrate APP NAME --database ...` for "
                                 "a specific migration."))
        call_command("migrate", database=alias, interactive=interactive, verbosity=verbosity,
                     stdout=self.stdout)

    def _downgrade(self, alias, target, *, interactive, verbosity):
        if target not in (None, "-1"):
            raise CommandError(_("downgrade supports one step back: '-1'."))
        step = rm.previous_step(alias)
        if step is None:
            self.stdout.write(_("  Nothing to roll back."))
            return
        app, to = step
        self.stdout.write(_("  Rolling back %(app)s to %(target)s") % {"app": app, "target": to})
        call_command("migrate", app, to, database=alias, interactive=interactive, verbosity=verbosity,
                     stdout=self.stdout)

    def _current(self, alias, target, **kwargs):
        for app, head in rm.current(alias).items():
            self.stdout.write(f"  {app}: {head}")

    def _history(self, alias, target, **kwargs):
        steps = rm.history(alias)
        if not steps:
            self.stdout.write(_("  No migrations applied."))
        for step in steps:
            self.stdout.write(f"  {step.applied:%Y-%m-%d %H:%M:%S}  {step.app}.{step.name}")
