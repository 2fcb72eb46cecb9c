"""`create_admin`: make sure a superuser exists for a first login, and print how to log in."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from etlsite.env import PRIVATE_FILE, narrowed, private_folder


class Command(BaseCommand):
    help = _(
        "Create the superuser 'admin' if no superuser exists. The password comes from DJANGO_ADMIN_PASSWORD or "
        "is generated and kept in var/admin_password (readable by its owner only) so it can be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DJANGO_ADMIN_USERNAME", "admin"))
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help=_("Where the admin is served."))

    def handle(self, *args, username, url, **options):
        self.url = url
        User = get_user_model()
        password_file = Path(settings.VAR_DIR) / "admin_password"
        if User.objects.filter(username=username).exists():
            if password_file.exists():
                narrowed(password_file, PRIVATE_FILE)  # written before it was private
            if password_file.exists() and User.objects.get(username=username).check_password(
                    password_file.read_text().strip()):
                self._announce(username, password_file.read_text().strip())
            else:
                self.stdout.write(_("User %(name)s exists; use `manage.py changepassword %(name)s` to reset its "
                                    "password.") % {"name": username})
            return
        password = os.environ.get("DJANGO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if not os.environ.get("DJANGO_ADMIN_PASSWORD"):
            private_folder(password_file.parent, passage=True)  # the data folder: see etlsite.env
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password)
        self._announce(username, password)

    def _announce(self, username, password):
        self.stdout.write(self.style.SUCCESS(
            _("Log in at %(url)s as %(user)s with password %(password)s")
            % {"url": self.url, "user": username, "password": password}))
