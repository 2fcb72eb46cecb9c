"""`create_roles`: create (or bring up to date) the read-only "Viewers" group."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from etlsite.roles import roles_sync


class Command(BaseCommand):
    help = _("Create or update the read-only group \"Viewers\" (view permissions only). Safe to re-run.")

    def handle(self, *args, **options):
        for name, count in roles_sync().items():
            self.stdout.write(_("Group \"%(name)s\": %(count)d view permissions.") % {"name": name, "count": count})
        self.stdout.write(_("Add people to it in the admin (Users → Groups); give them \"Staff status\" to use "
                            "the admin."))
